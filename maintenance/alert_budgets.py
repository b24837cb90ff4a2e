"""Alerts held back and each machine's alert budget, as `trustfloor alerts --suppressed` shows."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from config import MaintenanceSettings
from maintenance.alert_records import HeldBackAlert
from maintenance.alert_store import AlertStore
from models import Frozen


class BudgetRow(Frozen):
    """One machine's alerts in the budget window: raised against its budget, and held back."""

    machine: str
    raised: int
    budget: int
    """0: no budget."""
    held_back: int
    window_days: float


class HeldBackReport(Frozen):
    """What was held back lately, and where each machine stands against its budget."""

    held_back: tuple[HeldBackAlert, ...]
    budgets: tuple[BudgetRow, ...]


def budget_rows(store: AlertStore, settings: MaintenanceSettings, now: datetime) -> list[BudgetRow]:
    """Each machine that raised or held back an alert in the budget window before ``now``."""
    tuning = settings.alerting
    since = now - timedelta(seconds=tuning.budget_window_s)
    raised = Counter(machine for machine, _ in store.raised_since(since))
    held = store.held_back_counts(since)
    return [
        BudgetRow(
            machine=machine,
            raised=raised.get(machine, 0),
            budget=tuning.budget_per_month,
            held_back=held.get(machine, 0),
            window_days=tuning.budget_window_s / 86_400,
        )
        for machine in sorted(set(raised) | set(held))
    ]


async def held_back_report(
    store: AlertStore, settings: MaintenanceSettings, now: datetime, limit: int = 50
) -> HeldBackReport:
    """The newest ``limit`` alerts held back, and the budgets."""
    held = await asyncio.to_thread(store.suppressed, limit)
    budgets = await asyncio.to_thread(budget_rows, store, settings, now)
    return HeldBackReport(held_back=tuple(held), budgets=tuple(budgets))


def _span(days: float) -> str:
    """``30 days``, or ``12 h`` / ``0.2 h`` under a day (compressed demo time)."""
    return f"{days:g} days" if days >= 1 else f"{days * 24:.2g} h"


def _budget_line(row: BudgetRow) -> str:
    budget = f"{row.raised}/{row.budget}" if row.budget else f"{row.raised} (no budget)"
    return f"  {row.machine}: raised {budget}, held back {row.held_back}"


def _held_line(held: HeldBackAlert) -> str:
    when = held.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{when}  {held.machine}/{held.component}  {held.reason}\n  {held.summary}"


def render_held_back(report: HeldBackReport) -> str:
    """Plain text: the budgets per machine, then each alert held back, newest first."""
    lines: list[str] = []
    if report.budgets:
        lines.append(f"alert budgets (last {_span(report.budgets[0].window_days)}):")
        lines.extend(_budget_line(row) for row in report.budgets)
    held: Sequence[HeldBackAlert] = report.held_back
    lines.append(f"alerts held back: {len(held)}" if held else "no alert held back")
    lines.extend(_held_line(h) for h in held)
    return "\n".join(lines)
