"""The site log on anvil, cosigned by two `trustfloor witness serve` processes: quorum verification,
a missing or forged cosignature, a forked log refused by a witness and found across bundles."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from config import Settings
from ledger.bundle import bundle_json
from ledger.logchecks import WitnessPolicy, split_views
from ledger.logverify import verify_bundle_files, witness_policy
from ledger.merkle import consistency_proof, hash_leaf, root_hash
from ledger.transparency import AddCheckpoint, Checkpoint, Note, Signer, Verifier
from ledger.witnessing import KnownWitness, SiteLog
from models import ExitCode, ProofBundle, VerificationReport
from opcua_server.cli.main import main
from tests.integration.ledger.ledger_chainkit import Ledger, Site, make_site, site_key
from tests.integration.ledger.witness_kit import post, running_witness, without_cosignature
from tests.support import free_port
from tests.unit.ledger.ledgerkit import write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")

ORIGIN = "trustfloor/plant-7"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
OTHER_LOG = Signer.from_seed("trustfloor/plant-8", bytes(range(1, 33)))
"""A second site's log: the witnesses keep one history per origin."""
NAMES = {"oem": "oem.example/witness", "notary": "notary.example/witness"}


@dataclass(frozen=True)
class Witnesses:
    """The two witness processes: per label, its URL, key and data directory."""

    urls: dict[str, str]
    keys: dict[str, Verifier]
    dirs: dict[str, Path]

    def known(self) -> tuple[KnownWitness, ...]:
        return tuple(KnownWitness(n, self.keys[n], self.urls[n]) for n in NAMES)

    def policy(self, quorum: int = 2) -> WitnessPolicy:
        return WitnessPolicy(tuple(self.keys.values()), quorum)


@pytest.fixture(scope="module")
def witnesses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Witnesses]:
    folder = tmp_path_factory.mktemp("witnesses")
    urls, keys, dirs = {}, {}, {}
    with ExitStack() as stack:
        for label, name in NAMES.items():
            dirs[label] = folder / label
            logs = [LOG.verifier().vkey(), OTHER_LOG.verifier().vkey()]
            running = running_witness(dirs[label], name, logs)
            urls[label], keys[label] = stack.enter_context(running)
        yield Witnesses(urls, keys, dirs)


