"""How trustfloor finds a printer's nodes and methods over OPC UA: per-printer node mappings."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from models import NODE_ID_PATTERN, ConfigRecord, Identifier, PrinterJobState, ProcessParameter

COMPANION_PROFILE = "companion"
"""Name of the built-in profile: the OPC 40540 / OPC 10031-4 names the simulated printer serves."""

_SEGMENT = r"([A-Za-z][A-Za-z0-9_-]*:)?[^/:]+"
BROWSE_PATH_PATTERN = rf"^{_SEGMENT}(/{_SEGMENT})*$"
"""``alias:Name/alias:Name/...``: BrowseNames from the printer's root; an alias names a
namespace URI of the mapping's ``namespaces`` table, no alias matches the name in any namespace."""

BrowsePath = Annotated[str, Field(pattern=BROWSE_PATH_PATTERN, max_length=1000)]


class ArgumentSource(StrEnum):
    """What a method argument carries, taken from the job trustfloor dispatches."""

    JOB_ID = "job_id"
    SERIAL = "serial"
    DESIGN_ID = "design_id"
    REVISION = "revision"
    DOSSIER_SHA256 = "dossier_sha256"
    LAYERS_PLANNED = "layers_planned"
    MATERIAL_LOT = "material_lot"
    ORDER_ID = "order_id"


class ArgumentType(StrEnum):
    """OPC UA built-in types a method argument may be sent as (OPC 10000-6 §5.1.2)."""

    STRING = "String"
    BOOLEAN = "Boolean"
    INT16 = "Int16"
    UINT16 = "UInt16"
    INT32 = "Int32"
    UINT32 = "UInt32"
    INT64 = "Int64"
    UINT64 = "UInt64"
    FLOAT = "Float"
    DOUBLE = "Double"


class NodeRef(ConfigRecord):
    """Where a value lives on the printer: a browse path from its root, or a node id."""

    path: BrowsePath | None = Field(None, description="alias:Name/alias:Name from the root")
    node_id: str | None = Field(
        None, pattern=NODE_ID_PATTERN, description="nsu=<namespace uri>;s=... (or ns=N;...)"
    )

    @model_validator(mode="after")
    def _one_way(self) -> NodeRef:
        if (self.path is None) == (self.node_id is None):
            raise ValueError("give exactly one of path or node_id")
        return self

    @property
    def text(self) -> str:
        """How the mapping names it (for messages)."""
        return self.path if self.path is not None else f"node {self.node_id}"


class MethodArgument(ConfigRecord):
    """One input argument of a job method: its source and OPC UA type, in call order."""

    source: ArgumentSource
    type: ArgumentType = ArgumentType.STRING


class PrinterMethod(NodeRef):
    """A job control method: where it is, its arguments, and which result means accepted.

    The object it is called on is the parent of ``path`` (or ``object_node_id``). With
    ``result_index`` the call is accepted when that output is one of ``accepted``; without it,
    a Good status code is acceptance. ``message_index`` names the output with the printer's
    reason for a refusal.
    """

    object_node_id: str | None = Field(
        None, pattern=NODE_ID_PATTERN, description="the object to call on, with node_id"
    )
    arguments: tuple[MethodArgument, ...] = ()
    result_index: int | None = Field(0, ge=0, description="output saying accepted or refused")
    accepted: tuple[int | str, ...] = Field((0,), description="result values meaning accepted")
    message_index: int | None = Field(1, ge=0, description="output with the printer's reason")

    @model_validator(mode="after")
    def _object_with_node_id(self) -> PrinterMethod:
        if self.node_id is not None and self.object_node_id is None:
            raise ValueError("a method given by node_id needs object_node_id")
        return self


class ProcessValue(NodeRef):
    """A process value of the printer: the parameter it is, and how to convert it."""

    parameter: ProcessParameter
    scale: float = Field(1.0, description="engineering value = raw × scale + offset")
    offset: float = 0.0


