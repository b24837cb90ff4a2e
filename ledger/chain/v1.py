"""Version 1 of the ledger contract: its frozen artefact, read where old anchors live."""

# Version 1 (contracts/v1/TrustfloorLedger.sol) kept every anchored root in a mapping read by
# anchoredAt(root). Ledgers deployed since are version 2 and name the version 1 ledger they
# follow; the bundles anchored on it verify there, by the same reads as before.

from __future__ import annotations

from functools import cache
from importlib import resources

from ledger.contract import ContractArtifact
from ledger.errors import ArtifactError

V1_ARTIFACT_NAME = "contract_artifact_v1.json"
"""Package data file: the version 1 artefact as compiled and deployed, never rebuilt."""


@cache
def v1_artifact() -> ContractArtifact:
    """The version 1 ledger's artefact shipped inside the ``ledger`` package."""
    try:
        path = resources.files("ledger").joinpath(V1_ARTIFACT_NAME)
        with resources.as_file(path) as file:
            return ContractArtifact.load(file)
    except OSError as exc:
        raise ArtifactError(f"cannot read the version 1 contract artefact: {exc}") from exc


def is_v1(artifact: ContractArtifact) -> bool:
    """Whether ``artifact`` keeps each anchor in storage (version 1's ``anchoredAt``)."""
    return any(entry.get("name") == "anchoredAt" for entry in artifact.entries("function"))
