"""Namespace URIs the address space uses and the indices the server assigned them."""

from __future__ import annotations

from dataclasses import dataclass

from asyncua import Server

SITE = "urn:trustfloor:site"
DI = "http://opcfoundation.org/UA/DI/"
MACHINERY = "http://opcfoundation.org/UA/Machinery/"
UNECE_UNITS = "http://www.opcfoundation.org/UA/units/un/cefact"


@dataclass(frozen=True, slots=True)
class Namespaces:
    """Indices of our namespace and of the companion specifications whose names we use."""

    site: int
    di: int
    machinery: int

    @classmethod
    async def register(cls, server: Server) -> Namespaces:
        """Register the URIs (DI before Machinery, as their nodesets order them)."""
        di = await server.register_namespace(DI)
        machinery = await server.register_namespace(MACHINERY)
        site = await server.register_namespace(SITE)
        return cls(site=site, di=di, machinery=machinery)
