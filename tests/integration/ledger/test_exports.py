"""Certificate exports (AASX, VC, EN 10204, status list) of a part printed on a real local chain,
checked by independent tools: aas-test-engines and BaSyx for AASX, joserfc for the JWS."""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import base58
import coincurve
import pytest
from aas_test_engines import file as aas_checks
from basyx.aas import model
from basyx.aas.adapter import aasx
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey

from config.settings import Settings
from ledger import ExportFormat, export_certificate, status_list
from ledger.commands import open_ledger
from models import ManualClock, Sample
from opcua_server.cli.main import main
from tests.integration.ledger.ledger_chainkit import NO_ENV, licensed_site, print_part
from tests.unit.ledger.ledgerkit import T0, good_samples

pytestmark = pytest.mark.asyncio(loop_scope="session")

SERIALS = ("P-1", "P-2", "P-3", "P-4")


@pytest.fixture(scope="module")
async def printed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A site on its local chain with four anchored parts: P-2 revoked, P-3 held by a recall,
    P-4 failed (its laser power left the window)."""
    folder = tmp_path_factory.mktemp("exports")
    settings = await licensed_site(folder, quota=len(SERIALS))
    settings = settings.model_copy(
        update={
            "ledger": settings.ledger.model_copy(
                update={"public_base_url": "https://parts.example.com"}
            )
        }
    )
    for serial in SERIALS[:3]:
        await print_part(settings, serial)
    await print_part(settings, "P-4", samples=excursion_samples())
    async with open_ledger(settings, NO_ENV, ManualClock(T0)) as ledger:
        await ledger.revoke("P-2", "cracked in inspection", "quality")
    recall = ["recall", "create", "--serial", "P-3", "--reason", "porosity", "--by", "quality"]
    assert await asyncio.to_thread(main, [*recall, "--config", str(site_config(settings))]) == 0
    return settings


def excursion_samples() -> list[Sample]:
    """A job's samples with the laser power far out of its window for ten seconds."""
    return [
        Sample(p.parameter, p.ts, 150.0) if p.parameter == "laser_power_w" and i < 40 else p
        for i, p in enumerate(good_samples(T0, 20))
    ]


def site_config(settings: Settings) -> Path:
    """A config file for the CLI naming the fixture's site."""
    config = settings.data_dir / "site.toml"
    config.write_text(
        f'data_dir = "{settings.data_dir}"\n[chain]\nchain_id = {settings.chain.chain_id}\n'
        f'[ledger]\npublic_base_url = "{settings.ledger.public_base_url}"\n'
    )
    return config


def jwk_of_did_key(did: str) -> ECKey:
    """Resolve a secp256k1 did:key with base58 and coincurve only (not the product's code)."""
    raw = base58.b58decode(did.removeprefix("did:key:z"))
    assert raw[:2] == b"\xe7\x01"
    point = coincurve.PublicKey(raw[2:]).format(compressed=False)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ECKey.import_key(
        {"kty": "EC", "crv": "secp256k1", "x": b64(point[1:33]), "y": b64(point[33:])}
    )