@pytest_asyncio.fixture(loop_scope="session")
async def site(
    ledger: Ledger, witnesses: Witnesses, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Site]:
    """A licensed printing site whose log (LOG unless the test names another) has the two
    witnesses and one that never answers."""
    signer: Signer = getattr(request, "param", LOG)
    await ledger.admin.add_oem(ledger.oem.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    released = write_design(tmp_path / "released")
    oem = make_site(tmp_path / "oem", ledger.oem, role="oem")
    await oem.service.register_design(released, licensee=ledger.issuer.address, quota=10)
    oem.store.close()
    down = KnownWitness("down", Signer.from_seed("down/w", b"d" * 32, 4).verifier(), "")
    down = KnownWitness(down.name, down.verifier, f"http://127.0.0.1:{free_port()}")
    log = SiteLog(signer, (*witnesses.known(), down), quorum=2)
    printing = make_site(tmp_path / "site", ledger.issuer, log=log)
    printing.install(released)
    yield printing
    printing.store.close()


def failed(report: VerificationReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if not c.passed}


async def test_checkpoints_are_cosigned_anchored_and_verified_with_a_quorum(
    site: Site, witnesses: Witnesses, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await site.print_part("P-0001")
    await site.print_part("P-0002")
    first = await site.anchor_now()
    assert len(first.anchored) == 1
    assert first.anchored[0].size == 2
    assert sorted(first.cosigned) == ["notary cosigned size 2", "oem cosigned size 2"]
    assert first.failures == []
    assert [f.split(":")[0] for f in first.witness_failures] == ["witness down"]
    await site.print_part("P-0003")
    second = await site.anchor_now()
    assert second.anchored[0].size == 3  # the log grew: the chain anchors the new checkpoint
    assert sorted(second.cosigned) == ["notary cosigned size 3", "oem cosigned size 3"]
    assert main(["witness", "log", "--data-dir", str(tmp_path / "site")]) == ExitCode.OK
    shown = json.loads(capsys.readouterr().out)
    both = ["notary", "oem"]  # "down" never answered
    assert [(c["size"], c["cosigned_by"]) for c in shown] == [(2, both), (3, both)]

    bundle = await site.service.bundle("P-0001")
    assert bundle.format == "trustfloor.bundle/2"
    assert bundle.log_key == LOG.verifier().vkey()
    offline = await site.service.verify(bundle, online=False)
    assert offline.valid, failed(offline)
    signed = next(c for c in offline.checks if c.name == "certificate checkpoint")
    assert signed.detail.endswith("pinned by the site's own log key and ledger.log_keys")
    online = await site.service.verify(bundle)
    assert online.valid, failed(online)
    witnessed = next(c for c in online.checks if c.name == "certificate witnesses")
    assert witnessed.detail.startswith(f"cosigned by {NAMES['oem']}, {NAMES['notary']}")

    missing = await site.service.verify(without_cosignature(bundle, NAMES["notary"]), online=False)
    assert failed(missing) == {
        "certificate witnesses": "1 of the 2 witness cosignatures required; none from "
        f"{NAMES['notary']}, down/w"
    }
    forged = await site.service.verify(
        without_cosignature(bundle, NAMES["oem"], forge=True), online=False
    )
    assert failed(forged)["certificate witnesses"].startswith(
        f"the cosignature of witness {NAMES['oem']} does not verify"
    )

    files = write(
        tmp_path, {"good": bundle, "forged": without_cosignature(bundle, NAMES["oem"], forge=True)}
    )
    keys = tmp_path / "witnesses.txt"
    keys.write_text("".join(f"{n} {witnesses.keys[n].vkey()}\n" for n in NAMES) + "# pinned\n")
    settings = Settings(data_dir=tmp_path / "verifier")
    policy = witness_policy(settings, keys, None)
    assert policy.quorum == 2
    issuers = tmp_path / "issuers.txt"
    issuers.write_text(site_key("issuer").address + "\n")
    verdicts = [
        await verify_bundle_files(
            [files[name]], settings, offline=True, issuers=issuers, witnesses=policy
        )
        for name in ("good", "forged")
    ]
    assert [v.exit_code for v in verdicts] == [ExitCode.OK, ExitCode.INVALID]


def write(folder: Path, bundles: dict[str, ProofBundle]) -> dict[str, Path]:
    paths = {}
    for name, bundle in bundles.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(bundle_json(bundle))
    return paths


@pytest.mark.parametrize("site", [OTHER_LOG], indirect=True)
async def test_a_forked_log_is_refused_by_a_witness_and_found_across_bundles(
    site: Site, witnesses: Witnesses, tmp_path: Path
) -> None:
    await site.print_part("P-0101")
    await site.print_part("P-0102")
    await site.anchor_now()
    bundle = await site.service.bundle("P-0101")
    assert bundle.certificate.checkpoint is not None
    honest = Checkpoint.parse(Note.parse(bundle.certificate.checkpoint).text)
    hashes = site.store.log_hashes()
    forked = [*hashes[:-1], hash_leaf(b"\x00a certificate the site shows someone else")]
    text = Checkpoint(OTHER_LOG.name, honest.size, root_hash(forked)).text()
    fork_note = Note(text, (OTHER_LOG.sign(text),))
    request = AddCheckpoint(honest.size, (), fork_note, Checkpoint.parse(text))
    status, answer = post(witnesses.urls["notary"], request.render().encode())
    assert (status, answer) == (
        422,
        f"split view: two checkpoints of size {honest.size} with different roots\n",
    )
    stale = AddCheckpoint(1, tuple(consistency_proof(forked, 1)), fork_note, request.checkpoint)
    assert post(witnesses.urls["oem"], stale.render().encode()) == (409, f"{honest.size}\n")
    assert main(["witness", "evidence", "--data-dir", str(witnesses.dirs["notary"])]) == 3

    shown = bundle.model_copy(
        update={
            "certificate": bundle.certificate.model_copy(update={"checkpoint": fork_note.render()})
        }
    )
    (fork,) = split_views([bundle, shown])
    assert (fork.origin, fork.size) == (OTHER_LOG.name, honest.size)
    assert fork.second == fork_note.render()
    files = write(tmp_path, {"honest": bundle, "shown": shown})
    result = await verify_bundle_files(
        [files["honest"], files["shown"]],
        Settings(data_dir=tmp_path / "verifier"),
        offline=True,
        trust_any_issuer=True,
        witnesses=witnesses.policy(),
    )
    assert result.exit_code == ExitCode.INVALID
    assert (
        f"SPLIT VIEW: the log {OTHER_LOG.name} signed two different trees of size" in result.output
    )
    assert fork_note.render() in result.output
    assert json.loads(bundle_json(shown))["certificate"]["checkpoint"] == fork_note.render()
