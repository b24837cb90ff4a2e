"""``trustfloor verify`` over several bundles: pinned witnesses and log keys, split views."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from config import Settings, log_origin
from ledger.bundle import read_bundle
from ledger.commands import (
    CommandResult,
    read_bundle_file,
    verdict,
    verifier_trust,
    verify_bundle_file,
)
from ledger.errors import BundleError
from ledger.logchecks import WitnessPolicy, parse_log_keys, parse_witness_keys, split_views
from ledger.sitelog import LOG_KEY_ENV, LOG_KEY_FILE, site_log_signer
from ledger.transparency import NoteError, Verifier
from ledger.trust import IssuerTrust
from ledger.verify_many import verify_offline_many
from ledger.witnessing import configured_witnesses
from models import ExitCode, ProofBundle, VerificationReport

if TYPE_CHECKING:
    from ledger.anchorheaders import PinnedValidators


def witness_policy(
    settings: Settings,
    witnesses: Path | None,
    quorum: int | None,
    *,
    log_keys: Path | None = None,
    accept_pre_log: bool = False,
    environ: Mapping[str, str] | None = None,
) -> WitnessPolicy:
    """The witnesses of the ``witnesses`` file (else ``ledger.witnesses``) and ``quorum`` (else
    ``ledger.witness_quorum``, or every witness of the file); the site log keys of the
    ``log_keys`` file (else ``ledger.log_keys`` and the site's own, see ``own_log_key``);
    pre-log bundles accepted when ``accept_pre_log`` or ``ledger.accept_pre_log_bundles``."""
    configured = configured_witnesses(settings)
    keys, source = configured.witnesses, configured.source
    if witnesses is not None:
        keys = parse_witness_keys(_read_keys(witnesses, "witnesses"), str(witnesses))
        source, quorum = str(witnesses), len(keys) if quorum is None else quorum
    logs, logs_source = configured.log_keys, configured.log_keys_source
    own = own_log_key(settings, os.environ if environ is None else environ)
    if logs and own is not None and own not in logs:
        logs, logs_source = (own, *logs), f"the site's own log key and {logs_source}"
    if log_keys is not None:
        logs = parse_log_keys(_read_keys(log_keys, "log keys"), str(log_keys))
        logs_source = str(log_keys)
        if not logs:
            raise NoteError(f"the log keys file {log_keys} pins no key: one verifier key a line")
    return WitnessPolicy(
        keys,
        configured.quorum if quorum is None else quorum,
        source,
        log_keys=logs,
        log_keys_source=logs_source,
        accept_pre_log=accept_pre_log or configured.accept_pre_log,
    )


def own_log_key(settings: Settings, environ: Mapping[str, str]) -> Verifier | None:
    """The site's log key when the data directory holds one (or ``TRUSTFLOOR_LOG_KEY`` is
    set), else None: a verifier's data directory gets no log key made for it."""
    if not environ.get(LOG_KEY_ENV) and not (settings.data_dir / LOG_KEY_FILE).exists():
        return None
    origin = log_origin(settings.ledger.log_name, settings.site.name)
    return site_log_signer(settings.data_dir, origin, environ).verifier()


def _read_keys(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NoteError(f"cannot read the {what} file {path}: {exc}") from exc


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
    if offline and validators is None and len(paths) > 1:
        trust = verifier_trust(settings, issuers, trust_any_issuer=trust_any_issuer)
        results, bundles = verify_files_offline(paths, trust, policy)
    else:
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
        bundles = _readable(paths)
    forks = split_views(bundles)
    output = "".join(f"== {path}\n{r.output}" for path, r in zip(paths, results, strict=True))
    output += "".join(fork.describe() for fork in forks)
    codes = [r.exit_code for r in results]
    worst = ExitCode.INVALID if forks or ExitCode.INVALID in codes else max(codes)
    return CommandResult(worst, output, results[0].report)


def verify_files_offline(
    paths: Sequence[Path], trust: IssuerTrust, witnesses: WitnessPolicy
) -> tuple[list[CommandResult], list[ProofBundle]]:
    """Each file's offline verdict, as ``verify_bundle_file`` gives it, the bundles verified all
    at once (``verify_offline_many``: signatures recovered on the signing threads, a batch's
    tree and checkpoint checked once); and the bundles that parsed."""
    read = [read_bundle_file(path) for path in paths]
    bundles = [bundle for bundle in read if isinstance(bundle, ProofBundle)]
    reports = iter(verify_offline_many(bundles, trust=trust, witnesses=witnesses))
    results = [
        verdict(bundle if isinstance(bundle, VerificationReport) else next(reports))
        for bundle in read
    ]
    return results, bundles


def _readable(paths: Sequence[Path]) -> list[ProofBundle]:
    """The bundles that parse (the others already failed their own verification)."""
    bundles = []
    for path in paths:
        try:
            bundles.append(read_bundle(path.read_bytes()))
        except (OSError, BundleError):
            continue
    return bundles
