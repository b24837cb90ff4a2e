"""Simulated additive-manufacturing printer: a real, secured OPC UA server after OPC 40540."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from asyncua import Node, Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from config import COMPANION_NAMESPACES
from connectors.simulated.printer_model import (
    NOMINAL,
    NoJobPrintingError,
    Nominal,
    PrinterBusyError,
    PrinterError,
    PrinterModel,
    PrinterSnapshot,
    SimulatedExcursion,
    SimulatedJob,
    process_parameter,
)
from models import (
    PRINTER_NAMESPACE,
    Clock,
    MessageSecurityMode,
    Printer,
    PrinterJobState,
    ProcessParameter,
    SecurityPolicy,
)

log = logging.getLogger(__name__)

UNECE_UNITS = "http://www.opcfoundation.org/UA/units/un/cefact"
NAMESPACES = {**COMPANION_NAMESPACES, "sim": PRINTER_NAMESPACE}
"""Namespace aliases of the simulator's BrowseNames; ``sim`` is its own (simulator-only) one."""

MethodHandler = Callable[..., Awaitable[list[ua.Variant]]]

ACCEPTED = 0
"""ReturnStatus of an accepted call; any other value is a refusal with its reason."""
REFUSED_BUSY = 1
REFUSED_UNKNOWN_JOB = 2
REFUSED_NOT_READY = 3
REFUSED_BAD_ARGUMENT = 4

JOB_STATE_NAMES = {
    PrinterJobState.PRINTING: "Running",
    PrinterJobState.COMPLETED: "Ended",
    PrinterJobState.ABORTED: "Aborted",
}
"""ISA-95 job order state names (OPC 10031-4) the simulator shows; idle is Idle, or
AllowedToStart while a stored job waits."""

_RUN = "am:RunInfo"
_FEEDSTOCK = "am:Equipment/am:Feedstock"
JOB_CONTROL = "machinery:MachineryBuildingBlocks/jobs:JobManagement/jobs:JobOrderControl"
SIMULATION = "sim:Simulation"


@dataclass(frozen=True, slots=True)
class _Variable:
    path: str
    vtype: ua.VariantType
    initial: object
    array: bool = False


_VARIABLES: dict[str, _Variable] = {
    "state": _Variable(f"{_RUN}/am:JobState", ua.VariantType.String, "Idle"),
    "job_id": _Variable(f"{_RUN}/am:JobOrderID", ua.VariantType.String, ""),
    "design_id": _Variable(f"{_RUN}/am:DesignId", ua.VariantType.String, ""),
    "revision": _Variable(f"{_RUN}/am:DesignRevision", ua.VariantType.String, ""),
    "dossier_sha256": _Variable(f"{_RUN}/am:DossierHash", ua.VariantType.String, ""),
    "layers_planned": _Variable(f"{_RUN}/am:LayersPlanned", ua.VariantType.UInt32, 0),
    "current_layer": _Variable(f"{_RUN}/am:CurrentLayer", ua.VariantType.UInt32, 0),
    "remaining_time": _Variable(f"{_RUN}/am:RemainingTime", ua.VariantType.Double, 0.0),
    "jobs_completed": _Variable(f"{_RUN}/am:JobsCompleted", ua.VariantType.UInt32, 0),
    "reason": _Variable(f"{_RUN}/am:StopReason", ua.VariantType.String, ""),
    "material": _Variable(f"{_FEEDSTOCK}/am:Material", ua.VariantType.String, ""),
    "material_lot": _Variable(f"{_FEEDSTOCK}/am:LotIdentifier", ua.VariantType.String, ""),
    "alarms": _Variable("am:Notification/am:ActiveAlarms", ua.VariantType.String, [], True),
    **{
        p.value: _Variable(
            f"am:Monitoring/am:ProcessValues/am:{p.value}", ua.VariantType.Double, n.idle
        )
        for p, n in NOMINAL.items()
    },
}
"""The printer's variables by key, each at its browse path under ``Machines/<printer id>``."""

_POLICY_TYPES = {
    (policy, mode): getattr(ua.SecurityPolicyType, f"{policy.value}_{mode.value}")
    for policy in SecurityPolicy
    if policy is not SecurityPolicy.NONE
    for mode in (MessageSecurityMode.SIGN, MessageSecurityMode.SIGN_AND_ENCRYPT)
}


