"""What the billing commands do: issue a month's statements, verify one, the OEM accepting it."""

# The site keeps its statements in <data_dir>/statements/<id>@<revision>/<YYYY-MM>.json. A
# statement once issued is kept as it is (the next one names its digest), so issuing a month
# again prints the kept one; each design's statements form a hash chain through ``previous``.

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from ledger.billing.document import Period, SignedStatement, read_statement
from ledger.billing.render import render_statement_report, statement_csv, summary_lines, write_pdf
from ledger.billing.statement import build_statement
from ledger.billing.verify import (
    StatementReport,
    verify_statement_offline,
    verify_statement_online,
)
from ledger.commands import CommandResult, ledger_store
from ledger.errors import StatementError
from ledger.parties.oem import oem_chain, oem_key
from ledger.signing import same_address
from ledger.sitechain import open_chain_as, open_site_chain
from models import Clock, ExitCode, SystemClock

STATEMENTS_DIR = "statements"


@dataclass(frozen=True, slots=True)
class IssuedStatement:
    """A statement of one design for one month, and where the site keeps it."""

    statement: SignedStatement
    path: Path


def statement_folder(settings: Settings, design_id: str, revision: str) -> Path:
    """Where the site keeps the statements of one design revision."""
    return settings.data_dir / STATEMENTS_DIR / f"{design_id}@{revision}"


def _kept(folder: Path) -> list[Path]:
    return sorted(folder.glob("????-??.json")) if folder.is_dir() else []


def _previous(folder: Path, period: Period) -> SignedStatement | None:
    earlier = [p for p in _kept(folder) if p.stem < period.name]
    return read_statement(earlier[-1].read_text("utf-8")) if earlier else None


def _write(path: Path, statement: SignedStatement) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write(statement.to_json())
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


async def issue_statements(
    settings: Settings,
    period_text: str,
    *,
    site: str | None = None,
    design: str | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> list[IssuedStatement]:
    """The site's statements of ``period`` (YYYY-MM), one per design revision it printed (or
    ``design``, ID@REVISION), signed with its key and kept; a month issued before is kept."""
    period = Period.parse(period_text)
    env = os.environ if environ is None else environ
    store = ledger_store(settings)
    try:
        async with open_site_chain(settings, env) as chain:
            assert chain.key is not None
            if site is not None and not same_address(site, chain.key.address):
                raise StatementError(
                    f"this site is {chain.key.address}, not {site}",
                    advice="Issue a site's statements with that site's options (--config).",
                )
            designs = sorted({(p.job.design.id, p.job.design.revision) for p in store.parts()})
            if design is not None:
                design_id, _, revision = design.partition("@")
                designs = [d for d in designs if d[0] == design_id and revision in ("", d[1])]
            if not designs:
                raise StatementError(f"this site printed no {design or 'design'} yet")
            issued = []
            for design_id, revision in designs:
                folder = statement_folder(settings, design_id, revision)
                path = folder / f"{period.name}.json"
                if path.exists():
                    issued.append(IssuedStatement(read_statement(path.read_text("utf-8")), path))
                    continue
                statement = await build_statement(
                    store, chain.client, chain.key, design_id, revision, period,
                    _previous(folder, period), (clock or SystemClock()).now(),
                )  # fmt: skip
                _write(path, statement)
                issued.append(IssuedStatement(statement, path))
            return issued
    finally:
        store.close()


def render_issued(issued: list[IssuedStatement], output: str, pdf: Path | None) -> CommandResult:
    """``billing statement``: summaries (default), the statement JSON, CSV lines or a PDF."""
    if output == "json":
        texts = [i.statement.to_json() for i in issued]
        text = texts[0] if len(texts) == 1 else json.dumps([json.loads(t) for t in texts]) + "\n"
        return CommandResult(ExitCode.OK, text)
    if output == "csv":
        return CommandResult(ExitCode.OK, "".join(statement_csv(i.statement) for i in issued))
    lines = []
    for item in issued:
        lines += [*summary_lines(item.statement), f"  kept in    {item.path}"]
        if output == "pdf":
            target = pdf if pdf is not None and len(issued) == 1 else item.path.with_suffix(".pdf")
            write_pdf(item.statement, target)
            lines.append(f"  pdf        {target}")
    return CommandResult(ExitCode.OK, "\n".join(lines) + "\n")


async def verify_statement_file(
    settings: Settings,
    path: Path,
    *,
    previous: Path | None = None,
    offline: bool = False,
    environ: Mapping[str, str] | None = None,
) -> CommandResult:
    """``billing verify FILE [--previous FILE] [--offline]``: each check, exit 0 or 3."""
    statement = _read(path)
    before = _read(previous) if previous is not None else None
    report = await _verify(settings, statement, before, offline, environ)
    code = ExitCode.OK if report.valid else ExitCode.INVALID
    return CommandResult(code, render_statement_report(report, str(path)))


def _read(path: Path) -> SignedStatement:
    try:
        return read_statement(path.read_text("utf-8"))
    except OSError as exc:
        raise StatementError(f"cannot read {path}: {exc}") from exc


async def _verify(
    settings: Settings,
    statement: SignedStatement,
    previous: SignedStatement | None,
    offline: bool,
    environ: Mapping[str, str] | None,
) -> StatementReport:
    if offline:
        return verify_statement_offline(statement, previous)
    env = os.environ if environ is None else environ
    async with open_chain_as(settings, None, env) as chain:
        return await verify_statement_online(statement, chain, previous)


async def accept_statement(
    settings: Settings, path: Path, environ: Mapping[str, str] | None = None
) -> CommandResult:
    """``oem statement accept FILE``: the OEM checks the statement against the chain and, when
    it holds and names this OEM, countersigns it in place."""
    env = os.environ if environ is None else environ
    statement = _read(path)
    key = oem_key(settings, env)
    oem = str(statement.document.get("parties", {}).get("oem"))  # type: ignore[union-attr]
    if not same_address(oem, key.address):
        raise StatementError(f"the statement is for the OEM {oem}, not this OEM {key.address}")
    async with oem_chain(settings, env) as chain:
        report = await verify_statement_online(statement, chain)
    if not report.valid:
        return CommandResult(
            ExitCode.INVALID,
            "not countersigned:\n" + render_statement_report(report, str(path)),
        )
    _write(path, statement.countersigned(key))
    return CommandResult(ExitCode.OK, f"countersigned {path} as the OEM {key.address}\n")
