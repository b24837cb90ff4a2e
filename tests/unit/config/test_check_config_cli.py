"""`trustfloor check-config` lists every kind of problem of a bad file at once and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import demo_config_text
from models import ExitCode
from opcua_server.cli.main import main


def edited(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_a_file_with_many_problems_lists_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edited(
        demo_config_text(),
        ('password_env = "TRUSTFLOOR_DEMO_PASSWORD"', 'password_hash = "correct horse"'),
        ("flush_interval_s = 0.5", "flush_interval_s = nan"),
        (
            'address = 2, data_type = "uint16" }, scale = 0.01',
            'address = 1, data_type = "uint16" }, scale = 0.01',
        ),
        ('component = "impeller"', 'component = "impellor"'),
        (
            'serial_number = "LPBF250-0008"\nsimulated = true\n'
            'opcua = { url = "opc.tcp://127.0.0.1:0/printer"',
            'serial_number = "LPBF250-0008"\nsimulated = false\n'
            'opcua = { url = "opc.tcp://am-2.plant:4840/printer", security_policy = "None", '
            'security_mode = "None"',
        ),
    )
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")

    assert main(["check-config", "--no-secrets", str(path)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "5 problem(s)" in err
    for path_and_start in (
        "server.users[0].password_hash: Value error, not a password hash",
        "historian.flush_interval_s: must be a finite number",
        "site.machines[0].tags[2].address: overlaps tag 'spindle_temp'",
        "maintenance.spare_parts[1].component: no asset has a component 'impellor'",
        "site.printers[1].opcua.security_policy: security None on a real device",
    ):
        assert path_and_start in err
    assert "correct horse" not in err


def test_an_empty_file_is_not_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    assert main(["check-config", "--no-secrets", str(path)]) == ExitCode.CONFIG
    captured = capsys.readouterr()
    assert "site: no machines or printers" in captured.err
    assert "OK" not in captured.out


def test_check_config_looks_for_the_spare_parts_designs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.toml"
    path.write_text(demo_config_text(), encoding="utf-8")
    (tmp_path / "var" / "designs").mkdir(parents=True)
    assert main(["check-config", "--no-secrets", str(path)]) == ExitCode.CONFIG
    assert "maintenance.spare_parts[0].design_id: no folder" in capsys.readouterr().err