@dataclass(frozen=True, slots=True)
class StoredJob:
    """A job order the printer holds until it is started (ISA-95 Store)."""

    job_id: str
    design_id: str
    revision: str
    dossier_sha256: str
    layers: int


@dataclass(frozen=True, slots=True)
class Feedstock:
    """The powder loaded in the printer (OPC 40540 feedstock): material and lot identifier."""

    material: str
    lot: str


class _OneUser:
    """asyncua user manager: the endpoint's one user, by its password from the environment or
    by its X.509 certificate."""

    def __init__(self, username: str, password: str = "", certificate: bytes = b"") -> None:
        self._username = username
        self._password = password.encode()
        self._certificate = certificate

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if self._certificate:
            if certificate is None:
                return None
            # asyncua hands over the token's DER certificate once its signature verified
            presented = (
                certificate
                if isinstance(certificate, bytes)
                else certificate.public_bytes(serialization.Encoding.DER)
            )
            if not hmac.compare_digest(presented, self._certificate):
                return None
            return User(role=UserRole.User, name=self._username)
        if username != self._username or password is None:
            return None
        if not hmac.compare_digest(password.encode(), self._password):
            return None
        return User(role=UserRole.User, name=username)


def _values(
    snapshot: PrinterSnapshot, state: str, feedstock: Feedstock, alarms: tuple[str, ...]
) -> Iterator[tuple[str, object]]:
    yield "state", state
    yield "job_id", snapshot.job_id
    yield "design_id", snapshot.design_id
    yield "revision", snapshot.revision
    yield "dossier_sha256", snapshot.dossier_sha256
    yield "layers_planned", snapshot.layers_planned
    yield "current_layer", snapshot.current_layer
    yield "remaining_time", snapshot.remaining_s
    yield "jobs_completed", snapshot.jobs_completed
    yield "reason", snapshot.stop_reason
    yield "material", feedstock.material
    yield "material_lot", feedstock.lot
    yield "alarms", list(alarms)
    for parameter, value in snapshot.process.items():
        yield parameter.value, value


def _argument(name: str, vtype: ua.VariantType, description: str) -> ua.Argument:
    argument = ua.Argument()
    argument.Name = name
    argument.DataType = ua.NodeId(vtype.value)
    argument.ValueRank = -1
    argument.Description = ua.LocalizedText(description)
    return argument


_STRING, _UINT32, _UINT64, _DOUBLE = (
    ua.VariantType.String,
    ua.VariantType.UInt32,
    ua.VariantType.UInt64,
    ua.VariantType.Double,
)
_JOB_ORDER_ARGUMENTS = [
    _argument("JobOrderID", _STRING, "unique id of this job order"),
    _argument("DesignId", _STRING, "design (dossier) to print"),
    _argument("DesignRevision", _STRING, "revision of the design"),
    _argument("DossierHash", _STRING, "SHA-256 of the dossier's canonical content (hex)"),
    _argument("LayersPlanned", _UINT32, "layers of the build"),
]
_BY_JOB_ID = [_argument("JobOrderID", _STRING, "the job order")]
_RESULTS = [
    _argument("ReturnStatus", _UINT64, "0: accepted; otherwise refused (see Message)"),
    _argument("Message", _STRING, "why the printer refused, in its words"),
]


