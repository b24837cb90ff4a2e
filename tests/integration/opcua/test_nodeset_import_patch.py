"""The nodeset import's reverse-reference patch builds the very address space asyncua builds."""

from __future__ import annotations

import hashlib

import pytest
from asyncua import Server
from asyncua.common.xmlimporter import XmlImporter

from opcua_server.fastpath import imports
from opcua_server.model.companion import import_companion_nodesets

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def imported_address_space() -> tuple[int, str]:
    """Node count and a digest of every node's references, in order, after the import."""
    server = Server()
    await server.init()
    await import_companion_nodesets(server)
    nodes = server.iserver.aspace._nodes
    text = repr(
        sorted(
            (
                str(node_id),
                [(str(r.NodeId), str(r.ReferenceTypeId), r.IsForward) for r in data.references],
            )
            for node_id, data in nodes.items()
        )
    )
    return len(nodes), hashlib.sha256(text.encode()).hexdigest()


async def test_the_patched_import_equals_asyncuas(monkeypatch: pytest.MonkeyPatch) -> None:
    assert imports.PATCH.problem() is None
    monkeypatch.setattr(XmlImporter, "_add_missing_reverse_references", imports._original)
    asyncuas = await imported_address_space()
    monkeypatch.setattr(
        XmlImporter, "_add_missing_reverse_references", imports._add_missing_reverse_references
    )
    assert await imported_address_space() == asyncuas
