"""Config loading: the demo site validates; every problem is reported at once with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, demo_config_text, json_schema, load_settings, parse_settings
from config.loader import format_location
from opcua_server.cli.main import main
from opcua_server.security.passwords import hash_password
from tests.unit.config.config_kit import demo_raw, problems_of


def test_bundled_demo_config_is_valid() -> None:
    settings = parse_settings(demo_raw())
    assert len(settings.site.machines) == 12
    assert len(settings.site.printers) == 2
    spare = {part.component for part in settings.maintenance.spare_parts}
    worn = [c for m in settings.site.machines for c in m.components]
    assert {c.name for c in worn} <= spare, "every wearing component has its spare part"
    assert any(c.initial_wear > 0.5 for c in worn), "some machines degrade within minutes"
    assert settings.server.allow_insecure is False
    assert "None" not in [p.value for p in settings.server.security_policies]


def test_location_format_matches_the_documented_paths() -> None:
    assert (
        format_location(("site", "machines", 2, "tags", 5, "address"))
        == "site.machines[2].tags[5].address"
    )


def test_overlapping_registers_name_the_other_tag() -> None:
    raw = demo_raw()
    tags = raw["site"]["machines"][0]["tags"]
    tags[1]["address"] = {
        "kind": "holding",
        "address": 1,
        "data_type": "uint16",
    }  # inside spindle_temp
    assert problems_of(raw) == ["site.machines[0].tags[1].address: overlaps tag 'spindle_temp'"]


def test_every_problem_is_reported_at_once() -> None:
    raw = demo_raw()
    raw["server"]["port"] = 70000
    raw["site"]["machines"][1]["tags"][0]["address"]["data_type"] = "int128"
    raw["site"]["machines"][9]["id"] = "mill-1"
    raw["site"]["machines"][9]["tags"][1]["name"] = "oil_temp"
    problems = problems_of(raw)
    assert any(p.startswith("server.port:") for p in problems)
    assert any(p.startswith("site.machines[1].tags[0].address.data_type:") for p in problems)
    assert "site.machines[9].id: duplicate machine id 'mill-1'" in problems
    assert "site.machines[9].tags[1].name: duplicate tag name 'oil_temp'" in problems
    assert len(problems) == 4


def test_none_security_needs_explicit_permission() -> None:
    raw = demo_raw()
    raw["server"]["security_policies"] = ["None"]
    assert problems_of(raw) == [
        "server: Value error, security policy None needs allow_insecure = true"
    ]
    raw["server"]["allow_insecure"] = True
    assert parse_settings(raw).server.allow_insecure


def test_secrets_come_from_the_environment() -> None:
    raw = demo_raw()
    assert problems_of(raw, environ={}) == [
        "server.users[0].password_env: environment variable TRUSTFLOOR_DEMO_PASSWORD is not set"
    ]
    assert (
        parse_settings(raw, environ={"TRUSTFLOOR_DEMO_PASSWORD": "x"}).server.users[0].name == "mes"
    )


def test_a_user_needs_exactly_one_password_source() -> None:
    raw = demo_raw()
    raw["server"]["users"][0]["password_hash"] = hash_password("mes-secret-1")
    assert problems_of(raw) == [
        "server.users[0]: Value error, give exactly one of"
        " password_hash, password_env or certificate_file"
    ]


def test_unknown_keys_are_errors_not_silently_ignored() -> None:
    raw = demo_raw()
    raw["historian"]["batchsize"] = 10
    assert problems_of(raw) == ["historian.batchsize: Extra inputs are not permitted"]


def test_relative_data_dir_is_taken_from_the_files_folder(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(demo_config_text())
    settings = load_settings(path, check_secrets=False)
    assert settings.data_dir == tmp_path / "var"


def test_syntax_errors_carry_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = = 4\n")
    with pytest.raises(ConfigError, match=r"\(syntax\).*line 2"):
        load_settings(path)


def test_check_config_cli_lists_problems_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = demo_config_text().replace(
        'address = 2, data_type = "uint16" }, scale = 0.01',
        'address = 1, data_type = "uint16" }, scale = 0.01',
    )
    path = tmp_path / "site.toml"
    path.write_text(text)
    assert main(["check-config", "--no-secrets", str(path)]) == 2
    err = capsys.readouterr().err
    assert "site.machines[0].tags[2].address: overlaps tag 'spindle_temp'" in err
    assert "advice:" in err


def test_check_config_cli_accepts_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.toml"
    path.write_text(demo_config_text())
    assert main(["check-config", "--no-secrets", str(path)]) == 0
    assert "OK (12 machines, 48 tags" in capsys.readouterr().out


def test_json_schema_describes_the_file() -> None:
    schema = json_schema()
    assert {"server", "historian", "site", "data_dir"} <= set(schema["properties"])
    assert "Machine" in schema["$defs"]
