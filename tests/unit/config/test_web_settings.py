"""The [web] section: off unless asked, loopback by default, its port checked like the others."""

from __future__ import annotations

from pathlib import Path

from config import WebSettings, parse_settings
from tests.unit.config.config_kit import demo_raw, problems_of

PORT_ADVICE = "give each listener a port of its own, or 0 for a free one"


def test_the_console_is_off_and_on_loopback_by_default() -> None:
    web = parse_settings(demo_raw()).web
    assert not web.enabled
    assert web.host == "127.0.0.1"
    assert web.url == "http://127.0.0.1:8080/"


def test_an_enabled_console_cannot_take_the_opcua_port() -> None:
    raw = demo_raw()
    raw["web"] = {"enabled": True, "port": 4840}
    assert problems_of(raw) == [f"web.port: port 4840 is already server.port's; {PORT_ADVICE}"]


def test_certificate_paths_are_taken_from_the_config_folder(tmp_path: Path) -> None:
    web = WebSettings(tls_cert_file=Path("web.pem"), tls_key_file=Path("/etc/web.key"))
    moved = web.relative_to(tmp_path)
    assert moved.tls_cert_file == tmp_path / "web.pem"
    assert moved.tls_key_file == Path("/etc/web.key")
    assert moved.url.startswith("https://")
