"""The console of a running site: the live status line, the story so far, the demo banner."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime

from maintenance import render_alert_table
from opcua_server.runtime.site import Site
from opcua_server.runtime.summary import SiteSummary

DEMO_PASSWORD_ENV = "TRUSTFLOOR_DEMO_PASSWORD"


async def run_site(
    site: Site,
    *,
    duration_s: float | None,
    status: bool,
    on_started: Callable[[Site], None] | None = None,
    summary: bool = False,
) -> None:
    """Run until SIGINT/SIGTERM (or ``duration_s``), showing a status line and the story so far
    (``summary``, ending with a last one) when asked."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await site.start()
    if on_started is not None:
        on_started(site)
    reporters = [asyncio.create_task(report_status(site))] if status else []
    if summary:
        reporters.append(asyncio.create_task(report_summary(site)))
    try:
        await asyncio.wait_for(stop.wait(), duration_s)
    except TimeoutError:
        pass
    finally:
        for reporter in reporters:
            reporter.cancel()
        await asyncio.gather(*reporters, return_exceptions=True)
        if summary:
            print("\n" + render_summary(await site.summary()), flush=True)
        print("\nshutting down...", flush=True)
        await site.stop()


async def report_status(site: Site) -> None:
    """A status line every second, rewritten in place on a terminal; every 5 s appended else."""
    last, last_time = 0, time.monotonic()
    tty = sys.stdout.isatty()
    every_s = 1.0 if tty else 5.0
    while True:
        await asyncio.sleep(every_s)
        now = time.monotonic()
        snap = site.status()
        rate = (snap.readings - last) / max(now - last_time, 1e-9)
        last, last_time = snap.readings, now
        line = (
            f"{datetime.now():%H:%M:%S} devices up {snap.devices_up}/{snap.devices}"
            f" | readings {snap.readings} ({rate:.0f}/s) | stored {snap.stored}"
            f" | pending {snap.pending}"
        )
        print(f"\r{line}   " if tty else line, end="" if tty else "\n", flush=True)


SUMMARY_EVERY_S = 15.0


async def report_summary(site: Site, every_s: float = SUMMARY_EVERY_S) -> None:
    """The demo's story so far, every ``every_s``: machines, alerts, orders, parts, proofs."""
    while True:
        await asyncio.sleep(every_s)
        print("\n" + render_summary(await site.summary()), flush=True)


def render_summary(summary: SiteSummary) -> str:
    """A few plain lines a planner can read at a glance; the alert table below them."""
    health = ", ".join(f"{state} {count}" for state, count in sorted(summary.health.items()))
    stopped = f"stopped: {', '.join(summary.stopped)}" if summary.stopped else "none stopped"
    orders = ", ".join(f"{state} {n}" for state, n in sorted(summary.orders.items())) or "none"
    licences = ", ".join(f"{d} {used}/{quota}" for d, (used, quota) in summary.licences.items())
    lines = [
        f"── {datetime.now():%H:%M:%S} · simulated +{summary.simulated_h:.0f} h " + "─" * 40,
        f"machines  {summary.machines} ({stopped}) · health: {health}",
        f"alerts    {len(summary.alerts)} active{_without_failure(summary)}",
        f"orders    {orders}",
        f"parts     passed {summary.parts_passed}, failed {summary.parts_failed}"
        f" · batches anchored {summary.batches_anchored}, waiting {summary.batches_pending}"
        f" · certificates not yet anchored {summary.certificates_unanchored}",
        f"licences  {licences or '-'}",
    ]
    if summary.repairs is not None:
        r = summary.repairs
        lines.append(
            f"repairs   parts fitted before failure {r.before_failure}, after failure "
            f"{r.after_failure}, unplanned repairs {r.unplanned}"
        )
    if summary.last_retrain is not None:
        lines.append(f"retrain   {summary.last_retrain}")
    if summary.alerts:
        lines.append(render_alert_table(summary.alerts))
    return "\n".join(lines)


def _without_failure(summary: SiteSummary) -> str:
    """`` · alerts on machines that did not fail: N`` where the simulator knows N."""
    count = summary.alerts_without_failure
    return "" if count is None else f" · alerts on machines that did not fail: {count}"


def print_demo_banner(site: Site, password: str) -> None:
    """Endpoint and login, printed once the server listens (so the port is the real one)."""
    from ledger import oem_address, oem_dir, recorded_admin  # web3 loads with the parties

    assert site.server is not None
    settings = site.settings
    server = site.server.server_settings
    policies = ", ".join(p.value for p in server.security_policies)
    user = server.users[0].name
    issuer = site.ledger.address if site.ledger is not None else "none (no ledger)"
    oem = oem_address(settings, os.environ) or "none yet"
    admin = recorded_admin(settings) or "the consortium's (chain.url)"
    web = f"  web        {site.web.url}\n" if site.web is not None else ""
    print(
        "trustfloor demo site\n"
        f"  endpoint   {server.endpoint}\n"
        f"{web}"
        f"  security   {policies} (SignAndEncrypt)\n"
        f"  login      user '{user}', password '{password}'"
        f" (set {DEMO_PASSWORD_ENV} to choose it)\n"
        f"  machines   {', '.join(m.id for m in settings.site.machines)} under Objects/Machines\n"
        f"  data       {settings.data_dir} (0700, this user only: keys, stores, audit log)\n"
        "  parties    each with its own key, on the same chain node:\n"
        f"    consortium admin {admin} (allow-lists OEMs and sites: trustfloor consortium)\n"
        f"    OEM              {oem} (registers the designs, grants this site its licences;"
        f" keys and records in {oem_dir(settings)}: trustfloor oem)\n"
        f"    site (issuer)    {issuer} (prints under its licences, certifies, anchors; pin it"
        " for offline checks: trustfloor verify --issuers)\n"
        "  stop       Ctrl+C\n",
        flush=True,
    )
