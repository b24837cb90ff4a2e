"""Shared test support: free ports, waiting on conditions, settings, client certificates, peers."""

from __future__ import annotations

import ast
import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from asyncua import Client, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import DNSName, UniformResourceIdentifier
from cryptography.x509.oid import ExtendedKeyUsageOID

from config import Settings, load_demo_settings
from opcua_server.security.passwords import hash_password
from opcua_server.server import free_port as free_port

REPO = Path(__file__).resolve().parents[1]
NODE_CLIENT = REPO / "tests" / "peers" / "nodeopcua_client.mjs"
NAMESPACE_URI = "urn:trustfloor:site"
PASSWORDS = {
    "mes": "mes-secret-1",
    "planner": "planner-secret-2",
    "quality_engineer": "quality-secret-3",
    "operator": "operator-secret-4",
    "auditor": "auditor-secret-5",
    "admin": "admin-secret-6",
}
CLIENT_URI = "urn:trustfloor:tests:asyncua-client"

POLL_S = 0.02
"""How often a wait looks again at state a real peer cannot announce."""
WAIT_S = 30.0
"""How long a wait lasts before the test fails: a bound, never a measurement."""

T = TypeVar("T")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name a source file imports (``import a.b``, ``from a.b import c``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool] = bool,
    *,
    timeout_s: float = WAIT_S,
    poll_s: float = POLL_S,
) -> T:
    """The first answer of ``probe`` that ``accept`` takes; TimeoutError after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not accept(answer := await probe()):
            await asyncio.sleep(poll_s)
    return answer


async def wait_until(
    condition: Callable[[], bool], *, timeout_s: float = WAIT_S, poll_s: float = POLL_S
) -> None:
    """Return once ``condition()`` holds; TimeoutError after ``timeout_s``."""

    async def holds() -> bool:
        return condition()

    await wait_for(holds, timeout_s=timeout_s, poll_s=poll_s)


def site_settings(data_dir: Path, *, machines: int = 2, **server: Any) -> Settings:
    """The first ``machines`` of the demo site's machine types (mill-1, pump-1, press-1) with
    new parts, and its first printer, on a free port, with hashed test users."""
    demo = load_demo_settings(data_dir, check_secrets=False)
    users = [
        {"name": name, "role": name, "password_hash": hash_password(pw)}
        for name, pw in PASSWORDS.items()
    ]
    server_cfg = demo.server.model_dump(mode="json") | {
        "port": 0,
        "users": users,
        "trust_unknown_clients": False,
        "metrics_port": 0,
    }
    server_cfg.update(server)
    raw = demo.model_dump(mode="json") | {"server": server_cfg, "data_dir": str(data_dir)}
    firsts = [m for m in raw["site"]["machines"] if m["id"].endswith("-1")][:machines]
    for machine in firsts:
        machine["components"] = [c | {"initial_wear": 0.0} for c in machine["components"]]
    raw["site"]["machines"] = firsts
    raw["site"]["printers"] = raw["site"]["printers"][:1]
    return Settings.model_validate(raw)


def make_client_certificate(folder: Path, uri: str = CLIENT_URI) -> tuple[Path, Path]:
    """A self-signed OPC UA client certificate (DER) and key (PEM) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        "trustfloor-test-client",
        {},
        [UniformResourceIdentifier(uri), DNSName("localhost")],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    cert_path, key_path = folder / "client.der", folder / "client_key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


def trusted_client_certificate(trusted: Path, folder: Path, name: str) -> tuple[Path, Path]:
    """A client certificate made in ``folder`` and put in a server's trusted folder as ``name``."""
    cert, key = make_client_certificate(folder)
    (trusted / f"{name}.der").write_bytes(cert.read_bytes())
    return cert, key


async def secure_client(
    endpoint: str,
    cert: tuple[Path, Path],
    user: str = "mes",
    password: str | None = None,
    timeout_s: float = 10,
) -> Client:
    """An asyncua client with Basic256Sha256 SignAndEncrypt and username login (not connected)."""
    client = Client(endpoint, timeout=timeout_s)
    client.application_uri = CLIENT_URI
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        certificate=str(cert[0]),
        private_key=str(cert[1]),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    client.set_user(user)
    client.set_password(PASSWORDS.get(user, "") if password is None else password)
    return client


async def node_client(request: dict[str, Any], timeout_s: float = 90.0) -> dict[str, Any]:
    """Run the node-opcua peer with ``request``; returns its JSON answer."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_CLIENT),
        json.dumps(request),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"node-opcua client printed no result: {stderr.decode()[-2000:]}")
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


def trust_rejected(pki_root: Path) -> int:
    """What an administrator does: move refused client certificates into the trust list."""
    moved = 0
    for cert in (pki_root / "rejected" / "certs").glob("*.der"):
        shutil.move(cert, pki_root / "trusted" / "certs" / cert.name)
        moved += 1
    return moved


async def node_client_trusted(request: dict[str, Any], pki_root: Path) -> dict[str, Any]:
    """Run the node-opcua peer; if the server refused its certificate, trust it and retry once."""
    answer = await node_client(request)
    if not answer["ok"] and trust_rejected(pki_root):
        answer = await node_client(request)
    return answer


def text(value: str) -> ua.Variant:
    """A String argument."""
    return ua.Variant(value, ua.VariantType.String)


async def call_method(client: Client, folder: str, method: str, *args: ua.Variant) -> Any:
    """Call ``<folder>/<method>`` on the ``<folder>`` object of the site namespace."""
    ns = await client.get_namespace_index(NAMESPACE_URI)
    parent = client.get_node(ua.NodeId(folder, ns))
    return await parent.call_method(ua.NodeId(f"{folder}/{method}", ns), *args)
