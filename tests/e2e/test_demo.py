"""`trustfloor demo` as a user runs it: secure endpoint, live values for node-opcua, Ctrl+C stops
it cleanly (the consortium test, tests/e2e/test_consortium.py, runs the same demo to SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.demo_kit import assert_live_values_over_a_secure_channel
from tests.support import REPO

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.interop]


async def read_until(
    stream: asyncio.StreamReader, pattern: str, seen: list[str], timeout_s: float = 60
) -> re.Match[str]:
    async with asyncio.timeout(timeout_s):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("demo exited early:\n" + "".join(seen))
            seen.append(line)
            if match := re.search(pattern, line):
                return match


async def test_demo_serves_live_values_securely_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path,
) -> None:
    env = os.environ | {"TRUSTFLOOR_DEMO_PASSWORD": "demo-pass-123", "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opcua_server.cli.main",
        "demo",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path / "var"),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        endpoint = (await read_until(process.stdout, r"endpoint\s+(opc\.tcp://\S+)", seen)).group(1)
        login = await read_until(process.stdout, r"login\s+user '(\w+)', password '([^']+)'", seen)
        assert login.groups() == ("mes", "demo-pass-123")
        await read_until(process.stdout, r"devices up (\d+)/\1 ", seen)
        await assert_live_values_over_a_secure_channel(
            endpoint, "demo-pass-123", tmp_path / "var", tmp_path / "node-pki"
        )
    finally:
        process.send_signal(signal.SIGINT)
        signalled = time.perf_counter()
        output, _ = await asyncio.wait_for(process.communicate(), 30)
        print(f"the demo exited {time.perf_counter() - signalled:.1f} s after Ctrl+C")
    text = "".join(seen) + output.decode()
    assert process.returncode == 0, text
    assert "stopped cleanly" in text
    assert "Traceback" not in text
    # the models still training at Ctrl+C (first run) stop at their next stage, before the site
    # says it stopped: no training goes on, nor any model is stored, after that line
    after_stop = text[text.index("stopped cleanly") :]
    assert "stored rul-" not in after_stop, text
    assert "models trained in" not in after_stop, text
