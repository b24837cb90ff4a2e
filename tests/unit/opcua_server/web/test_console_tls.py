"""The web console under TLS: HTTPS from the configured certificate, Secure cookies."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from config import Role, User, WebSettings
from models.timebase import ManualClock
from opcua_server.security.audit import AuditLog
from opcua_server.security.login_guard import LoginPolicy
from opcua_server.security.passwords import hash_password
from opcua_server.security.users import ConfigUserManager
from opcua_server.web import ConsoleServices, WebConsole, WebError

PASSWORD = "tls-secret-7"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (0600), in PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "web.pem", folder / "web.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def services(folder: Path, clock: ManualClock) -> ConsoleServices:
    user = User(name="planner", role=Role.PLANNER, password_hash=hash_password(PASSWORD))
    audit = AuditLog(folder / "audit.log")
    manager = ConfigUserManager((user,), {}, audit=audit, policy=LoginPolicy(backoff_s=0.0))
    return ConsoleServices(audit=audit, users=manager, roles={"planner": Role.PLANNER})


async def test_https_with_the_configured_certificate_and_a_secure_cookie(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    clock = ManualClock()
    settings = WebSettings(enabled=True, port=0, tls_cert_file=cert, tls_key_file=key)
    web = WebConsole(settings, services(tmp_path, clock), clock)
    await web.start()
    try:
        assert web.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(base_url=web.url, verify=trust) as http:
            form = await http.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            assert "secure" in form.headers["set-cookie"].lower()
            answer = await http.post(
                "/login",
                data={"csrf_token": token.group(1), "username": "planner", "password": PASSWORD},
            )
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert "trustfloor_session=" in cookie
        assert "secure" in cookie
    finally:
        await web.stop()


async def test_a_key_that_does_not_load_is_reported(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    key.write_text("not a key")
    clock = ManualClock()
    settings = WebSettings(enabled=True, port=0, tls_cert_file=cert, tls_key_file=key)
    web = WebConsole(settings, services(tmp_path, clock), clock)
    with pytest.raises(WebError, match="TLS certificate or key"):
        await web.start()


def test_a_certificate_without_its_key_is_refused_by_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both tls_cert_file and tls_key_file"):
        WebSettings(tls_cert_file=tmp_path / "web.pem")