def decoded(token: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and credential of a compact JWS, verified by joserfc under the issuer's did:key."""
    text = token.decode().strip()
    payload = json.loads(base64.urlsafe_b64decode(text.split(".")[1] + "=="))
    verified = jws.deserialize_compact(
        text, jwk_of_did_key(payload["issuer"]), algorithms=["ES256K"]
    )
    return verified.headers(), json.loads(verified.payload)


async def test_vc_verifies_with_an_independent_jose_library(printed: Settings) -> None:
    header, credential = decoded(
        export_certificate(printed, "P-1", ExportFormat.VC, environ=NO_ENV)
    )
    assert header["alg"] == "ES256K"
    assert header["typ"] == "vc+jwt"
    assert header["kid"] == f"{credential['issuer']}#{str(credential['issuer'])[8:]}"
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert "VerifiableCredential" in credential["type"]
    subject = credential["credentialSubject"]
    assert isinstance(subject, dict)
    assert subject["id"] == "https://parts.example.com/verify/P-1"
    assert subject["certificate"]["serial"] == "P-1"
    assert subject["certificate"]["verify_url"] == "https://parts.example.com/verify/P-1"
    evidence = credential["evidence"][0]
    assert evidence["anchor"]["tx_hash"].startswith("0x")
    assert evidence["inclusionProof"]["root"] == evidence["anchor"]["root"]


async def test_a_tampered_vc_fails_the_independent_check(printed: Settings) -> None:
    token = export_certificate(printed, "P-1", ExportFormat.VC, environ=NO_ENV).decode().strip()
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["credentialSubject"]["certificate"]["verdict"] = "fail"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        decoded(f"{head}.{forged}.{signature}".encode())


def credential_standing(vc: bytes, lists: dict[str, dict[str, Any]]) -> str:
    """What a relying party concludes from a credential and the status lists it names:
    ``valid``, ``revoked`` or ``suspended`` (the VC and each list verified with joserfc)."""
    _, credential = decoded(vc)
    for entry in credential["credentialStatus"]:
        listed = lists[entry["statusPurpose"]]
        assert entry["statusListCredential"] == listed["id"]
        subject = listed["credentialSubject"]
        assert subject["statusPurpose"] == entry["statusPurpose"]
        bits = gzip.decompress(base64.urlsafe_b64decode(subject["encodedList"][1:] + "=="))
        assert len(bits) * 8 >= 131_072
        index = int(entry["statusListIndex"])
        if bits[index // 8] & (0x80 >> (index % 8)):
            return "revoked" if entry["statusPurpose"] == "revocation" else "suspended"
    return "valid"


async def test_each_credential_reads_valid_revoked_or_suspended_from_its_status_lists(
    printed: Settings,
) -> None:
    lists = {
        purpose: decoded(status_list(printed, purpose, environ=NO_ENV))[1]
        for purpose in ("revocation", "suspension")
    }
    standings = [
        credential_standing(
            export_certificate(printed, serial, ExportFormat.VC, environ=NO_ENV), lists
        )
        for serial in SERIALS
    ]
    assert standings == ["valid", "revoked", "suspended", "valid"]


@pytest.mark.parametrize("serial", SERIALS)
async def test_every_aasx_passes_the_official_test_engine_and_reads_back(
    printed: Settings, serial: str
) -> None:
    package = export_certificate(printed, serial, ExportFormat.AASX, environ=NO_ENV)
    result = aas_checks.check_aasx_data(zipfile.ZipFile(io.BytesIO(package)))
    assert result.ok()
    objects: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore()
    files = aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]
    with aasx.AASXReader(io.BytesIO(package)) as reader:
        reader.read_into(objects, files)
    submodels = {o.id_short: o for o in objects if isinstance(o, model.Submodel)}
    assert set(submodels) >= {
        "Nameplate",
        "HandoverDocumentation",
        "DigitalQualityDocuments",
        "ProcessParametersInstance",
        "DigitalProductPassportMetadata",
    }
    number = submodels["Nameplate"].get_referable("SerialNumber")
    assert isinstance(number, model.Property)
    assert number.value == serial
    assert set(files) == {
        "/aasx/documents/certificate.json",
        "/aasx/documents/proof-bundle.json",
        "/aasx/documents/report.html",
    }
    errors = submodels["ProcessParametersInstance"].get_referable("Errors")
    assert isinstance(errors, model.SubmodelElementList)
    assert (len(errors.value) > 0) == (serial == "P-4")


async def test_en10204_states_compliance_only_for_a_passing_part(printed: Settings) -> None:
    document = json.loads(export_certificate(printed, "P-1", ExportFormat.EN10204))
    assert document["document_type"] == "EN 10204:2004 3.1"
    assert document["product"]["serial"] == "P-1"
    assert document["product"]["identification_link"] == "https://parts.example.com/verify/P-1"
    assert document["validation"]["compliant"] is True
    assert document["validation"]["statement_of_compliance"].startswith("We confirm")
    failed = json.loads(export_certificate(printed, "P-4", ExportFormat.EN10204))
    assert failed["validation"]["compliant"] is False
    assert failed["validation"]["statement_of_compliance"].startswith("The product does NOT")
    assert failed["tests"]["process"]["result"] == "fail"


async def test_cli_writes_an_export_to_a_file_and_names_an_unknown_part(
    printed: Settings, tmp_path: Path
) -> None:
    config = str(site_config(printed))
    out = tmp_path / "part.aasx"
    export = ["certificate", "export", "P-1", "--config", config, "--format", "aasx"]
    assert main([*export, "--out", str(out)]) == 0
    assert zipfile.is_zipfile(out)
    assert main(["certificate", "export", "P-404", "--config", config, "--format", "vc"]) == 1


async def test_report_prints_the_identification_link_as_qr_code_and_the_31_statement(
    printed: Settings,
) -> None:
    from ledger.report import part_report_html

    html = part_report_html(printed, "P-1", T0)
    assert '<section id="identification"' in html
    assert "<svg" in html
    assert "QR code: https://parts.example.com/verify/P-1" in html
    assert "EN 10204:2004 inspection certificate 3.1" in html
    assert "We confirm that the product supplied complies" in html
