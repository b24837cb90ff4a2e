"""The consortium as separate processes: `trustfloor demo` beside its chain node and two witnesses.

The demo (the site) starts `trustfloor chain serve` and the OEM's and the notary's `trustfloor
witness serve`, each a process of its own on a free port, and connects to the node by URL. It
serves live values to a node-opcua client over a secure session. A part the MES orders is
certified, and its bundle carries a checkpoint both witnesses cosigned and the chain anchored;
`trustfloor verify --witnesses FILE --quorum 2` passes it and fails it with one cosignature
missing or forged; a forked history shown to one witness is refused and kept as evidence. The
demo stops cleanly on SIGTERM (tests/e2e/test_demo.py stops one with SIGINT).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import ua

from config import load_demo_settings
from ledger import certificate_export, list_parts, site_log_of
from ledger.bundle import read_bundle
from ledger.transparency import AddCheckpoint, Checkpoint, Note
from models import CertificateStatus, ExitCode, ProofBundle
from opcua_server.cli.main import main
from tests.e2e.demo_kit import assert_live_values_over_a_secure_channel
from tests.integration.ledger.witness_kit import without_cosignature
from tests.support import (
    REPO,
    call_method,
    make_client_certificate,
    secure_client,
    text,
    wait_for,
    wait_until,
)

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(900)]

WITNESS_LINE = re.compile(r"demo: witness (\w+) (\S+) listens on (http://\S+)")
CERTIFIED_WITHIN_S = 600.0
PASSWORD = "demo-pass-123"
DESIGN = "spindle-bearing-housing"
"""A spare part of the demo site: its OEM registers the design and licenses the site."""


@dataclass(frozen=True)
class RunningDemo:
    data_dir: Path
    endpoint: str
    login: tuple[str, str]
    witness_keys: dict[str, str]
    witness_urls: dict[str, str]
    output: list[str]


async def read_until(
    stream: asyncio.StreamReader, pattern: str, seen: list[str], timeout_s: float = 180
) -> re.Match[str]:
    async with asyncio.timeout(timeout_s):
        while line := (await stream.readline()).decode():
            seen.append(line)
            if match := re.search(pattern, line):
                return match
    raise AssertionError("the demo exited early:\n" + "".join(seen))


async def drain(stream: asyncio.StreamReader, seen: list[str]) -> None:
    while line := await stream.readline():
        seen.append(line.decode())


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningDemo]:
    data_dir = tmp_path_factory.mktemp("consortium") / "var"
    env = os.environ | {"TRUSTFLOOR_DEMO_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "opcua_server.cli", "demo", "--port", "0"),
        *("--data-dir", str(data_dir)),
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen: list[str] = []
    drained: asyncio.Task[None] | None = None
    try:
        keys, urls = {}, {}
        for _ in range(2):
            label, key, url = (
                await read_until(process.stdout, WITNESS_LINE.pattern, seen)
            ).groups()
            keys[label], urls[label] = key, url
        endpoint = (await read_until(process.stdout, r"endpoint\s+(opc\.tcp://\S+)", seen))[1]
        login = await read_until(process.stdout, r"login\s+user '(\w+)', password '([^']+)'", seen)
        drained = asyncio.create_task(drain(process.stdout, seen))
        yield RunningDemo(data_dir, endpoint, (login[1], login[2]), keys, urls, seen)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            await process.wait()
        if drained is not None:
            await drained
    output = "".join(seen)
    assert process.returncode == 0, output
    assert "stopped cleanly" in output
    assert "Traceback" not in output


async def cosigned_bundle(demo: RunningDemo) -> ProofBundle | None:
    """A certified part's bundle once its checkpoint carries both witnesses' cosignatures."""
    settings = load_demo_settings(demo.data_dir, check_secrets=False)
    parts = await asyncio.to_thread(list_parts, settings)
    for part in parts:
        if part.certificate_status is CertificateStatus.ANCHORED:
            exported = await asyncio.to_thread(certificate_export, settings, part.serial)
            bundle = read_bundle(exported.output)
            note = bundle.certificate.checkpoint
            if note is not None and len(Note.parse(note).signatures) >= 3:
                return bundle
    return None


async def order_a_part(demo: RunningDemo, folder: Path) -> None:
    """What the MES does: CreatePrintOrder for one spare part over a secure session (so the
    part does not wait for the first machine's alert; tests/e2e/test_closed_loop.py follows an
    alert's order)."""
    cert = make_client_certificate(folder)
    async with await secure_client(demo.endpoint, cert, "mes", PASSWORD, timeout_s=30) as mes:
        quantity = ua.Variant(1, ua.VariantType.UInt32)
        await call_method(
            mes, "PrintOrders", "CreatePrintOrder", text(DESIGN), quantity, text("consortium e2e")
        )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def bundle(demo: RunningDemo, tmp_path_factory: pytest.TempPathFactory) -> ProofBundle:
    await order_a_part(demo, tmp_path_factory.mktemp("mes"))
    found = await wait_for(lambda: cosigned_bundle(demo), timeout_s=CERTIFIED_WITHIN_S, poll_s=2.0)
    assert found is not None
    return found


def verify(demo: RunningDemo, bundle: ProofBundle, folder: Path, *extra: str) -> int:
    """`trustfloor verify` of ``bundle`` pinning both witnesses with quorum 2 and the issuer
    (in a thread: the command runs its own event loop)."""
    path, witnesses, issuers = folder / "bundle.json", folder / "witnesses", folder / "issuers"
    path.write_text(bundle.model_dump_json())
    witnesses.write_text("".join(f"{n} {k}\n" for n, k in demo.witness_keys.items()))
    issuers.write_text(str(bundle.certificate.document["issuer"]) + "\n")
    argv = ["verify", str(path), "--data-dir", str(demo.data_dir), "--issuers", str(issuers)]
    argv += ["--witnesses", str(witnesses), "--quorum", "2", *extra]
    return main(argv)


@pytest.mark.interop
async def test_the_demo_serves_live_values_securely_to_node_opcua(
    demo: RunningDemo, tmp_path: Path
) -> None:
    assert demo.login == ("mes", PASSWORD)
    all_up = re.compile(r"devices up (\d+)/\1 ")
    await wait_until(lambda: any(map(all_up.search, demo.output)), timeout_s=60, poll_s=0.2)
    await assert_live_values_over_a_secure_channel(
        demo.endpoint, PASSWORD, demo.data_dir, tmp_path / "node-pki"
    )


async def test_a_certified_part_is_anchored_and_cosigned_by_both_witnesses(
    demo: RunningDemo, bundle: ProofBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    consortium = json.loads((demo.data_dir / "chain" / "consortium.json").read_text())
    assert consortium["url"].startswith("http://127.0.0.1:")
    assert not (demo.data_dir / "chain" / "anvil-state.json").exists(), "the site ran no node"
    assert (demo.data_dir / "consortium" / "anvil-state.json").exists()
    assert bundle.certificate.anchor is not None
    assert bundle.certificate.anchor.block_header is None  # anvil: no QBFT seals to carry
    signers = {s.name for s in Note.parse(bundle.certificate.checkpoint or "").signatures}
    assert {k.split("+")[0] for k in demo.witness_keys.values()} <= signers

    code = await asyncio.to_thread(verify, demo, bundle, tmp_path, "--offline")
    assert code == ExitCode.OK, capsys.readouterr().out
    code = await asyncio.to_thread(verify, demo, bundle, tmp_path)  # online: the node by URL
    output = capsys.readouterr().out
    assert code == ExitCode.OK, output
    assert "✓ certificate anchored" in output


@pytest.mark.parametrize("forged", [False, True], ids=["missing", "forged"])
async def test_verify_with_quorum_2_fails_with_one_cosignature_missing_or_forged(
    demo: RunningDemo,
    bundle: ProofBundle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    forged: bool,
) -> None:
    notary = demo.witness_keys["notary"]
    altered = without_cosignature(bundle, notary.split("+")[0], forge=forged)
    code = await asyncio.to_thread(verify, demo, altered, tmp_path, "--offline")
    output = capsys.readouterr().out
    assert code == ExitCode.INVALID, output
    assert "✗ certificate witnesses" in output
    name = notary.split("+")[0]
    assert ("does not verify" if forged else f"none from {name}") in output


def post(url: str, body: str) -> tuple[int, str]:
    request = urllib.request.Request(f"{url}/add-checkpoint", data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


async def test_a_forked_history_shown_to_one_witness_is_refused_and_kept_as_evidence(
    demo: RunningDemo, bundle: ProofBundle, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_demo_settings(demo.data_dir, check_secrets=False)
    signer = site_log_of(settings, os.environ).signer
    assert signer is not None
    origin = Checkpoint.parse(Note.parse(bundle.certificate.checkpoint or "").text).origin
    witness_dir = demo.data_dir / "witnesses" / "oem"
    for _ in range(3):  # the site may have had a newer checkpoint cosigned meanwhile: 409
        latest = json.loads((witness_dir / "witness.json").read_text())["latest"][origin]
        seen = Checkpoint.parse(Note.parse(latest).text)
        text = Checkpoint(seen.origin, seen.size, bytes(32)).text()  # that size, another tree
        fork = Note(text, (signer.sign(text),))
        request = AddCheckpoint(seen.size, (), fork, Checkpoint.parse(text))
        status, answer = await asyncio.to_thread(post, demo.witness_urls["oem"], request.render())
        if status != 409:
            break
    assert (status, answer) == (
        422,
        f"split view: two checkpoints of size {seen.size} with different roots\n",
    )
    assert main(["witness", "evidence", "--data-dir", str(witness_dir)]) == ExitCode.INVALID
    evidence = json.loads(capsys.readouterr().out)
    assert [item["presented"] for item in evidence] == [fork.render()]
