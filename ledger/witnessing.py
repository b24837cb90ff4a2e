"""Sending the site log's checkpoints to its witnesses (C2SP tlog-witness), keeping cosignatures."""

# Each round, every witness is brought up to date in order: each checkpoint it has not cosigned
# is sent with the consistency proof from the size the witness last cosigned (a 409 answer says
# which size that is, and the request is made again from there). A cosignature is checked
# against the witness's configured key before it is kept. What is pending is derived from the
# store (checkpoints without a witness's cosignature), so a witness that is down is simply
# asked again next round: it never holds up sealing or anchoring, which run before.

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from config import Settings, log_origin
from ledger.errors import LedgerError
from ledger.logchecks import WitnessPolicy, log_keys_of
from ledger.sitelog import SiteLogStore, StoredCheckpoint, site_log_signer
from ledger.store import LedgerStore
from ledger.transparency import (
    COSIGNATURE_V1,
    AddCheckpoint,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    Verifier,
)
from models import Clock, SystemClock

log = logging.getLogger(__name__)

CONFLICT = 409
"""The witness has cosigned another size than the request's old size; the body says which."""
RETRY_FIRST = timedelta(seconds=5)
"""How long a witness that failed is left alone; it doubles with each failure in a row."""
RETRY_MAX = timedelta(minutes=5)


class WitnessUnreachableError(LedgerError):
    """A witness did not answer an add-checkpoint request."""


@dataclass(frozen=True, slots=True)
class KnownWitness:
    """A configured witness: its label, its cosignature key and its base URL."""

    name: str
    verifier: Verifier
    url: str

    @classmethod
    def parse(cls, name: str, vkey: str, url: str) -> KnownWitness:
        verifier = Verifier.from_vkey(vkey)
        if verifier.signature_type != COSIGNATURE_V1:
            raise NoteError(f"witness {name}'s key is not a cosignature/v1 key (type 0x04)")
        return cls(name, verifier, url.rstrip("/"))


Post = Callable[[str, str], tuple[int, str]]
"""POST a body to a URL: the HTTP status and the answer's text."""


