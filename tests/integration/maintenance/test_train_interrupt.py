"""Ctrl+C during `trustfloor train` stops the training at its next stage and stores nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from maintenance.datasets import CMAPSS_SETTINGS, read_cmapss
from maintenance.training_stop import STOPPED_BY_INTERRUPT
from tests.support import REPO

DATA = REPO / ".." / "shared" / "data" / "cmapss"


def test_ctrl_c_during_training_stops_it_and_stores_nothing(tmp_path: Path) -> None:
    subset = read_cmapss(DATA, "FD001")
    csv = tmp_path / "fd001.csv"
    subset.train[subset.train["unit"] <= 30].rename(columns={"cycle": "time"}).to_csv(
        csv, index=False
    )
    data_dir = tmp_path / "var"
    command = [sys.executable, "-m", "opcua_server.cli.main", "train", "--from-file", str(csv)]
    command += ["--name", "engine-1", "--settings", ",".join(CMAPSS_SETTINGS)]
    command += ["--data-dir", str(data_dir)]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # the training thread has begun its first model
        seen.append(line)
        if "units held out" in line:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=100)
    output = "".join(seen) + rest
    assert process.returncode == 0, output
    assert STOPPED_BY_INTERRUPT in output
    assert "held-out RMSE" not in output
    assert "training on all" not in output
    assert not list((data_dir / "models").glob("*/v*")), "a model was stored after Ctrl+C"
