"""Trace and recall for partners: GS1 EPCIS 2.0 JSON-LD, a Catena-X style quality alert, CSV."""

# EPCIS 2.0 (GS1, JSON/JSON-LD binding, CBV 2.0 vocabulary): a part's build is a
# TransformationEvent from its material lot (a class-level quantity) to the part; its
# certificate an ObjectEvent (inspecting, conformant or non_conformant); a recall an
# ObjectEvent with disposition "recalled" over every affected part; each closure and each end
# of life an ObjectEvent of its own (returned, destroyed, inactive, conformant). Parts, lots,
# printers and campaigns are named by URNs of this site (urn:trustfloor:...), and the facts
# EPCIS has no field for are extensions under the "trustfloor" prefix the context declares.
#
# The quality alert follows the Catena-X notification shape (a header with the notification
# id, sender and recipient BPNs, classification QM-Alert, severity, status; a content with the
# information text and the affected items as urn:uuid ids derived from each part's URN).

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ledger.canonical import JsonObject, JsonValue
from ledger.documents import iso
from ledger.recall.campaign_store import (
    Campaign,
    CampaignPart,
    Closure,
    Disposition,
    LifeEvent,
    LifeRecord,
)
from ledger.recall.trace import TracedPart
from models import Verdict

EPCIS_CONTEXT: list[JsonValue] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"trustfloor": "urn:trustfloor:epcis:"},
]
"""The EPCIS 2.0 JSON-LD context, and this site's prefix for its extension fields."""

UTC_OFFSET = "+00:00"
"""Every time here is in UTC."""

CLOSURE_STEPS: Mapping[Closure, tuple[str, str]] = {
    Closure.RETURNED: ("receiving", "returned"),
    Closure.SCRAPPED: ("destroying", "destroyed"),
    Closure.REPLACED: ("replacing", "inactive"),
    Closure.INSPECTED_OK: ("inspecting", "conformant"),
}
"""The CBV business step and disposition of each way a recalled part's case ends."""

LIFE_STEPS: Mapping[LifeEvent, tuple[str, str]] = {
    LifeEvent.TAKEN_BACK: ("receiving", "returned"),
    LifeEvent.DISMANTLED: ("disassembling", "inactive"),
}
"""The CBV business step and disposition of a part's end of life."""

SEVERITY: Mapping[Disposition, str] = {
    Disposition.INSPECT: "MINOR",
    Disposition.QUARANTINE: "MAJOR",
    Disposition.RETURN: "MAJOR",
    Disposition.SCRAP: "CRITICAL",
}
"""A quality alert's severity from what holders are asked to do."""


def part_urn(serial: str) -> str:
    return f"urn:trustfloor:part:{serial}"


def lot_urn(lot: str) -> str:
    return f"urn:trustfloor:lot:{lot or 'unknown'}"


def catena_x_id(serial: str) -> str:
    """A part's Catena-X id: a name-based UUID (RFC 4122 §4.3) of its URN."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, part_urn(serial))}"


def epcis_document(events: Sequence[JsonObject], created_at: datetime) -> JsonObject:
    """An EPCIS 2.0 document holding ``events``."""
    return {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": iso(created_at),
        "epcisBody": {"eventList": list(events)},
    }


def _event(kind: str, at: datetime, **fields: JsonValue) -> JsonObject:
    return {"type": kind, "eventTime": iso(at), "eventTimeZoneOffset": UTC_OFFSET, **fields}


def build_event(part: TracedPart) -> JsonObject:
    """The part made from its lot on its printer (TransformationEvent, commissioning)."""
    job = part.job
    return _event(
        "TransformationEvent",
        job.started_at,
        inputQuantityList=[{"epcClass": lot_urn(job.material_lot)}],
        outputEPCList=[part_urn(job.serial)],
        transformationID=f"urn:trustfloor:job:{job.job_id}",
        bizStep="commissioning",
        disposition="active",
        readPoint={"id": f"urn:trustfloor:printer:{job.printer}"},
        **{
            "trustfloor:design": f"{job.design.id} rev {job.design.revision}",
            "trustfloor:dossierSha256": job.design.dossier_sha256,
            "trustfloor:order": job.order_id,
        },
    )


def certified_event(part: TracedPart) -> JsonObject | None:
    """The part's certificate as an inspection (ObjectEvent), None before it is issued."""
    if part.certified_at is None:
        return None
    disposition = "conformant" if part.verdict is Verdict.PASS else "non_conformant"
    return _event(
        "ObjectEvent",
        part.certified_at,
        epcList=[part_urn(part.serial)],
        action="OBSERVE",
        bizStep="inspecting",
        disposition=disposition,
        certificationInfo=f"urn:trustfloor:certificate:{part.certificate_leaf}",
        **{"trustfloor:certificateStatus": part.status.value},
    )


