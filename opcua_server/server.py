"""The trustfloor OPC UA server: secure endpoints, users and roles, the site's address space."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from asyncua import Server, ua

from config import SecurityPolicy, Settings
from models import (
    AggregateHistorian,
    CertificateDesk,
    Design,
    Historian,
    OrderDesk,
    Part,
    PrintOrder,
    Reading,
    WorkRequestCloser,
)
from opcua_server.alarms import AlarmManager
from opcua_server.errors import ServerError
from opcua_server.fastpath import (
    ChannelRules,
    guard_channels,
    install_fast_path,
    quiet_startup,
    thaw,
)
from opcua_server.history.events import EventHistory, EventStore
from opcua_server.history.raw import HistoryLimits, SiteHistory
from opcua_server.methods.job_orders import JobOrderReceiver
from opcua_server.methods.maintenance import MaintenanceMethods, add_maintenance_object
from opcua_server.methods.table import MethodHost
from opcua_server.methods.trace import Tracer
from opcua_server.model.address_space import MachinesAddressSpace
from opcua_server.model.companion import import_companion_nodesets
from opcua_server.model.diagnostics import Diagnostics, SessionCounters
from opcua_server.model.namespaces import Namespaces
from opcua_server.model.persisted import PersistedValues
from opcua_server.model.production import PassportIssuer, ProductionAddressSpace
from opcua_server.security.audit import AuditLog
from opcua_server.security.login_guard import LoginPolicy
from opcua_server.security.pki import PkiPaths, TrustListValidator, ensure_application_certificate
from opcua_server.security.roles import (
    CURRENT_USER,
    METHOD_ROLES,
    RefusedError,
    SessionUserRuleset,
    WriteGuard,
    authorize,
    describe,
)
from opcua_server.security.users import ConfigUserManager

log = logging.getLogger(__name__)

_POLICY_TYPES: dict[SecurityPolicy, ua.SecurityPolicyType] = {
    SecurityPolicy.NONE: ua.SecurityPolicyType.NoSecurity,
    SecurityPolicy.BASIC256SHA256: ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    SecurityPolicy.AES128_SHA256_RSAOAEP: ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    SecurityPolicy.AES256_SHA256_RSAPSS: ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
}


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free on ``host`` now (used when the config asks for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class ServerPorts:
    """What the server's history and methods call into; each may be absent on a small site."""

    historian: Historian | None = None
    aggregates: AggregateHistorian | None = None
    orders: OrderDesk | None = None
    certificates: CertificateDesk | None = None
    announces_orders: bool = False
    """True when the order book tells the server of every change itself (no double events)."""
    tracer: Tracer | None = None
    work_requests: WorkRequestCloser | None = None
    """Where CloseWorkRequest closes a work request (the CMMS desk)."""