class PrinterMethods(ConfigRecord):
    """The job order methods (ISA-95 job order receiver, OPC 10031-4 §6.3). Optional: None."""

    store: PrinterMethod
    start: PrinterMethod
    abort: PrinterMethod
    store_and_start: PrinterMethod | None = None
    clear: PrinterMethod | None = None


class PrinterMapping(ConfigRecord):
    """One printer model's address space as trustfloor uses it.

    ``root`` is the browse path from Objects to the printer (``{printer}`` stands for the
    printer's id); every other ``path`` starts there. ``states`` turns the printer's own job
    state values into trustfloor's job states; a value not in it reads as Idle.
    """

    namespaces: dict[str, str] = Field(
        default_factory=dict, description="alias → namespace URI used in paths"
    )
    root: BrowsePath = Field(description="from Objects to the printer; {printer} = its id")
    state: NodeRef
    job_id: NodeRef
    current_layer: NodeRef
    layers_planned: NodeRef
    material_lot: NodeRef
    dossier_sha256: NodeRef | None = None
    design_id: NodeRef | None = None
    material: NodeRef | None = None
    alarms: NodeRef | None = None
    reason: NodeRef | None = Field(None, description="why the last job stopped or was refused")
    states: dict[str, PrinterJobState] = Field(
        description="the printer's job state values (as text) → Idle, Printing, Completed, Aborted"
    )
    process_values: tuple[ProcessValue, ...] = Field(min_length=1)
    methods: PrinterMethods
    sampling_interval_ms: float = Field(100.0, ge=0, le=60_000)

    @model_validator(mode="after")
    def _aliases_known(self) -> PrinterMapping:
        unknown = sorted(
            alias
            for path in self.paths()
            for alias in _aliases(path)
            if alias not in self.namespaces
        )
        if unknown:
            raise ValueError(f"paths use namespace aliases not in namespaces: {unknown}")
        return self

    @model_validator(mode="after")
    def _parameters_once(self) -> PrinterMapping:
        names = [value.parameter for value in self.process_values]
        if len(set(names)) != len(names):
            raise ValueError("each process parameter is mapped once")
        return self

    def nodes(self) -> dict[str, NodeRef]:
        """Every mapped variable by its key (process values by parameter name)."""
        named = {
            key: getattr(self, key)
            for key in (
                "state",
                "job_id",
                "current_layer",
                "layers_planned",
                "material_lot",
                "dossier_sha256",
                "design_id",
                "material",
                "alarms",
                "reason",
            )
        }
        nodes = {key: ref for key, ref in named.items() if ref is not None}
        nodes.update({value.parameter.value: value for value in self.process_values})
        return nodes

    def method_refs(self) -> dict[str, PrinterMethod]:
        """Every mapped method by its key (store, start, ...)."""
        methods = self.methods
        named = {
            "store": methods.store,
            "start": methods.start,
            "abort": methods.abort,
            "store_and_start": methods.store_and_start,
            "clear": methods.clear,
        }
        return {key: ref for key, ref in named.items() if ref is not None}

    def paths(self) -> list[str]:
        refs: list[NodeRef] = [*self.nodes().values(), *self.method_refs().values()]
        return [self.root, *(ref.path for ref in refs if ref.path is not None)]


