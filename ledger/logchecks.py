"""Checking a bundle's site-log checkpoints: the site's signature, the tree, k of n witnesses."""

# A format 2 bundle's records each carry the signed checkpoint their inclusion proof leads to.
# Offline a verifier checks that the checkpoint is the proof's tree (size and root), that the
# site's log key (the bundle's log_key, named by the checkpoint's origin) signed it, and that at
# least `quorum` of the witnesses it pins cosigned it (cosignature/v1). Witnesses check the
# site's signature and the log's consistency before they cosign, so a quorum of pinned witnesses
# is what makes the checkpoint trustworthy; the log key in the bundle alone proves nothing.
# A verifier may also pin the log keys it trusts: the bundle's log key must then be one of them.
# Format 1 bundles (sealed before the site log) carry no checkpoint and verify as they did while
# no quorum is required. With a quorum they fail unless the verifier accepts pre-log bundles:
# stripping a format 2 bundle's checkpoints and relabelling it format 1 gives a bundle that
# verifies as one (its proof and anchor are intact), so only the verifier can say that it
# knows the part was sealed before the log. A format 2 bundle's record sealed before the log
# (an older part's certificate, with records made since) has a proof but no checkpoint, and is
# held to the same rule.
# Two bundles whose checkpoints have one origin and size but different roots, both signed by the
# site, prove a split view: the log showed two histories.

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.transparency import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    Note,
    NoteError,
    Verifier,
    check_cosigned,
    split_view,
)
from models import AttestedRecord, ProofBundle, VerificationCheck

FORMAT_2 = "trustfloor.bundle/2"


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """What a verifier pins of site logs: the witnesses and how many must have cosigned a
    checkpoint, the log keys it trusts (none: the bundle's own is used), and whether format 1
    bundles (no checkpoint) pass when a quorum is required."""

    witnesses: tuple[Verifier, ...] = ()
    quorum: int = 0
    source: str = "ledger.witnesses"
    log_keys: tuple[Verifier, ...] = ()
    log_keys_source: str = "ledger.log_keys"
    accept_pre_log: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise NoteError(
                f"a quorum of {self.quorum} of {len(self.witnesses)} witnesses cannot be met",
                advice="pin at least as many witnesses as the quorum (--witnesses FILE)",
            )
        if any(w.signature_type != COSIGNATURE_V1 for w in self.witnesses):
            raise NoteError("witness keys are cosignature/v1 keys (type 0x04)")
        if any(k.signature_type != ED25519 for k in self.log_keys):
            raise NoteError(
                f"{self.log_keys_source}: site log keys are Ed25519 note keys (type 0x01)",
                advice="`trustfloor witness log-key` prints a site's log key",
            )

    def pins(self, log: Verifier) -> bool:
        """Whether ``log`` may sign checkpoints: any key when none is pinned."""
        return not self.log_keys or log in self.log_keys


NO_WITNESSES = WitnessPolicy()


def parse_witness_keys(text: str, source: str) -> tuple[Verifier, ...]:
    """Witness keys, one a line: ``<name> <verifier key>`` or the verifier key alone; ``#``
    starts a comment. NoteError naming the line that is wrong."""
    return _parse_keys(text, source, "'<name> <verifier key>' or the key alone", 2, _key_of)


def parse_log_keys(text: str, source: str) -> tuple[Verifier, ...]:
    """Site log keys, one verifier key a line; ``#`` starts a comment. NoteError naming the
    line that is wrong."""
    return _parse_keys(text, source, "one verifier key a line", 1, _log_key_of)


def log_keys_of(vkeys: Sequence[str], source: str) -> tuple[Verifier, ...]:
    """The site log keys ``vkeys`` (a configuration's list); NoteError naming the one wrong."""
    return tuple(_log_key_of(vkey, f"{source}[{n}]") for n, vkey in enumerate(vkeys))


def _parse_keys(
    text: str, source: str, form: str, most_words: int, parse: Callable[[str, str], Verifier]
) -> tuple[Verifier, ...]:
    keys: list[Verifier] = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > most_words:
            raise NoteError(f"{source} line {number}: {form}")
        keys.append(parse(words[-1], f"{source} line {number}"))
    return tuple(keys)


def _key_of(vkey: str, where: str) -> Verifier:
    try:
        return Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise NoteError(f"{where}: {exc}") from None


def _log_key_of(vkey: str, where: str) -> Verifier:
    key = _key_of(vkey, where)
    if key.signature_type != ED25519:
        raise NoteError(
            f"{where}: {key.name} is a witness's cosignature key, not a site log key (type 0x01)",
            advice="`trustfloor witness log-key` on the site prints its log key",
        )
    return key