class SimulatedPrinter:
    """Serves a PrinterModel over OPC UA (asyncua) on 127.0.0.1, as its endpoint says.

    Address space after OPC 40001-1 and OPC 40540 (equivalent nodes with those namespaces'
    BrowseNames): ``Objects/Machines/<id>/`` with ``Identification`` (Manufacturer, Model,
    SerialNumber, AMTechnology), ``MachineryBuildingBlocks/JobManagement/JobOrderControl`` with
    the ISA-95 job order methods Store, Start, StoreAndStart, Abort and Clear (OPC 10031-4 §6.3,
    scalar arguments; outputs ReturnStatus and Message), ``RunInfo`` (JobState as ISA-95 state
    names, JobOrderID, DesignId, DesignRevision, DossierHash, LayersPlanned, CurrentLayer,
    RemainingTime, JobsCompleted, StopReason), ``Equipment/Feedstock`` (Material,
    LotIdentifier), ``Notification/ActiveAlarms`` and ``Monitoring/ProcessValues`` (LaserPower W,
    ChamberOxygen ppm, BuildPlateTemperature °C, LayerTime s, with EngineeringUnits); and the
    simulator-only ``Simulation/InjectExcursion``.

    With a security policy it serves only that policy and mode, and only its endpoint's user,
    whose password it reads from the environment variable the endpoint names (as the site's
    own server does); its application certificate lives in ``pki_dir``. Security None is for
    lab tests only.
    """

    def __init__(
        self,
        printer: Printer,
        clock: Clock,
        *,
        seed: int = 0,
        time_compression: float = 1.0,
        update_interval_s: float = 0.1,
        pki_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.printer = printer
        self.model = PrinterModel(printer.id, seed=seed, time_compression=time_compression)
        self.clock = clock
        self.feedstock = Feedstock("316L", f"P316L-{printer.serial_number or printer.id}-A")
        self.alarms: tuple[str, ...] = ()
        self.refusing = ""
        """When not empty, the printer refuses new jobs with this reason (door open, ...)."""
        self._stored: dict[str, StoredJob] = {}
        self._update_interval_s = update_interval_s
        self._pki_dir = pki_dir
        self._environ = os.environ if environ is None else environ
        self._server: Server | None = None
        self._nodes: dict[str, Node] = {}
        self._shown: dict[str, object] = {}
        self._updater: asyncio.Task[None] | None = None
        self.url = printer.opcua.url

    async def start(self) -> str:
        """Listen (port 0 picks a free one), keep values current, and return the endpoint URL."""
        if self._server is not None:
            raise PrinterError(f"simulated printer {self.printer.id} is already running")
        self._nodes.clear()
        self._shown.clear()
        self.url = self._with_port(self.url)
        server = Server(user_manager=self._user_manager())
        await server.init()
        server.set_server_name(f"trustfloor simulated printer {self.printer.id}")
        server.set_endpoint(self.url)
        await self._secure(server)
        await self._build(server)
        await server.start()
        self._server = server
        await self.update()
        self._updater = asyncio.create_task(
            self._keep_updating(), name=f"printer:{self.printer.id}"
        )
        log.info("simulated printer %s serving OPC UA on %s", self.printer.id, self.url)
        return self.url

    async def stop(self) -> None:
        """Stop serving; the job state stays in the model (a restart resumes it)."""
        if self._updater is not None:
            self._updater.cancel()
            await asyncio.gather(self._updater, return_exceptions=True)
            self._updater = None
        if self._server is not None:
            await self._server.stop()
            await _close_sessions(self._server)
            self._server = None

    @property
    def serving(self) -> bool:
        return self._server is not None

    def store(self, job: StoredJob) -> None:
        """Hold a job order until it is started (ISA-95 Store)."""
        self._refuse_if_not_ready()
        if job.layers < 1 or not job.job_id:
            raise PrinterError(
                f"a job needs an id and at least one layer (got {job.job_id!r}, {job.layers})",
                advice="pass a job id and a positive layer count",
            )
        self._stored[job.job_id] = job

    def start_stored(self, job_id: str) -> SimulatedJob:
        """Start the stored job ``job_id`` with the feedstock loaded (ISA-95 Start)."""
        self._refuse_if_not_ready()
        job = self._stored.get(job_id)
        if job is None:
            raise UnknownJobError(
                f"printer {self.printer.id} holds no job order {job_id!r}",
                advice="store the job order first",
            )
        started = self.model.start_job(
            job.job_id,
            job.design_id,
            job.layers,
            self.feedstock.lot,
            self.clock.now(),
            revision=job.revision,
            dossier_sha256=job.dossier_sha256,
        )
        del self._stored[job_id]
        self.alarms = ()
        return started

    def start_job(
        self, job_id: str, design_id: str, layers: int, material_lot: str = ""
    ) -> SimulatedJob:
        """Store and start a job at once (tests of the model drive it so)."""
        if material_lot:
            self.feedstock = Feedstock(self.feedstock.material, material_lot)
        self.store(StoredJob(job_id, design_id, "", "", layers))
        return self.start_stored(job_id)

    def abort(self, job_id: str | None = None, reason: str = "aborted on request") -> None:
        """Stop the printing job (``job_id`` when given must be it) for ``reason``."""
        now = self.clock.now()
        snapshot = self.model.snapshot(now)
        if job_id is not None and snapshot.job_id != job_id:
            raise UnknownJobError(
                f"printer {self.printer.id} is not printing job order {job_id!r}",
                advice="abort the job the printer shows",
            )
        self.model.abort(now, reason)

    def fault(self, reason: str) -> None:
        """The printer stops its build by itself (a recoater crash, say) and raises an alarm."""
        self.model.abort(self.clock.now(), reason)
        self.alarms = (*self.alarms, reason)

    def clear(self, job_id: str) -> None:
        """Drop a stored job order, or the ended job the printer shows (ISA-95 Clear)."""
        if self._stored.pop(job_id, None) is not None:
            return
        if self.model.snapshot(self.clock.now()).job_id != job_id:
            raise UnknownJobError(
                f"printer {self.printer.id} holds no job order {job_id!r}",
                advice="clear a job order the printer holds",
            )
        self.model.clear(self.clock.now())
        self.alarms = ()

    def inject_excursion(
        self, parameter: ProcessParameter | str, magnitude: float, duration_layers: int
    ) -> SimulatedExcursion:
        """Shift a process value for some layers so that downstream checks can reject the part."""
        return self.model.inject_excursion(
            process_parameter(parameter), magnitude, duration_layers, self.clock.now()
        )

    async def update(self) -> None:
        """Publish the model's values at the clock's current time (the loop calls it too)."""
        if self._server is None:
            return
        now = self.clock.now()
        snapshot = self.model.snapshot(now)
        for key, value in _values(
            snapshot, self._state_name(snapshot), self.feedstock, self.alarms
        ):
            if self._shown.get(key) != value:
                variant = ua.Variant(value, _VARIABLES[key].vtype)
                data = ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now)
                await self._server.write_attribute_value(self._nodes[key].nodeid, data)
                self._shown[key] = value

    def _state_name(self, snapshot: PrinterSnapshot) -> str:
        if snapshot.state is PrinterJobState.IDLE:
            return "AllowedToStart" if self._stored else "Idle"
        return JOB_STATE_NAMES[snapshot.state]

    def _refuse_if_not_ready(self) -> None:
        if self.refusing:
            raise NotReadyError(
                f"printer {self.printer.id} refuses jobs: {self.refusing}",
                advice="clear the printer's condition, then dispatch again",
            )

    async def _keep_updating(self) -> None:
        while True:
            await asyncio.sleep(self._update_interval_s)
            await self.update()

    def _with_port(self, url: str) -> str:
        """Port 0 in the URL: pick a free port now, so that endpoints carry the real one."""
        parsed = urlparse(url)
        if parsed.port not in (None, 0):
            return url
        host = parsed.hostname or "127.0.0.1"
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        return parsed._replace(netloc=f"{host}:{port}").geturl()

    def _user_manager(self) -> _OneUser | None:
        endpoint = self.printer.opcua
        if endpoint.user_certificate_file is not None:
            certificate = x509_certificate(endpoint.user_certificate_file)
            return _OneUser("certificate user", certificate=certificate)
        if endpoint.username is None or endpoint.password_env is None:
            return None
        password = self._environ.get(endpoint.password_env)
        if not password:
            raise PrinterError(
                f"simulated printer {self.printer.id}: environment variable "
                f"{endpoint.password_env} (its user's password) is not set",
                advice=f"export {endpoint.password_env} before starting",
            )
        return _OneUser(endpoint.username, password)

    async def _secure(self, server: Server) -> None:
        """The endpoint's policy and mode only, with its user; None only in a lab test."""
        endpoint = self.printer.opcua
        if endpoint.security_policy is SecurityPolicy.NONE:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            server.set_identity_tokens([ua.AnonymousIdentityToken])
            return
        if self._pki_dir is None:
            raise PrinterError(
                f"simulated printer {self.printer.id} serves {endpoint.security_policy} and "
                "has no folder for its certificate",
                advice="pass pki_dir (the site passes <data_dir>/pki/printers)",
            )
        uri = f"urn:trustfloor:sim:printer:{self.printer.id}"
        key, cert = (
            self._pki_dir / f"{self.printer.id}.pem",
            self._pki_dir / f"{self.printer.id}.der",
        )
        self._pki_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        await setup_self_signed_certificate(
            key,
            cert,
            uri,
            urlparse(self.url).hostname or "127.0.0.1",
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            {"commonName": f"trustfloor simulated printer {self.printer.id}"},
        )
        key.chmod(0o600)
        await server.set_application_uri(uri)
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        server.set_security_policy(
            [_POLICY_TYPES[(endpoint.security_policy, endpoint.security_mode)]]
        )
        certificate_user = endpoint.user_certificate_file is not None
        server.set_identity_tokens(
            [ua.X509IdentityToken if certificate_user else ua.UserNameIdentityToken]
        )

    async def _build(self, server: Server) -> None:
        indexes = {alias: await server.register_namespace(uri) for alias, uri in NAMESPACES.items()}
        sim = indexes["sim"]
        base = f"Machines/{self.printer.id}"
        machines = await server.nodes.objects.add_folder(
            ua.NodeId("Machines", sim), ua.QualifiedName("Machines", indexes["machinery"])
        )
        printer = await machines.add_object(
            ua.NodeId(base, sim), ua.QualifiedName(self.printer.id, sim)
        )
        tree = _Tree(printer, base, sim, indexes)
        await self._identification(tree)
        for key, variable in _VARIABLES.items():
            parent, name, node_id = await tree.place(variable.path)
            value = ua.Variant(variable.initial, variable.vtype, is_array=variable.array)
            self._nodes[key] = await parent.add_variable(node_id, name, value)
        for parameter, nominal in NOMINAL.items():
            await self._engineering_units(self._nodes[parameter.value], sim, parameter, nominal)
        await self._job_methods(tree)
        await self._simulation_methods(tree)

    async def _identification(self, tree: _Tree) -> None:
        """OPC 40001-1 §8.2 MachineIdentificationType (mandatory properties) + OPC 40540's
        AMTechnology (ISO/ASTM 52900 process category)."""
        properties = {
            "di:Manufacturer": self.printer.manufacturer,
            "di:Model": self.printer.model,
            "di:SerialNumber": self.printer.serial_number,
            "am:AMTechnology": "Powder bed fusion (PBF-LB/M)",
        }
        for path, value in properties.items():
            parent, name, node_id = await tree.place(f"di:Identification/{path}")
            await parent.add_property(node_id, name, value)

    async def _engineering_units(
        self, node: Node, ns: int, parameter: ProcessParameter, nominal: Nominal
    ) -> None:
        """The EngineeringUnits property of an AnalogItem (OPC 10000-8 §5.3.2.3, §5.6.3)."""
        info = ua.EUInformation()
        info.NamespaceUri = UNECE_UNITS
        info.UnitId = nominal.unit_id
        info.DisplayName = ua.LocalizedText(parameter.unit)
        info.Description = ua.LocalizedText(parameter.unit)
        await node.add_property(
            ua.NodeId(f"{node.nodeid.Identifier}/EngineeringUnits", ns),
            ua.QualifiedName("EngineeringUnits", 0),
            info,
        )

    async def _job_methods(self, tree: _Tree) -> None:
        """ISA-95 job order receiver methods (OPC 10031-4 §6.3), with scalar arguments."""

        def store(job: str, design: str, revision: str, dossier: str, layers: int) -> None:
            self.store(StoredJob(str(job), str(design), str(revision), str(dossier), int(layers)))

        def store_and_start(
            job: str, design: str, revision: str, dossier: str, layers: int
        ) -> None:
            store(job, design, revision, dossier, layers)
            self.start_stored(str(job))

        methods: dict[str, tuple[Callable[..., object], list[ua.Argument]]] = {
            "Store": (store, _JOB_ORDER_ARGUMENTS),
            "Start": (lambda job: self.start_stored(str(job)), _BY_JOB_ID),
            "StoreAndStart": (store_and_start, _JOB_ORDER_ARGUMENTS),
            "Abort": (
                lambda job: self.abort(str(job), "aborted by the job order client"),
                _BY_JOB_ID,
            ),
            "Clear": (lambda job: self.clear(str(job)), _BY_JOB_ID),
        }
        for name, (action, arguments) in methods.items():
            parent, browse_name, node_id = await tree.place(f"{JOB_CONTROL}/isa95:{name}")
            await parent.add_method(node_id, browse_name, self._method(action), arguments, _RESULTS)

    async def _simulation_methods(self, tree: _Tree) -> None:
        parent, name, node_id = await tree.place(f"{SIMULATION}/sim:InjectExcursion")
        await parent.add_method(
            node_id,
            name,
            self._method(
                lambda parameter, magnitude, layers: self.inject_excursion(
                    str(parameter), float(magnitude), int(layers)
                )
            ),
            [
                _argument("Parameter", _STRING, "LaserPower, ChamberOxygen, ... (a process value)"),
                _argument("Magnitude", _DOUBLE, "added to the value, in its engineering unit"),
                _argument("DurationLayers", _UINT32, "layers affected from the current one"),
            ],
            _RESULTS,
        )

    def _method(self, action: Callable[..., object]) -> MethodHandler:
        """An OPC UA method handler running ``action`` on the arguments' values.

        Outputs ReturnStatus (0 accepted; 1 busy, 2 unknown job order, 3 not ready, 4 bad
        arguments) and the printer's Message, as ISA-95 job order methods do (OPC 10031-4).
        """

        async def handle(_parent: ua.NodeId, *arguments: ua.Variant) -> list[ua.Variant]:
            status, message = ACCEPTED, ""
            try:
                action(*(argument.Value for argument in arguments))
            except PrinterError as error:
                status, message = _refusal_status(error), str(error)
                log.info("refused: %s", error)
            except (TypeError, ValueError) as error:
                status, message = REFUSED_BAD_ARGUMENT, f"bad arguments: {error}"
            await self.update()
            return [ua.Variant(status, _UINT64), ua.Variant(message, _STRING)]

        return handle