def http_post(timeout_s: float) -> Post:
    """A ``Post`` over HTTP with the standard library (blocking; run it in a thread)."""

    def post(url: str, body: str) -> tuple[int, str]:
        request = urllib.request.Request(url, data=body.encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                return int(answer.status), answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode("utf-8", "replace")
        except (OSError, ValueError) as exc:
            raise WitnessUnreachableError(f"{url}: {exc}") from None

    return post


@dataclass(frozen=True, slots=True)
class SiteLog:
    """The site log's key and its witnesses: what the ledger service needs to keep the log.

    Without ``signer`` batches are sealed as before the log (each its own tree).
    """

    signer: Signer | None = None
    witnesses: tuple[KnownWitness, ...] = ()
    quorum: int = 0
    """Cosignatures a bundle needs to verify (0: none)."""
    post: Post = field(default=http_post(10.0))
    trusted_logs: tuple[Verifier, ...] = ()
    """Other sites' log keys whose bundles verify here (``ledger.log_keys``)."""
    accept_pre_log: bool = False
    """Whether format 1 bundles pass under a quorum (``ledger.accept_pre_log_bundles``)."""

    @property
    def verifier(self) -> Verifier | None:
        """The log's public key (type 0x01, named by the origin)."""
        return None if self.signer is None else self.signer.verifier()

    def witness_policy(self) -> WitnessPolicy:
        """What a verifier of this site's bundles requires: the quorum of its witnesses, and a
        checkpoint signed by this site's log key or one of ``trusted_logs``."""
        keys = tuple(w.verifier for w in self.witnesses)
        own = () if self.verifier is None else (self.verifier,)
        return WitnessPolicy(
            keys,
            self.quorum,
            "ledger.witnesses",
            log_keys=(*own, *self.trusted_logs),
            log_keys_source="the site's own log key and ledger.log_keys",
            accept_pre_log=self.accept_pre_log,
        )


@dataclass(slots=True)
class WitnessRound:
    """What one round of submissions did: cosignatures kept, and what failed."""

    cosigned: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Witnessing:
    """Brings each witness up to date with the site log (blocking; the service runs it in a
    thread). A witness that failed is left alone for a while (``RETRY_FIRST``, doubling up to
    ``RETRY_MAX``), so one that hangs delays at most one round in that time."""

    def __init__(
        self,
        store: SiteLogStore,
        witnesses: Sequence[KnownWitness],
        post: Post,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._witnesses = tuple(witnesses)
        self._post = post
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._retry: dict[str, tuple[int, datetime]] = {}

    def submit(self) -> WitnessRound:
        """One round: every witness is sent the checkpoints it has not cosigned, in order."""
        done = WitnessRound()
        if not self._witnesses:
            return done
        with self._lock:
            checkpoints = self._store.checkpoints()
            progress = self._store.witness_progress()
            latest = checkpoints[-1].size if checkpoints else 0
            for witness in self._witnesses:
                known = progress.get(witness.name, 0)
                missing = [
                    c for c in checkpoints if witness.name not in c.cosignatures and c.size >= known
                ]
                if not (missing or known > latest) or self._resting(witness.name):
                    continue
                try:
                    known = self._catch_up(witness, missing, known, done)
                    _require_not_ahead(known, latest)
                except (WitnessUnreachableError, NoteError) as exc:
                    log.warning("witness %s: %s", witness.name, exc)
                    done.failures.append(f"witness {witness.name}: {exc}")
                    self._rest(witness.name)
                else:
                    self._retry.pop(witness.name, None)
        return done

    def _resting(self, name: str) -> bool:
        return name in self._retry and self._clock.now() < self._retry[name][1]

    def _rest(self, name: str) -> None:
        failures = self._retry.get(name, (0, self._clock.now()))[0] + 1
        wait = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
        self._retry[name] = (failures, self._clock.now() + wait)

    def _catch_up(
        self,
        witness: KnownWitness,
        missing: Sequence[StoredCheckpoint],
        known: int,
        done: WitnessRound,
    ) -> int:
        """Send ``missing`` in order from ``known``; the size the witness has cosigned after."""
        for stored in missing:
            if stored.size < known:
                continue  # the witness is past it: this checkpoint can no longer be cosigned
            status, text = self._send(witness, stored, known)
            if status == CONFLICT:
                known = _size_of(text, witness)
                self._store.set_witness_progress(witness.name, known)
                if stored.size < known:
                    continue
                status, text = self._send(witness, stored, known)
            if status != 200:
                raise NoteError(
                    f"refused the checkpoint of size {stored.size} ({status}): {text.strip()}"
                )
            line = _checked_cosignature(witness, stored, text)
            self._store.add_cosignature(stored.batch_id, witness.name, line, stored.size)
            done.cosigned.append(f"{witness.name} cosigned size {stored.size}")
            known = stored.size
        return known

    def _send(self, witness: KnownWitness, stored: StoredCheckpoint, old: int) -> tuple[int, str]:
        note = Note.parse(stored.note)
        proof = self._store.consistency_proof(old, stored.size)
        request = AddCheckpoint(old, tuple(proof), note, stored.checkpoint)
        return self._post(f"{witness.url}/add-checkpoint", request.render())


def _require_not_ahead(known: int, latest: int) -> None:
    if known > latest:
        raise NoteError(
            f"it has cosigned a tree of size {known}, larger than this log's {latest}: this "
            "ledger store is an older copy or a fork of the log, and no witness will cosign it",
            advice="restore the ledger store the site last ran with; never seal from a copy",
        )


def _size_of(text: str, witness: KnownWitness) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise NoteError(f"a 409 answer of {witness.name} names no tree size: {text!r}") from None


def _checked_cosignature(witness: KnownWitness, stored: StoredCheckpoint, text: str) -> str:
    """The witness's cosignature line from its answer, verified over the checkpoint."""
    note_text = Note.parse(stored.note).text
    for raw in text.splitlines():
        try:
            signature = NoteSignature.parse(raw)
        except NoteError:
            continue
        if witness.verifier.matches(signature):
            if not witness.verifier.verify(note_text, signature):
                raise NoteError(f"its cosignature of size {stored.size} does not verify")
            return signature.line()
    raise NoteError(f"its answer for size {stored.size} holds no cosignature of its key")


def site_log_of(settings: Settings, environ: Mapping[str, str]) -> SiteLog:
    """The site log as configured: its origin (``ledger.log_name``), its key (see
    ``site_log_signer``), ``ledger.witnesses`` and ``ledger.witness_quorum``."""
    origin = log_origin(settings.ledger.log_name, settings.site.name)
    witnesses = tuple(KnownWitness.parse(w.name, w.key, w.url) for w in settings.ledger.witnesses)
    return SiteLog(
        site_log_signer(settings.data_dir, origin, environ),
        witnesses,
        settings.ledger.witness_quorum,
        trusted_logs=log_keys_of(settings.ledger.log_keys, "ledger.log_keys"),
        accept_pre_log=settings.ledger.accept_pre_log_bundles,
    )


def configured_witnesses(settings: Settings) -> WitnessPolicy:
    """What a verifier pins by default: ``ledger.witnesses``, ``ledger.witness_quorum``,
    ``ledger.log_keys`` and ``ledger.accept_pre_log_bundles``."""
    keys = tuple(Verifier.from_vkey(w.key) for w in settings.ledger.witnesses)
    return WitnessPolicy(
        keys,
        settings.ledger.witness_quorum,
        "ledger.witnesses",
        log_keys=log_keys_of(settings.ledger.log_keys, "ledger.log_keys"),
        accept_pre_log=settings.ledger.accept_pre_log_bundles,
    )


def log_status(settings: Settings) -> list[dict[str, object]]:
    """The site log's checkpoints as the store keeps them: size, root, who cosigned so far."""
    path = settings.data_dir / settings.ledger.sqlite_file
    if not path.exists():
        return []
    store = LedgerStore(path)
    try:
        stored = store.checkpoints()
    finally:
        store.close()
    return [
        {
            "size": c.size,
            "root": c.checkpoint.root.hex(),
            "cosigned_by": sorted(c.cosignatures),
            "checkpoint": c.cosigned_note(),
        }
        for c in stored
    ]