def log_checks(
    bundle: ProofBundle, policy: WitnessPolicy
) -> tuple[list[VerificationCheck], tuple[str, ...]]:
    """The checkpoint checks of every record, and the warnings to give."""
    labelled = [("certificate", bundle.certificate)]
    labelled += [(f"record {n} ({r.kind.value})", r) for n, r in enumerate(bundle.records, 1)]
    if bundle.format != FORMAT_2:
        return _pre_log_checks(labelled, policy)
    log = _pinned_log_key(bundle, policy)
    checks: list[VerificationCheck] = []
    for label, record in labelled:
        checks += record_log_checks(label, record, log, policy)
    return checks, ()


def _pre_log_checks(
    labelled: Sequence[tuple[str, AttestedRecord]], policy: WitnessPolicy
) -> tuple[list[VerificationCheck], tuple[str, ...]]:
    """A format 1 bundle: no record may carry a checkpoint, and under a witness quorum the
    bundle passes only when the verifier accepts pre-log bundles."""
    checks = [
        VerificationCheck(f"{label} checkpoint", False, "a format 1 bundle has no checkpoint")
        for label, record in labelled
        if record.checkpoint is not None
    ]
    if not policy.quorum:
        return checks, ()
    if policy.accept_pre_log:
        warning = f"sealed before the site log (bundle format 1): {PRE_LOG_ACCEPTED}"
        return checks, (warning,)
    refusal = _pre_log_refusal("the bundle carries no cosigned checkpoint (format 1)", policy)
    label, _ = labelled[0]
    checks.append(VerificationCheck(f"{label} checkpoint", False, refusal))
    return checks, ()


PRE_LOG_ACCEPTED = (
    "no witness cosignatures to check; accepted because pre-log bundles are "
    "(--accept-pre-log or ledger.accept_pre_log_bundles)"
)


def _pre_log_refusal(what: str, policy: WitnessPolicy) -> str:
    """Why a record with no checkpoint fails a witness quorum, and how to accept it."""
    return (
        f"{what} but {policy.quorum} witness cosignature(s) are required: a record sealed "
        "before the site log has none, and neither has one whose checkpoint was stripped; if "
        "you know this part was sealed before the site log, accept pre-log bundles with "
        "--accept-pre-log or ledger.accept_pre_log_bundles"
    )


def _pre_log_record_check(name: str, policy: WitnessPolicy) -> VerificationCheck:
    """A record of a format 2 bundle sealed before the site log (a proof, no checkpoint): an
    older part's certificate with records made since the log began."""
    if not policy.quorum:
        return VerificationCheck(name, True, "sealed before the site log: no checkpoint")
    if policy.accept_pre_log:
        return VerificationCheck(name, True, f"sealed before the site log: {PRE_LOG_ACCEPTED}")
    return VerificationCheck(name, False, _pre_log_refusal("no cosigned checkpoint", policy))


def _pinned_log_key(bundle: ProofBundle, policy: WitnessPolicy) -> LogKey:
    """The bundle's log key if the verifier trusts it, or why it cannot be used."""
    log = _log_key(bundle)
    if isinstance(log, str) or policy.pins(log):
        return LogKey(log, policy.log_keys_source if policy.log_keys else "")
    count = len(policy.log_keys)
    return LogKey(
        f"the bundle's log key for the site log {log.name} is not one of the {count} log "
        f"key(s) pinned by {policy.log_keys_source}; if you trust the site log {log.name}, "
        "pin its key (`trustfloor witness log-key` on that site prints it) with "
        "--log-keys FILE or ledger.log_keys"
    )


@dataclass(frozen=True, slots=True)
class LogKey:
    """The log key checkpoints are checked with (or why there is none) and where it is pinned
    (empty: taken from the bundle, not pinned)."""

    key: Verifier | str
    pinned_by: str = ""

    def signed_by(self) -> str:
        """Who signed, as a passing check says it."""
        if self.pinned_by:
            return f"signed by the site log key pinned by {self.pinned_by}"
        return (
            "signed by the log key the bundle carries (log key NOT pinned: pass "
            "--log-keys FILE or set ledger.log_keys)"
        )


def _log_key(bundle: ProofBundle) -> Verifier | str:
    """The bundle's log key, or why there is none to use."""
    if bundle.log_key is None:
        return "the bundle names no log key"
    try:
        return Verifier.from_vkey(bundle.log_key)
    except NoteError as exc:
        return f"the bundle's log key is malformed: {exc}"


