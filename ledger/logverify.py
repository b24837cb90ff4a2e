"""``trustfloor verify`` over several bundles: the pinned witnesses, each verdict, split views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from config import Settings
from ledger.anchorheaders import PinnedValidators
from ledger.bundle import read_bundle
from ledger.commands import CommandResult, verify_bundle_file
from ledger.errors import BundleError
from ledger.logchecks import WitnessPolicy, parse_witness_keys, split_views
from ledger.transparency import NoteError
from ledger.witnessing import configured_witnesses
from models import ExitCode, ProofBundle


def witness_policy(settings: Settings, witnesses: Path | None, quorum: int | None) -> WitnessPolicy:
    """The witnesses of the ``witnesses`` file (else ``ledger.witnesses``) and ``quorum`` (else
    ``ledger.witness_quorum``, or every witness of the file)."""
    if witnesses is None:
        configured = configured_witnesses(settings)
        if quorum is None:
            return configured
        return WitnessPolicy(configured.witnesses, quorum, configured.source)
    try:
        text = witnesses.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NoteError(f"cannot read the witnesses file {witnesses}: {exc}") from exc
    keys = parse_witness_keys(text, str(witnesses))
    return WitnessPolicy(keys, len(keys) if quorum is None else quorum, str(witnesses))


async def verify_bundle_files(
    paths: Sequence[Path],
    settings: Settings,
    *,
    offline: bool,
    issuers: Path | None = None,
    trust_any_issuer: bool = False,
    witnesses: WitnessPolicy | None = None,
    environ: Mapping[str, str] | None = None,
    validators: PinnedValidators | None = None,
) -> CommandResult:
    """Each bundle's verdict (see ``verify_bundle_file``), then the split views the bundles
    prove together. Exit 3 when any bundle is invalid or the log forked, else the worst code."""
    policy = witnesses or configured_witnesses(settings)
    results = [
        await verify_bundle_file(
            path,
            settings,
            offline=offline,
            issuers=issuers,
            trust_any_issuer=trust_any_issuer,
            environ=environ,
            witnesses=policy,
            validators=validators,
        )
        for path in paths
    ]
    if len(paths) == 1:
        return results[0]
    forks = split_views(_readable(paths))
    output = "".join(f"== {path}\n{r.output}" for path, r in zip(paths, results, strict=True))
    output += "".join(fork.describe() for fork in forks)
    codes = [r.exit_code for r in results]
    worst = ExitCode.INVALID if forks or ExitCode.INVALID in codes else max(codes)
    return CommandResult(worst, output, results[0].report)


def _readable(paths: Sequence[Path]) -> list[ProofBundle]:
    """The bundles that parse (the others already failed their own verification)."""
    bundles = []
    for path in paths:
        try:
            bundles.append(read_bundle(path.read_bytes()))
        except (OSError, BundleError):
            continue
    return bundles