class TrustfloorServer:
    """Owns the asyncua server: `start` makes it reachable, `publish` feeds the Machines folder."""

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        ports: ServerPorts | None = None,
    ) -> None:
        self.settings = settings
        server_settings = settings.server
        if server_settings.port == 0:
            server_settings = server_settings.model_copy(
                update={"port": free_port(server_settings.host)}
            )
        self.server_settings = server_settings
        self.ports = ports or ServerPorts()
        data_dir = Path(settings.data_dir)
        self.pki = PkiPaths(data_dir / "pki")
        self.audit = AuditLog(data_dir / server_settings.audit_file)
        self.counters = SessionCounters()
        self._user_manager = ConfigUserManager(
            server_settings.users,
            environ,
            counters=self.counters,
            audit=self.audit,
            policy=LoginPolicy.from_settings(server_settings),
        )
        self._server = Server(user_manager=self._user_manager)
        install_fast_path(self._server)
        self.diagnostics = Diagnostics(self._server, self.counters)
        self.namespaces: Namespaces | None = None
        self.address_space: MachinesAddressSpace | None = None
        self.production: ProductionAddressSpace | None = None
        self.methods: MethodHost | None = None
        self.job_orders: JobOrderReceiver | None = None
        self.history: SiteHistory | None = None
        self.events = EventStore(data_dir / "events.sqlite")
        self.alarms: AlarmManager | None = None

    @property
    def endpoint(self) -> str:
        return self.server_settings.endpoint

    @property
    def users(self) -> ConfigUserManager:
        """The site's one user store: the web console signs in against it too."""
        return self._user_manager

    @property
    def ua_server(self) -> Server:
        """The asyncua server, for the composition root and tests."""
        return self._server

    async def start(self) -> None:
        """Create certificates if needed, build the address space and listen."""
        with quiet_startup():
            await self._configure()
            await self._build_address_space()
            self._guard_writes()
            try:
                await self._server.start()
            except OSError as error:
                cfg = self.server_settings
                raise ServerError(
                    f"cannot listen on {cfg.host}:{cfg.port}: {error}",
                    advice="choose another server.port or stop the process holding it",
                ) from error
            await self.diagnostics.enable()
            policies = ", ".join(p.value for p in self.server_settings.security_policies)
            log.info("OPC UA server listening on %s (policies: %s)", self.endpoint, policies)

    async def _configure(self) -> None:
        cfg = self.server_settings
        ensure_application_certificate(self.pki, cfg)
        await self._server.init()
        self._server.set_endpoint(f"opc.tcp://{cfg.host}:{cfg.port}/{cfg.path}")
        self._server.set_server_name(cfg.server_name)
        await self._server.set_application_uri(cfg.application_uri)
        self._server.product_uri = cfg.product_uri
        await self._server.load_certificate(self.pki.own_certificate)
        await self._server.load_private_key(self.pki.own_key)
        policies = [_POLICY_TYPES[p] for p in cfg.security_policies]
        self._server.set_security_policy(
            policies, permission_ruleset=SessionUserRuleset(self.audit)
        )
        self._server.set_identity_tokens(self._identity_tokens())
        guard_channels(self._server, self._channel_rules())
        validator = TrustListValidator(self.pki, trust_unknown=cfg.trust_unknown_clients)
        validator.on_reject = self._count_security_rejection
        self._server.set_certificate_validator(validator)

    def _identity_tokens(self) -> list[type]:
        cfg = self.server_settings
        tokens: list[type] = [ua.UserNameIdentityToken]
        if any(user.certificate_file is not None for user in cfg.users):
            tokens.append(ua.X509IdentityToken)
        if cfg.allow_insecure:
            tokens.append(ua.AnonymousIdentityToken)
        return tokens

    def _count_security_rejection(self) -> None:
        self.counters.security_rejected += 1

    def _channel_rules(self) -> ChannelRules:
        """None channels carry sessions only when a None endpoint is offered (which needs
        allow_insecure); at most max_sessions sessions are open."""
        cfg = self.server_settings
        return ChannelRules(
            sessions_without_security=SecurityPolicy.NONE in cfg.security_policies,
            max_sessions=cfg.max_sessions,
            on_refused=self._count_channel_refusal,
        )

    def _count_channel_refusal(self, status: int) -> None:
        if status == ua.StatusCodes.BadTooManySessions:
            log.warning(
                "refused a session: %d sessions are open", self.server_settings.max_sessions
            )
            self.counters.rejected += 1
            return
        log.warning("refused a channel or request: %s", ua.StatusCode(status).name)
        self.counters.security_rejected += 1

    async def _build_address_space(self) -> None:
        await import_companion_nodesets(self._server)
        self.namespaces = await Namespaces.register(self._server)
        persisted = PersistedValues(Path(self.settings.data_dir) / "written_values.json")
        self.address_space = MachinesAddressSpace(self._server, self.namespaces, persisted)
        site = self.settings.site
        await self.address_space.build([*site.machines, *site.opcua_machines], site.printers)
        self.production = ProductionAddressSpace(
            self._server,
            self.namespaces.site,
            max_items=self.server_settings.max_items_per_folder,
            on_printer=self.address_space.apply_printer,
            passport=PassportIssuer(
                economic_operator=self.settings.site.name,
                facility=self.settings.site.name,
                public_base_url=self.settings.ledger.public_base_url,
            ),
        )
        await self.production.build()
        self.alarms = AlarmManager(
            self._server,
            self.namespaces.site,
            self.events,
            authorize=self._authorize_condition_call,
        )
        await self.alarms.start()
        await add_maintenance_object(self._server, self.namespaces.site)
        self.methods = MethodHost(
            self._server,
            self.namespaces.site,
            self.audit,
            orders=self.ports.orders,
            certificates=self.ports.certificates,
            on_order=None if self.ports.announces_orders else self.show_order,
            tracer=self.ports.tracer,
            more=MaintenanceMethods(self.ports.work_requests).specs(),
        )
        await self.methods.build()
        self.job_orders = JobOrderReceiver(
            self._server,
            self.namespaces,
            self.audit,
            orders=self.ports.orders,
            on_order=None if self.ports.announces_orders else self.show_order,
            persisted=PersistedValues(Path(self.settings.data_dir) / "job_orders.json"),
        )
        await self.job_orders.build()
        self.history = SiteHistory(
            self._server.iserver,
            self.address_space.point_of,
            self.ports.historian,
            self.ports.aggregates,
            EventHistory(self.events, self._server),
            limits=HistoryLimits.from_settings(self.server_settings),
        )
        self._server.iserver.history_manager = self.history

    def _authorize_condition_call(self, action: str) -> None:
        """Role check for Acknowledge/Confirm; refusals and grants are both audited."""
        name, role = describe(CURRENT_USER.get())
        try:
            authorize(action, METHOD_ROLES[action])
        except RefusedError as refused:
            result = ua.StatusCode(refused.status).name
            self.audit.record(
                user=name, role=role, action="call", target=action, detail="", result=result
            )
            raise
        self.audit.record(
            user=name, role=role, action="call", target=action, detail="", result="authorized"
        )

    def _guard_writes(self) -> None:
        assert self.address_space is not None
        writable = {node: "AssetId" for node in self.address_space.asset_id_nodes}
        service = self._server.iserver.attribute_service
        service.write = WriteGuard(
            service.write, writable, self.audit, self.address_space.remember_write
        )

    async def publish(self, readings: Sequence[Reading]) -> None:
        """ReadingSink: apply readings to the Machines folder."""
        if self.address_space is not None:
            await self.address_space.publish(readings)

    async def put(self, readings: Sequence[Reading]) -> None:
        await self.publish(readings)

    async def show_order(self, order: PrintOrder) -> None:
        """An order changed: update its node and tell event subscribers."""
        if self.production is not None:
            await self.production.apply_order(order)
        if self.job_orders is not None:
            await self.job_orders.apply_order(order)
        if self.alarms is not None:
            message = (
                f"print order {order.id}: {order.quantity} x {order.design_id}, {order.state.value}"
            )
            await self.alarms.emit_order_event(order.id, order.state.value, message)

    async def show_part(self, part: Part) -> None:
        """A part was printed: its node, and a certificate event for subscribers."""
        if self.production is not None:
            await self.production.apply_part(part)
        if self.alarms is not None:
            message = f"part {part.serial} of {part.design_id}: verdict {part.verdict or 'pending'}"
            await self.alarms.emit_certificate_event(part.serial, part.certificate.value, message)

    async def show_design(self, design: Design) -> None:
        if self.production is not None:
            await self.production.apply_design(design)
        if self.job_orders is not None:
            await self.job_orders.apply_design(design)

    async def stop(self) -> None:
        await self._server.stop()
        thaw()
        await self.events.close()
