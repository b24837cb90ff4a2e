"""What an OEM reads of its licences: terms, pieces counted on chain, what is left, overage."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.contract import LicenceState
from ledger.errors import StatementError
from ledger.parties.terms import day_text, price_text

if TYPE_CHECKING:
    from ledger.chain import ChainClient

REPORTED = ("started", "certified", "failed", "revoked", "credited")


@dataclass(frozen=True, slots=True)
class LicenceUsage:
    """One licensee's licence of one design revision, as the chain holds it now."""

    design: str
    """``ID@REVISION``."""
    design_key: bytes
    site: str
    licence: LicenceState
    price_micros: int
    currency: str
    reported: Mapping[str, int] | None = None
    """The site's statements' counts summed (started, certified, failed, revoked, credited),
    when statements were given."""

    def as_json(self) -> dict[str, object]:
        """The row as ``oem usage --json`` prints it."""
        state = self.licence
        return {
            "design": self.design,
            "design_key": "0x" + self.design_key.hex(),
            "site": self.site,
            "quota": state.quota,
            "overdraft": state.overdraft,
            "valid_from": day_text(state.valid_from),
            "valid_until": day_text(state.valid_until),
            "revoked": state.revoked,
            "price": price_text(self.price_micros, self.currency),
            "counted": state.used,
            "remaining": state.remaining,
            "overage": state.overage,
            "reported": dict(self.reported) if self.reported is not None else None,
        }


async def licence_usage(chain: ChainClient, key: bytes, label: str) -> list[LicenceUsage]:
    """Every licensee of design ``key`` (from the grants on chain) with its licence now."""
    grants = await chain.licence_grants(key)
    latest = {grant.licensee: grant for grant in grants}  # chain order: the last one wins
    rows = []
    for site, grant in latest.items():
        state = await chain.licence(key, site)
        rows.append(LicenceUsage(label, key, site, state, grant.price_micros, grant.currency))
    return rows


def statement_counts(paths: Sequence[Path]) -> dict[tuple[str, str], Counter[str]]:
    """The counts of the sites' statement files, summed per (design key hex, site), each
    statement checked offline first (StatementError naming the file that does not hold)."""
    from ledger.billing import read_statement, verify_statement_offline  # billing needs parties

    sums: dict[tuple[str, str], Counter[str]] = {}
    for path in paths:
        statement = read_statement(path.read_text("utf-8"))
        report = verify_statement_offline(statement)
        if not report.valid:
            raise StatementError(f"{path} does not hold: {report.mismatches[0]}")
        doc = statement.document
        design, parties, counts = doc["design"], doc["parties"], doc["counts"]
        assert isinstance(design, dict)
        assert isinstance(parties, dict)
        assert isinstance(counts, dict)
        key = (str(design["key"]), str(parties["site"]).lower())
        sums.setdefault(key, Counter()).update({k: int(str(counts[k])) for k in REPORTED})
    return sums


def with_statements(
    rows: Sequence[LicenceUsage], sums: Mapping[tuple[str, str], Counter[str]]
) -> list[LicenceUsage]:
    """The rows with the counts their sites reported in statements (zeros when none)."""
    return [
        replace(
            row,
            reported={
                k: sums.get((row.design_key.hex(), row.site.lower()), Counter())[k]
                for k in REPORTED
            },
        )
        for row in rows
    ]


def render_usage(rows: Sequence[LicenceUsage], *, as_json: bool) -> str:
    """``oem usage``: a table per licence, or a JSON array of rows."""
    if as_json:
        return json.dumps([row.as_json() for row in rows], indent=2) + "\n"
    if not rows:
        return "no licence granted yet\n"
    header = (
        f"{'design':<26} {'site':<42} {'counted':>7} {'quota':>6} {'overdraft':>9} "
        f"{'remaining':>9} {'overage':>7}  period, price, state"
    )
    lines = [header]
    for row in rows:
        state = row.licence
        period = f"{day_text(state.valid_from)} .. {day_text(state.valid_until)}"
        standing = "REVOKED" if state.revoked else "active"
        lines.append(
            f"{row.design:<26} {row.site:<42} {state.used:>7} {state.quota:>6} "
            f"{state.overdraft:>9} {state.remaining:>9} {state.overage:>7}  {period}, "
            f"{price_text(row.price_micros, row.currency)}, {standing}"
        )
        if row.reported is not None:
            reported = ", ".join(f"{k} {row.reported[k]}" for k in REPORTED)
            lines.append(f"{'':<26} statements: {reported}")
    return "\n".join(lines) + "\n"