async def _close_sessions(server: Server) -> None:
    """A printer switched off keeps no session: asyncua keeps those with subscriptions open
    after their transport is gone (for session transfer, OPC 10000-4 §5.6.3), each with its
    own timer tasks, until they time out."""
    sessions = server.iserver._external_sessions  # asyncua's session registry
    for session in list(sessions.values()):
        await session.close_session()
    sessions.clear()


def x509_certificate(path: Path) -> bytes:
    """A certificate file (DER or PEM) as DER bytes."""
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return data


class UnknownJobError(PrinterError):
    """The printer holds no such job order."""


class NotReadyError(PrinterError):
    """The printer refuses new jobs for a condition of its own."""


def _refusal_status(error: PrinterError) -> int:
    if isinstance(error, PrinterBusyError):
        return REFUSED_BUSY
    if isinstance(error, UnknownJobError):
        return REFUSED_UNKNOWN_JOB
    if isinstance(error, NotReadyError):
        return REFUSED_NOT_READY
    if isinstance(error, NoJobPrintingError):
        return REFUSED_UNKNOWN_JOB
    return REFUSED_BAD_ARGUMENT


class _Tree:
    """Objects created along browse paths under the printer, once each."""

    def __init__(self, root: Node, base: str, sim: int, indexes: Mapping[str, int]) -> None:
        self._folders: dict[str, Node] = {"": root}
        self._base = base
        self._sim = sim
        self._indexes = indexes

    async def place(self, path: str) -> tuple[Node, ua.QualifiedName, ua.NodeId]:
        """The parent of ``path`` (created if needed), its last BrowseName and its NodeId."""
        parent_path, _, last = path.rpartition("/")
        parent = await self._folder(parent_path)
        return parent, self._name(last), self._node_id(path)

    async def _folder(self, path: str) -> Node:
        if path not in self._folders:
            parent_path, _, last = path.rpartition("/")
            parent = await self._folder(parent_path)
            self._folders[path] = await parent.add_object(self._node_id(path), self._name(last))
        return self._folders[path]

    def _name(self, segment: str) -> ua.QualifiedName:
        alias, _, name = segment.partition(":")
        return ua.QualifiedName(name, self._indexes[alias])

    def _node_id(self, path: str) -> ua.NodeId:
        plain = "/".join(segment.partition(":")[2] for segment in path.split("/"))
        return ua.NodeId(f"{self._base}/{plain}", self._sim)