def record_log_checks(
    label: str, record: AttestedRecord, pinned: LogKey, policy: WitnessPolicy
) -> list[VerificationCheck]:
    """The checkpoint of one record: its tree, the site's signature, then the witnesses."""
    name = f"{label} checkpoint"
    if record.checkpoint is None and record.proof is not None:
        return [_pre_log_record_check(name, policy)]
    if record.checkpoint is None:
        return [VerificationCheck(name, False, "no checkpoint: the record was not sealed")]
    log = pinned.key
    if isinstance(log, str):
        return [VerificationCheck(name, False, log)]
    try:
        note = Note.parse(record.checkpoint)
        checkpoint = Checkpoint.parse(note.text)
    except NoteError as exc:
        return [VerificationCheck(name, False, f"malformed: {exc}")]
    problem = _tree_problem(record, checkpoint) or _site_problem(note, checkpoint, log)
    if problem:
        return [VerificationCheck(name, False, problem)]
    detail = f"{checkpoint.origin} size {checkpoint.size}, {pinned.signed_by()}"
    return [VerificationCheck(name, True, detail), _witness_check(label, record, log, policy)]


def _tree_problem(record: AttestedRecord, checkpoint: Checkpoint) -> str:
    proof = record.proof
    if proof is None:
        return ""
    if (checkpoint.size, checkpoint.root.hex()) != (proof.tree_size, proof.root):
        return (
            f"the checkpoint is the tree of size {checkpoint.size} with root "
            f"{checkpoint.root.hex()}, the proof's is size {proof.tree_size} root {proof.root}"
        )
    return ""


def _site_problem(note: Note, checkpoint: Checkpoint, log: Verifier) -> str:
    if checkpoint.origin != log.name:
        return f"the checkpoint's origin {checkpoint.origin} is not the log key's {log.name}"
    lines = [s for s in note.signatures if log.matches(s)]
    if not lines:
        return f"no signature of the site log {log.name}"
    if not all(log.verify(note.text, s) for s in lines):
        return f"the signature of the site log {log.name} does not verify"
    return ""


def _witness_check(
    label: str, record: AttestedRecord, log: Verifier, policy: WitnessPolicy
) -> VerificationCheck:
    name = f"{label} witnesses"
    assert record.checkpoint is not None
    if policy.quorum == 0:
        count = len(Note.parse(record.checkpoint).signatures) - 1
        return VerificationCheck(
            name, True, f"no witness quorum required; {count} cosignature line(s) not checked"
        )
    verdict = check_cosigned(record.checkpoint, log, policy.witnesses, policy.quorum)
    if not verdict.ok:
        return VerificationCheck(name, False, "; ".join(verdict.problems))
    detail = (
        f"cosigned by {', '.join(verdict.witnesses)}: {len(verdict.witnesses)} of the "
        f"{len(policy.witnesses)} witnesses of {policy.source}, {policy.quorum} required"
    )
    return VerificationCheck(name, True, detail)


@dataclass(frozen=True, slots=True)
class SplitViewEvidence:
    """Two checkpoints of one log and size with different roots, both signed by the site."""

    origin: str
    size: int
    first: str
    """The first signed checkpoint, as its bundle carries it."""
    second: str

    def describe(self) -> str:
        return (
            f"SPLIT VIEW: the log {self.origin} signed two different trees of size {self.size}\n"
            f"--- first signed checkpoint\n{self.first}--- second signed checkpoint\n"
            f"{self.second}"
        )


def split_views(bundles: Sequence[ProofBundle]) -> list[SplitViewEvidence]:
    """Every pair of checkpoints across ``bundles`` that proves the site log forked."""
    seen: dict[tuple[str, int], tuple[str, bytes]] = {}
    found: list[SplitViewEvidence] = []
    for bundle in bundles:
        log = _log_key(bundle)
        if isinstance(log, str):
            continue
        for record in (bundle.certificate, *bundle.records):
            if record.checkpoint is None:
                continue
            try:
                checkpoint = Checkpoint.parse(Note.parse(record.checkpoint).text)
            except NoteError:
                continue
            key = (checkpoint.origin, checkpoint.size)
            if key not in seen:
                seen[key] = (record.checkpoint, checkpoint.root)
            elif seen[key][1] != checkpoint.root:
                first = seen[key][0]
                if split_view(first, record.checkpoint, log) is not None:
                    found.append(SplitViewEvidence(*key, first, record.checkpoint))
    return found
