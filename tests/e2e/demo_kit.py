"""What every run of `trustfloor demo` must show a node-opcua MES: live Good values, securely."""

from __future__ import annotations

from pathlib import Path

from tests.support import NAMESPACE_URI, node_client


async def assert_live_values_over_a_secure_channel(
    endpoint: str, password: str, data_dir: Path, pki_dir: Path
) -> None:
    """node-opcua reads two tags twice over Basic256Sha256 SignAndEncrypt as the MES user: every
    value Good and the values changing; the server's certificate and the historian are on disk."""
    answer = await node_client(
        {
            "endpoint": endpoint,
            "policy": "Basic256Sha256",
            "mode": "SignAndEncrypt",
            "user": "mes",
            "password": password,
            "pkiDir": str(pki_dir),
            "namespaceUri": NAMESPACE_URI,
            "nodes": ["Machines/mill-1/spindle_temp", "Machines/press-1/oil_temp"],
            "repeat": 2,
            "intervalMs": 1500,
        }
    )
    assert answer["ok"] is True, answer
    first, second = answer["rounds"]
    assert all(v["status"] == "Good" for v in first + second)
    assert first[0]["sourceTimestamp"] != second[0]["sourceTimestamp"]
    assert (data_dir / "pki" / "own" / "certs" / "server.der").is_file()
    assert (data_dir / "telemetry.sqlite").is_file()
