"""Namespace URIs the address space uses and the indices the server assigned them."""

from __future__ import annotations

from dataclasses import dataclass

from asyncua import Server

SITE = "urn:trustfloor:site"
DI = "http://opcfoundation.org/UA/DI/"
IA = "http://opcfoundation.org/UA/IA/"
MACHINERY = "http://opcfoundation.org/UA/Machinery/"
ISA95_JOB_CONTROL = "http://opcfoundation.org/UA/ISA95-JOBCONTROL_V2/"
AMB = "http://opcfoundation.org/UA/AMB/"
UNECE_UNITS = "http://www.opcfoundation.org/UA/units/un/cefact"
ADDITIVE_MANUFACTURING = "http://opcfoundation.org/UA/AdditiveManufacturing/"
MACHINE_TOOL = "http://opcfoundation.org/UA/MachineTool/"
"""OPC 40540 and the OPC 40501-1 model it builds on: no nodeset here, their names only."""


@dataclass(frozen=True, slots=True)
class Namespaces:
    """Indices of our namespace and of the companion specifications whose names we use."""

    site: int
    di: int
    machinery: int
    isa95: int
    additive: int
    machine_tool: int

    @classmethod
    async def register(cls, server: Server) -> Namespaces:
        """Indices of the URIs; those of imported nodesets keep the index the import gave them."""
        di = await server.register_namespace(DI)
        machinery = await server.register_namespace(MACHINERY)
        isa95 = await server.register_namespace(ISA95_JOB_CONTROL)
        site = await server.register_namespace(SITE)
        additive = await server.register_namespace(ADDITIVE_MANUFACTURING)
        machine_tool = await server.register_namespace(MACHINE_TOOL)
        return cls(
            site=site,
            di=di,
            machinery=machinery,
            isa95=isa95,
            additive=additive,
            machine_tool=machine_tool,
        )
