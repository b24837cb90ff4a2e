"""Recall records and criteria: the suspension and reinstatement leaves are frozen formats, and
a trace's criteria match the parts they name and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.canonical import (
    END_OF_LIFE_LEAF_TAG_V1,
    REINSTATEMENT_LEAF_TAG_V1,
    SUSPENSION_LEAF_TAG_V1,
    canonical_json,
    record_leaf,
)
from ledger.documents import (
    CampaignRef,
    end_of_life_document,
    kind_of,
    reinstatement_document,
    suspension_document,
)
from ledger.merkle import hash_leaf
from ledger.recall import TraceCriteria, TraceCriteriaError
from models import DesignRef, PrintJob, RecordKind
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, T0

CAMPAIGN = CampaignRef(
    id="RC-0001",
    affected_sha256="cd" * 32,
    affected=2,
    reason="powder lot contaminated",
    disposition="return",
    opened_by="qe-anna",
)

SUSPENSION_LEAF = "0f9df4b05b54f86e4a2f40b723f2a9624b99679671344a84d603bf645351c2af"
"""RFC 6962 leaf hash of the example suspension: frozen, as every anchored leaf is."""
REINSTATEMENT_LEAF = "4d6de911d3385675570128736c53681c5c602586100a303e817f268408358840"
END_OF_LIFE_LEAF = "3827adbf4d4ff15095f7e686325480819885f8d42661da6b8a34dd792a322fb5"


def job(serial: str = "P-1", printer: str = "am-1", lot: str = "L-1", hours: int = 0) -> PrintJob:
    return PrintJob(
        job_id=serial,
        serial=serial,
        design=DesignRef(id="pump-impeller", revision="C", dossier_sha256="ef" * 32),
        printer=printer,
        order_id="PO-1",
        material_lot=lot,
        layers_planned=10,
        started_at=T0 + timedelta(hours=hours),
    )


def test_a_suspension_leaf_is_pinned() -> None:
    document = suspension_document("P-1", "ab" * 32, CAMPAIGN, DEV_ADDRESS_0, T0)
    assert kind_of(document) is RecordKind.SUSPENSION
    leaf = record_leaf(SUSPENSION_LEAF_TAG_V1, document)
    assert leaf.startswith(b"trustfloor-suspension-v1\x00{")
    assert canonical_json(document).startswith(b'{"affected":2,"affected_sha256":"cdcd')
    assert hash_leaf(leaf).hex() == SUSPENSION_LEAF


def test_a_reinstatement_leaf_is_pinned() -> None:
    document = reinstatement_document(
        "P-1", "ab" * 32, "RC-0001", "CT scan clean", "qe-ben", DEV_ADDRESS_0, T0
    )
    assert kind_of(document) is RecordKind.REINSTATEMENT
    leaf = record_leaf(REINSTATEMENT_LEAF_TAG_V1, document)
    assert hash_leaf(leaf).hex() == REINSTATEMENT_LEAF


def test_an_end_of_life_leaf_is_pinned() -> None:
    document = end_of_life_document(
        "P-1", "ab" * 32, "dismantled", "tech-carl", "", DEV_ADDRESS_0, T0
    )
    assert kind_of(document) is RecordKind.END_OF_LIFE
    assert "note" not in document
    leaf = record_leaf(END_OF_LIFE_LEAF_TAG_V1, document)
    assert hash_leaf(leaf).hex() == END_OF_LIFE_LEAF


def test_criteria_match_every_named_fact_and_the_build_window() -> None:
    by_lot_on_a_printer = TraceCriteria(lot="L-1", printer="am-1")
    assert by_lot_on_a_printer.matches(job())
    assert not by_lot_on_a_printer.matches(job(lot="L-2"))
    assert not by_lot_on_a_printer.matches(job(printer="am-2"))
    window = TraceCriteria(
        printer="am-1", start=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2)
    )
    assert [h for h in range(4) if window.matches(job(hours=h))] == [1]
    assert TraceCriteria(dossier="EF" * 32).matches(job())
    assert not TraceCriteria(design="pump-impeller", revision="D").matches(job())


@pytest.mark.parametrize(
    ("named", "complaint"),
    [
        ({}, "no criterion"),
        ({"revision": "C"}, "--revision needs --design"),
        ({"lot": "L-1", "start": T0, "until": T0}, "is empty"),
        ({"lot": "L-1", "start": T0.replace(tzinfo=None)}, "no time zone"),
    ],
)
def test_criteria_that_name_nothing_or_cannot_hold_are_refused(
    named: dict[str, object], complaint: str
) -> None:
    with pytest.raises(TraceCriteriaError, match=complaint):
        TraceCriteria(**named)  # type: ignore[arg-type]