def trace_events(parts: Iterable[TracedPart]) -> list[JsonObject]:
    """Each part's build and certificate, in time order."""
    events: list[JsonObject] = []
    for part in parts:
        events.append(build_event(part))
        if (certified := certified_event(part)) is not None:
            events.append(certified)
    return sorted(events, key=lambda e: str(e["eventTime"]))


def recall_events(
    campaign: Campaign,
    closures: Sequence[CampaignPart],
    life: Sequence[LifeRecord] = (),
) -> list[JsonObject]:
    """The recall over its parts (ObjectEvent, recalled), then each closure and end of life."""
    recalled = _event(
        "ObjectEvent",
        campaign.opened_at,
        epcList=[part_urn(p.serial) for p in closures],
        action="OBSERVE",
        bizStep="holding",
        disposition="recalled",
        **{
            "trustfloor:campaign": campaign.id,
            "trustfloor:reason": campaign.reason,
            "trustfloor:requestedDisposition": campaign.disposition.value,
            "trustfloor:affectedSha256": campaign.affected_sha256,
        },
    )
    events = [recalled]
    for part in closures:
        if part.closure is not None and part.closed_at is not None:
            step, disposition = CLOSURE_STEPS[part.closure]
            events.append(
                _event(
                    "ObjectEvent",
                    part.closed_at,
                    epcList=[part_urn(part.serial)],
                    action="OBSERVE",
                    bizStep=step,
                    disposition=disposition,
                    **{"trustfloor:campaign": campaign.id, "trustfloor:closedBy": part.closed_by},
                )
            )
    for record in life:
        step, disposition = LIFE_STEPS[record.event]
        events.append(
            _event(
                "ObjectEvent",
                record.at,
                epcList=[part_urn(record.serial)],
                action="DELETE" if record.event is LifeEvent.DISMANTLED else "OBSERVE",
                bizStep=step,
                disposition=disposition,
                **{"trustfloor:by": record.by},
            )
        )
    return events


def quality_alert(
    campaign: Campaign,
    parts: Sequence[CampaignPart],
    *,
    sender_bpn: str,
    recipient_bpn: str,
    sent_at: datetime,
) -> JsonObject:
    """The recall as a Catena-X style quality alert (classification QM-Alert)."""
    notification_id = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:trustfloor:recall:{campaign.id}")
    return {
        "header": {
            "notificationId": f"urn:uuid:{notification_id}",
            "senderBPN": sender_bpn,
            "recipientBPN": recipient_bpn,
            "classification": "QM-Alert",
            "severity": SEVERITY[campaign.disposition],
            "status": "CLOSED" if campaign.closed_at is not None else "SENT",
            "createdBy": campaign.opened_by,
            "sentDateTime": iso(sent_at),
        },
        "content": {
            "information": (
                f"recall {campaign.id}: {campaign.reason}; please "
                f"{campaign.disposition.value} the affected parts "
                f"(affected list sha256 {campaign.affected_sha256})"
            ),
            "listOfAffectedItems": [catena_x_id(p.serial) for p in parts],
        },
    }


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """``rows`` as CSV (RFC 4180, CRLF line ends) with a header of ``columns``; a missing or
    None cell is empty."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


RECALL_COLUMNS = (
    "serial",
    "certificate",
    "closure",
    "closed_by",
    "closed_at",
    "note",
    "replacement_order",
)
