"""The speed patches by name, in install order, and `install_fast_path` that applies them."""

from __future__ import annotations

from collections.abc import Iterable

from asyncua import Server

from opcua_server.fastpath import (
    bulk,
    copies,
    encoding,
    imports,
    login,
    nodeset_code,
    oftype,
    reads,
    references,
    sharing,
    subscriptions,
    variants,
)
from opcua_server.fastpath.patching import Patch, install_patch, installed

PATCHES: dict[str, Patch] = {
    patch.name: patch
    for patch in (
        copies.PATCH,
        variants.PATCH,
        subscriptions.PATCH,
        encoding.PATCH,
        reads.PATCH,
        login.PATCH,
        bulk.PATCH,
        imports.PATCH,
        sharing.PATCH,
        references.PATCH,
        nodeset_code.PATCH,
        oftype.PATCH,
    )
}
"""Every patch `install_fast_path` applies, by name, in the order they are installed."""


def install_fast_path(server: Server, names: Iterable[str] | None = None) -> list[str]:
    """Install the named patches (default: all) for ``server``; returns every one now active.

    Idempotent. A patch whose asyncua targets differ from those it was written for is refused
    with a warning, and the server runs on asyncua's own code for that part.
    """
    for name in PATCHES if names is None else names:
        install_patch(PATCHES[name])
    encoding.encode_for(server.iserver)
    subscriptions.sample_for(server.iserver.aspace)
    return installed()
