"""A part's Asset Administration Shell as an AASX package (Eclipse BaSyx SDK)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from basyx.aas import model
from basyx.aas.adapter import aasx

from ledger.exports.aas_elements import (
    collection,
    file,
    integer,
    localized,
    number,
    ordered_list,
    submodel,
    text,
)
from ledger.exports.fields import json_list, json_object
from ledger.links import PublicLinks
from models import ProofBundle

# Submodel templates (IDTA) and the ECLASS / IEC CDD concepts their elements carry.
NAMEPLATE = "https://admin-shell.io/idta/nameplate/3/0/Nameplate"
HANDOVER = "0173-1#01-AHF578#003"
HANDOVER_DOCUMENT = "0173-1#02-ABI500#003/0173-1#01-AHF579#003"
QUALITY = "https://admin-shell.io/idta/DigitalQualityDocuments/1/0"
PROCESS = "https://admin-shell.io/idta/ProcessParameters/1/0/Instance"
DPP = "https://admin-shell.io/idta/DigitalProductPassport/1/0/Metadata"
HEALTH = "urn:trustfloor:aas:MachineHealthAtBuild:1"

CERTIFICATE_CLASS = ("02-04", "Certificates, declarations")
"""VDI 2770 document class of every document the package hands over."""


@dataclass(frozen=True, slots=True)
class Operator:
    """The economic operator that printed the part, and where."""

    name: str
    facility: str


@dataclass(frozen=True, slots=True)
class HandedOverFile:
    """A document handed over with the part: its package path, media type and bytes."""

    name: str
    title: str
    content_type: str
    content: bytes


def part_aasx(
    bundle: ProofBundle,
    *,
    operator: Operator,
    links: PublicLinks,
    documents: Iterable[HandedOverFile],
    now: datetime,
) -> bytes:
    """The AASX package of the part certified by ``bundle``."""
    certificate = bundle.certificate.document
    serial = str(certificate["serial"])
    files = aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]
    handed_over = [_stored(files, d) for d in documents]
    submodels = [
        _nameplate(certificate, operator, links),
        _handover(serial, handed_over),
        _quality(bundle),
        _process(certificate),
        _health(certificate),
        _dpp(serial, certificate, operator, links, bundle, now),
    ]
    shell = model.AssetAdministrationShell(
        model.AssetInformation(
            asset_kind=model.AssetKind.INSTANCE, global_asset_id=links.verify_url(serial)
        ),
        f"urn:trustfloor:aas:part:{serial}",
        id_short=_id_short(f"Part_{serial}"),
        submodel={model.ModelReference.from_referable(s) for s in submodels},
    )
    store: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore(
        [shell, *submodels]
    )
    out = io.BytesIO()
    with aasx.AASXWriter(out) as writer:
        writer.write_aas(shell.id, store, files, write_json=True)
    return out.getvalue()


def _stored(files: aasx.DictSupplementaryFileContainer, document: HandedOverFile) -> HandedOverFile:
    name = files.add_file(
        f"/aasx/documents/{document.name}", io.BytesIO(document.content), document.content_type
    )
    return HandedOverFile(name, document.title, document.content_type, document.content)


def _id_short(text_value: str) -> str:
    """An idShort from free text: letters, digits and underscores, starting with a letter."""
    cleaned = "".join(c if c.isalnum() else "_" for c in text_value)
    return cleaned if cleaned[:1].isalpha() else f"X{cleaned}"


def _nameplate(
    certificate: Mapping[str, object], operator: Operator, links: PublicLinks
) -> model.Submodel:
    design = json_object(certificate["design"])
    evidence = json_object(certificate["evidence"])
    made = str(evidence["ended_at"])[:10]
    serial = str(certificate["serial"])
    return submodel(
        f"urn:trustfloor:aas:part:{serial}:nameplate",
        "Nameplate",
        NAMEPLATE,
        [
            text("URIOfTheProduct", links.verify_url(serial), "0112/2///61987#ABN590#002"),
            localized("ManufacturerName", operator.name, "0173-1#02-AAO677#002"),
            localized(
                "ManufacturerProductDesignation",
                f"{design['id']} revision {design['revision']}",
                "0173-1#02-AAW338#001",
            ),
            text("ProductArticleNumberOfManufacturer", str(design["id"]), "0173-1#02-AAO676#003"),
            text("SerialNumber", serial, "0173-1#02-AAM556#002"),
            text("YearOfConstruction", made[:4], "0173-1#02-AAP906#001"),
            text("DateOfManufacture", made, "0173-1#02-AAR972#002"),
        ],
    )


def _handover(serial: str, documents: list[HandedOverFile]) -> model.Submodel:
    entries = [
        collection(
            None,
            [
                text("DocumentId", f"{serial}/{d.name}"),
                text("ClassId", CERTIFICATE_CLASS[0]),
                localized("ClassName", CERTIFICATE_CLASS[1]),
                text("ClassificationSystem", "VDI2770:2020"),
                localized("Title", d.title),
                file("DigitalFile", d.name, d.content_type),
            ],
            HANDOVER_DOCUMENT,
        )
        for d in documents
    ]
    return submodel(
        f"urn:trustfloor:aas:part:{serial}:handover",
        "HandoverDocumentation",
        HANDOVER,
        [ordered_list("Documents", entries)],
    )


def _quality(bundle: ProofBundle) -> model.Submodel:
    record = bundle.certificate
    certificate = record.document
    serial = str(certificate["serial"])
    statement = (
        f"Part {serial} was printed from the registered dossier and its process data were "
        f"checked against the design's process window: {certificate['verdict']}."
    )
    signature = collection(
        "DocumentSignature",
        [
            text("Algorithm", "secp256k1 recoverable ECDSA over the RFC 6962 leaf hash"),
            text("Signer", str(certificate["issuer"])),
            text("LeafHash", record.leaf_hash),
            text("Signature", record.signature),
        ],
    )
    return submodel(
        f"urn:trustfloor:aas:part:{serial}:quality",
        "DigitalQualityDocuments",
        QUALITY,
        [
            localized("ConformityStatement", statement),
            text("Verdict", str(certificate["verdict"])),
            text("IssuedAt", str(certificate["issued_at"])),
            signature,
        ],
    )


def _process(certificate: Mapping[str, object]) -> model.Submodel:
    evidence = json_object(certificate["evidence"])
    layers = json_object(evidence["layers"])
    parameters = json_object(evidence["parameters"])
    serial = str(certificate["serial"])
    return submodel(
        f"urn:trustfloor:aas:part:{serial}:process",
        "ProcessParametersInstance",
        PROCESS,
        [
            text("RunId", str(certificate["job"])),
            text("Machine", str(certificate["printer"])),
            text("MaterialLot", str(certificate.get("material_lot", "unknown"))),
            text("Start", str(evidence["started_at"])),
            text("End", str(evidence["ended_at"])),
            integer("StagesPlanned", int(str(layers["planned"]))),
            integer("StagesDone", int(str(layers["done"]))),
            text("SamplesSha256", str(evidence["samples_sha256"])),
            ordered_list(
                "Parameters", [_parameter(n, json_object(v)) for n, v in parameters.items()]
            ),
            ordered_list("Errors", _excursions(parameters)),
            text("Verdict", str(evidence["verdict"])),
        ],
    )


def _parameter(name: str, stats: Mapping[str, object]) -> model.SubmodelElementCollection:
    return collection(
        None,
        [
            text("Name", name),
            number("Min", float(str(stats["min"]))),
            number("Max", float(str(stats["max"]))),
            number("Mean", float(str(stats["mean"]))),
            number("OutOfWindowSeconds", float(str(stats["out_of_window_s"]))),
        ],
    )


def _excursions(parameters: Mapping[str, object]) -> list[model.SubmodelElementCollection]:
    """Each excursion out of the process window as an error of the run."""
    errors = []
    for name, stats in parameters.items():
        for excursion in json_list(json_object(stats).get("excursions", [])):
            found = json_object(excursion)
            errors.append(
                collection(
                    None,
                    [
                        text("Parameter", name),
                        text("Start", str(found["start"])),
                        text("End", str(found["end"])),
                        number("Worst", float(str(found["worst"]))),
                    ],
                )
            )
    return errors


def _health(certificate: Mapping[str, object]) -> model.Submodel:
    """The printer's health at build time, as the certificate recorded it (if it did)."""
    serial = str(certificate["serial"])
    recorded = certificate.get("health_at_build", certificate.get("health"))
    elements: list[model.SubmodelElement] = [text("Recorded", "yes" if recorded else "no")]
    if recorded is not None:
        elements.append(text("AsRecorded", json.dumps(recorded, sort_keys=True)))
    return submodel(
        f"urn:trustfloor:aas:part:{serial}:health", "MachineHealthAtBuild", HEALTH, elements
    )


def _dpp(
    serial: str,
    certificate: Mapping[str, object],
    operator: Operator,
    links: PublicLinks,
    bundle: ProofBundle,
    now: datetime,
) -> model.Submodel:
    """The passport's metadata after IDTA 02099 / EN 18223: identifier, granularity, operator,
    facility, status and last update."""
    status = "revoked" if bundle.revocation.value == "revoked" else "active"
    return submodel(
        f"urn:trustfloor:aas:part:{serial}:dpp",
        "DigitalProductPassportMetadata",
        DPP,
        [
            text("UniqueProductIdentifier", links.verify_url(serial)),
            text("Granularity", "item"),
            text("EconomicOperatorId", operator.name),
            text("FacilityId", operator.facility),
            text("Status", status),
            text("LastUpdate", now.isoformat().replace("+00:00", "Z")),
            text("CertificateIssuer", str(certificate["issuer"])),
        ],
    )