def _aliases(path: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(?:^|/)([A-Za-z][A-Za-z0-9_-]*):", path)]


class PrinterLinkSettings(ConfigRecord):
    """Mappings of the site's printers: named profiles, and which printer uses which."""

    profiles: dict[Identifier, PrinterMapping] = Field(
        default_factory=dict,
        description=f"mapping profiles by name; {COMPANION_PROFILE!r} is built in",
    )
    use: dict[Identifier, Identifier] = Field(
        default_factory=dict,
        description=f"printer id → profile name (default {COMPANION_PROFILE!r})",
    )

    @model_validator(mode="after")
    def _profiles_exist(self) -> PrinterLinkSettings:
        known = {COMPANION_PROFILE, *self.profiles}
        missing = sorted(f"{p} → {name}" for p, name in self.use.items() if name not in known)
        if missing:
            raise ValueError(f"printers use profiles that are not defined: {missing}")
        return self

    def mapping_of(self, printer_id: str) -> PrinterMapping:
        """The mapping printer ``printer_id`` is driven by."""
        name = self.use.get(printer_id, COMPANION_PROFILE)
        return self.profiles.get(name) or companion_mapping()


# The companion-spec names (OPC 40540 Additive Manufacturing, OPC 40001-1 Machinery,
# OPC 10000-100 DI, OPC 10031-4 ISA-95 job control) the simulated printer serves.
COMPANION_NAMESPACES = {
    "di": "http://opcfoundation.org/UA/DI/",
    "machinery": "http://opcfoundation.org/UA/Machinery/",
    "jobs": "http://opcfoundation.org/UA/Machinery/Jobs/",
    "isa95": "http://opcfoundation.org/UA/ISA95-JOBCONTROL_V2/",
    "am": "http://opcfoundation.org/UA/AdditiveManufacturing/",
}
_JOB_CONTROL = "machinery:MachineryBuildingBlocks/jobs:JobManagement/jobs:JobOrderControl"
_RUN = "am:RunInfo"
_STORE_ARGUMENTS = (
    MethodArgument(source=ArgumentSource.JOB_ID),
    MethodArgument(source=ArgumentSource.DESIGN_ID),
    MethodArgument(source=ArgumentSource.REVISION),
    MethodArgument(source=ArgumentSource.DOSSIER_SHA256),
    MethodArgument(source=ArgumentSource.LAYERS_PLANNED, type=ArgumentType.UINT32),
)
_BY_JOB_ID = (MethodArgument(source=ArgumentSource.JOB_ID),)


def companion_mapping() -> PrinterMapping:
    """The built-in profile: OPC 40540 run info, feedstock and process values, ISA-95 methods."""

    def at(path: str) -> NodeRef:
        return NodeRef(path=path)

    def method(name: str, arguments: tuple[MethodArgument, ...]) -> PrinterMethod:
        return PrinterMethod(path=f"{_JOB_CONTROL}/isa95:{name}", arguments=arguments)

    return PrinterMapping(
        namespaces=COMPANION_NAMESPACES,
        root="machinery:Machines/{printer}",
        state=at(f"{_RUN}/am:JobState"),
        job_id=at(f"{_RUN}/am:JobOrderID"),
        current_layer=at(f"{_RUN}/am:CurrentLayer"),
        layers_planned=at(f"{_RUN}/am:LayersPlanned"),
        dossier_sha256=at(f"{_RUN}/am:DossierHash"),
        design_id=at(f"{_RUN}/am:DesignId"),
        reason=at(f"{_RUN}/am:StopReason"),
        material=at("am:Equipment/am:Feedstock/am:Material"),
        material_lot=at("am:Equipment/am:Feedstock/am:LotIdentifier"),
        alarms=at("am:Notification/am:ActiveAlarms"),
        states={
            "Idle": PrinterJobState.IDLE,
            "AllowedToStart": PrinterJobState.IDLE,
            "Running": PrinterJobState.PRINTING,
            "Ended": PrinterJobState.COMPLETED,
            "Aborted": PrinterJobState.ABORTED,
        },
        process_values=tuple(
            ProcessValue(path=f"am:Monitoring/am:ProcessValues/am:{p.value}", parameter=p)
            for p in ProcessParameter
        ),
        methods=PrinterMethods(
            store=method("Store", _STORE_ARGUMENTS),
            start=method("Start", _BY_JOB_ID),
            abort=method("Abort", _BY_JOB_ID),
            store_and_start=method("StoreAndStart", _STORE_ARGUMENTS),
            clear=method("Clear", _BY_JOB_ID),
        ),
    )
