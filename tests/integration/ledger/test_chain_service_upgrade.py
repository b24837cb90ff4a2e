"""The consortium's chain service follows a recorded version 1 ledger with a version 2 one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.chain import ChainClient
from ledger.chain.v1 import v1_artifact
from ledger.chainservice import ADMIN_KEY_FILE, DEPLOYMENT_FILE, consortium_chain
from ledger.signing import SiteKey

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHAIN_ID = 4347


async def test_a_recorded_version_1_ledger_is_followed_by_a_version_2_ledger(
    tmp_path: Path,
) -> None:
    record = tmp_path / DEPLOYMENT_FILE
    async with consortium_chain(tmp_path, CHAIN_ID) as first:
        admin_key = SiteKey.from_hex((tmp_path / ADMIN_KEY_FILE).read_text().strip())
        async with await ChainClient.connect(
            first.url, CHAIN_ID, admin_key.secret_hex(), artifact=v1_artifact()
        ) as admin:
            deployed = await admin.deploy()
            v1 = admin.contract_address
        record.write_text(json.dumps({"contract": v1, "block": deployed.block_number}))

    async with consortium_chain(tmp_path, CHAIN_ID) as upgraded:
        assert upgraded.contract != v1
        async with await ChainClient.connect(
            upgraded.url, CHAIN_ID, admin_key.secret_hex(), contract_address=upgraded.contract
        ) as reader:
            assert reader.predecessor == v1
    assert json.loads(record.read_text())["predecessor"] == v1

    async with consortium_chain(tmp_path, CHAIN_ID) as again:  # later starts use it as it is
        assert again.contract == upgraded.contract
