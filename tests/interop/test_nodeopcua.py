"""An independent OPC UA client (node-opcua) against trustfloor with SignAndEncrypt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opcua_server.runtime.site import Site
from tests.support import NAMESPACE_URI, PASSWORDS, node_client, trust_rejected

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.interop]

TAGS = ["Machines/mill-1/spindle_temp", "Machines/pump-1/shaft_speed"]


def request(site: Site, pki: Path, **extra: Any) -> dict[str, Any]:
    assert site.server is not None
    return {
        "endpoint": site.server.endpoint,
        "policy": "Basic256Sha256",
        "mode": "SignAndEncrypt",
        "user": "mes",
        "password": PASSWORDS["mes"],
        "pkiDir": str(pki),
        "namespaceUri": NAMESPACE_URI,
    } | extra


def trust_rejected_of(site: Site) -> None:
    assert site.server is not None
    trust_rejected(site.server.pki.root)


@pytest.fixture(scope="module")
def node_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-pki")


async def test_unknown_node_client_certificate_is_refused_until_trusted(
    site: Site, node_pki: Path
) -> None:
    refused = await node_client(request(site, node_pki, browse=True))
    assert refused["ok"] is False
    assert site.server is not None
    assert list(site.server.pki.rejected.glob("*.der")), "refused certificate kept for review"
    trust_rejected_of(site)
    accepted = await node_client(request(site, node_pki, browse=True))
    assert accepted["ok"] is True, accepted
    assert sorted(accepted["machines"]) == ["am-1", "mill-1", "pump-1"]  # printers are machines


@pytest.mark.parametrize(
    "policy", ["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]
)
async def test_node_client_reads_changing_values_over_each_policy(
    site: Site, node_pki: Path, policy: str
) -> None:
    trust_rejected_of(site)
    answer = await node_client(
        request(site, node_pki, policy=policy, nodes=TAGS, repeat=2, intervalMs=1200)
    )
    assert answer["ok"] is True, answer
    first, second = answer["rounds"]
    assert [v["status"] for v in first + second] == ["Good"] * 4
    assert 15.0 <= first[0]["value"] <= 120.0
    assert 0.0 <= first[1]["value"] <= 3600.0
    assert first[0]["sourceTimestamp"] != second[0]["sourceTimestamp"], "values must be live"


async def test_node_client_with_wrong_password_is_refused(site: Site, node_pki: Path) -> None:
    trust_rejected_of(site)
    answer = await node_client(request(site, node_pki, password="wrong", browse=True))
    assert answer["ok"] is False
    assert "BadUserAccessDenied" in (answer["status"] or answer["error"])


async def test_node_client_without_security_is_refused(site: Site, node_pki: Path) -> None:
    answer = await node_client(
        request(site, node_pki, policy="None", mode="None", user=None, browse=True)
    )
    assert answer["ok"] is False
