"""Typed, frozen settings of one trustfloor site, validated from TOML."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path, PurePath
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from config.alerting import AlertTuning
from config.archive import ArchiveSettings
from config.cmms import CmmsSettings
from config.parties import PartiesSettings
from config.password_hash import PASSWORD_HASH_FORMAT, password_hash_problem
from config.printers import PrinterLinkSettings
from config.transparency import LogKey, LogName, WitnessEndpoint, witness_problem
from config.web import WebSettings
from models import ConfigRecord, Identifier, Machine, OpcUaMachine, Printer, Revision
from models import SecurityPolicy as SecurityPolicy  # re-exported: clients share it


def _inside_data_dir(name: str) -> str:
    """A store's file or folder: a relative path that stays inside its folder."""
    parts = PurePath(name).parts
    if PurePath(name).is_absolute() or ".." in parts or not [p for p in parts if p != "."]:
        raise ValueError(
            "must be a relative path inside the data directory (no leading '/', no '..');"
            " to keep the data elsewhere, move the data directory itself (data_dir or --data-dir)"
        )
    return name


def _absolute_or_inside_data_dir(folder: Path) -> Path:
    """A folder the site shares with others may live anywhere, when the file says where."""
    if not folder.is_absolute() and ".." in folder.parts:
        raise ValueError(
            "must be an absolute path or a relative path inside the data directory (no '..')"
        )
    return folder


StoreName = Annotated[str, AfterValidator(_inside_data_dir)]
"""A file or folder of a store, relative to the data directory (or its queue/ folder)."""
SharedFolder = Annotated[Path, AfterValidator(_absolute_or_inside_data_dir)]
"""A folder relative to the data directory, or an absolute path chosen in the file."""


class Role(StrEnum):
    """Who a user is to trustfloor; methods and writable nodes check it."""

    MES = "mes"
    PLANNER = "planner"
    QUALITY_ENGINEER = "quality_engineer"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


class User(ConfigRecord):
    """An OPC UA user; the password is a hash in the file or plain text in an env variable."""

    name: Identifier
    role: Role
    password_hash: str | None = Field(
        None, description="output of `trustfloor hash-password` (scrypt); never a plain password"
    )
    password_env: str | None = Field(
        None, description="name of an environment variable holding the password"
    )
    certificate_file: Path | None = Field(
        None, description="X.509 user certificate (DER or PEM) that logs in as this user"
    )

    @field_validator("password_hash")
    @classmethod
    def _hash_in_the_hashers_format(cls, stored: str | None) -> str | None:
        problem = "" if stored is None else password_hash_problem(stored)
        if problem:
            raise ValueError(
                f"not a password hash ({problem}): put the output of `trustfloor hash-password`"
                f" here ({PASSWORD_HASH_FORMAT}), or the password in the environment variable"
                " that password_env names"
            )
        return stored

    @model_validator(mode="after")
    def _one_credential(self) -> User:
        given = [self.password_hash, self.password_env, self.certificate_file]
        if sum(item is not None for item in given) != 1:
            raise ValueError("give exactly one of password_hash, password_env or certificate_file")
        return self


class ServerSettings(ConfigRecord):
    """The northbound OPC UA server."""

    host: str = Field("127.0.0.1", description="address to bind; 0.0.0.0 serves every interface")
    port: int = Field(4840, ge=0, le=65535, description="0 picks a free port (tests)")
    path: str = Field("trustfloor", pattern=r"^[A-Za-z0-9_\-/]*$")
    application_uri: str = "urn:trustfloor:site"
    product_uri: str = "urn:trustfloor"
    server_name: str = "trustfloor"
    hostnames: tuple[str, ...] = Field(
        ("localhost",), description="DNS names and IPs for the certificate's subjectAltName"
    )
    security_policies: tuple[SecurityPolicy, ...] = (
        SecurityPolicy.BASIC256SHA256,
        SecurityPolicy.AES128_SHA256_RSAOAEP,
        SecurityPolicy.AES256_SHA256_RSAPSS,
    )
    allow_insecure: bool = Field(
        False, description="must be true for the None policy and anonymous access to be offered"
    )
    trust_unknown_clients: bool = Field(
        False,
        description="accept any client application certificate (demo/lab); otherwise only those "
        "in <data_dir>/pki/trusted/certs, and refused ones are copied to pki/rejected/certs",
    )
    users: tuple[User, ...] = ()
    max_sessions: int = Field(
        50, ge=1, le=10_000, description="open OPC UA sessions; one more gets BadTooManySessions"
    )
    metrics_host: str = Field("127.0.0.1", description="address of the Prometheus endpoint")
    metrics_port: int | None = Field(
        9464, ge=0, le=65535, description="Prometheus /metrics port; 0 picks one, unset disables"
    )
    audit_file: StoreName = Field("audit.log", description="JSON-lines audit log, under data_dir")
    max_items_per_folder: int = Field(
        200, ge=10, le=5000, description="orders/parts kept in the address space (newest)"
    )
    login_backoff_s: float = Field(
        1.0,
        ge=0,
        le=1,
        description="after a failed login, the next attempt for that user or from that address "
        "waits this long",
    )
    login_max_failures: int = Field(
        5, ge=1, le=1000, description="failed logins of one user within the window that lock it"
    )
    login_failure_window_s: float = Field(
        60.0, gt=0, le=86_400, description="failed logins older than this no longer count"
    )
    login_lockout_s: float = Field(
        300.0,
        gt=0,
        le=7 * 86_400,
        description="a locked user is refused, even with the right password, for this long",
    )
    history_max_values_per_node: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="raw history values per node in one HistoryRead answer; more come with a "
        "continuation point, also when the client asks for no limit",
    )
    history_max_values_per_request: int = Field(
        10_000,
        ge=1,
        le=10_000_000,
        description="raw history values in one HistoryRead answer, shared by its nodes",
    )

    @model_validator(mode="after")
    def _none_only_when_allowed(self) -> ServerSettings:
        if SecurityPolicy.NONE in self.security_policies and not self.allow_insecure:
            raise ValueError("security policy None needs allow_insecure = true")
        if not self.security_policies:
            raise ValueError("at least one security policy is needed")
        return self

    @property
    def endpoint(self) -> str:
        """The opc.tcp URL clients connect to."""
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"opc.tcp://{host}:{self.port}/{self.path}"


class InfluxSettings(ConfigRecord):
    """An InfluxDB v2 write endpoint fed through a disk spool under <data_dir>/queue/."""

    url: str = Field(pattern=r"^https?://", description="e.g. http://influx.plant7.example:8086")
    org: str = Field(min_length=1, description="organisation name or id")
    bucket: str = Field(min_length=1)
    token_env: str | None = Field(
        None, description="environment variable holding the API token (never the file)"
    )
    measurement: Identifier = "telemetry"
    batch_size: int = Field(5000, ge=1, le=100_000, description="readings per write request")
    flush_interval_s: float = Field(1.0, gt=0, le=300, description="a partial batch waits this")
    max_spool_mb: float = Field(
        1024.0, gt=0, description="undelivered data on disk; beyond it put() refuses readings"
    )
    spool_file: StoreName = Field("influx.sqlite", description="file name under <data_dir>/queue/")
    timeout_s: float = Field(10.0, gt=0, le=300, description="one write request")
    retry_initial_s: float = Field(0.5, gt=0, le=60, description="first wait after a failure")
    retry_max_s: float = Field(60.0, gt=0, le=3600, description="longest wait between retries")


class HistorianSettings(ConfigRecord):
    """The embedded SQLite historian (retention, rollups) and an optional InfluxDB sink."""

    sqlite_file: StoreName = Field("telemetry.sqlite", description="relative to the data directory")
    batch_size: int = Field(10_000, ge=1, le=100_000, description="readings per transaction")
    flush_interval_s: float = Field(0.5, gt=0, le=60)
    raw_retention_s: float = Field(
        7 * 86_400, gt=0, description="raw readings older than this are rolled up, then deleted"
    )
    rollup_interval_s: int = Field(
        60, ge=1, le=86_400, description="length of one aggregate interval; fixed per database"
    )
    aggregate_retention_s: float = Field(
        730 * 86_400, gt=0, description="interval aggregates older than this are deleted"
    )
    maintenance_interval_s: float = Field(
        300, gt=0, le=86_400, description="how often retention and rollup run"
    )
    influx: InfluxSettings | None = None
    sqlite_enabled: bool = Field(
        True,
        description="false: telemetry goes to historian.influx only (required then), and "
        "HistoryRead of values answers BadHistoryOperationUnsupported",
    )

    @model_validator(mode="after")
    def _somewhere_to_keep_telemetry(self) -> HistorianSettings:
        if not self.sqlite_enabled and self.influx is None:
            raise ValueError("historian.sqlite_enabled = false needs historian.influx")
        return self

    @model_validator(mode="after")
    def _retention_ordered(self) -> HistorianSettings:
        if self.rollup_interval_s > self.raw_retention_s:
            raise ValueError("rollup_interval_s must not exceed raw_retention_s")
        if self.aggregate_retention_s < self.raw_retention_s:
            raise ValueError("aggregate_retention_s must be at least raw_retention_s")
        return self


class SiteSettings(ConfigRecord):
    """What is on the floor."""

    name: str = "site"
    machines: tuple[Machine, ...] = ()
    opcua_machines: tuple[OpcUaMachine, ...] = Field((), description="machines read over OPC UA")
    printers: tuple[Printer, ...] = Field(
        (), description="OPC 40540 additive-manufacturing printers"
    )

    @model_validator(mode="after")
    def _asset_ids_unique_across_kinds(self) -> SiteSettings:
        """One id, one asset (Modbus machines repeating each other: the loader, with paths)."""
        ids = {machine.id for machine in self.machines}
        repeated: set[str] = set()
        for asset in (*self.opcua_machines, *self.printers):
            if asset.id in ids:
                repeated.add(asset.id)
            ids.add(asset.id)
        if repeated:
            raise ValueError(f"machine and printer ids must be unique: {sorted(repeated)}")
        return self


class SimulationSettings(ConfigRecord):
    """Simulated machines and printers: how fast simulated time runs and its random seed."""

    seed: int = Field(0, description="same seed, same component lives and failures")
    time_compression: float = Field(
        1.0, gt=0, le=10_000_000, description="simulated seconds per real second"
    )


class ChainSettings(ConfigRecord):
    """The PoA chain that anchors certificate batches, designs and licences."""

    url: str | None = Field(
        None,
        pattern=r"^(https?|wss?)://",
        description="JSON-RPC URL (http, https, ws, wss) of a consortium node (Besu QBFT/IBFT "
        "2.0 or any Ethereum JSON-RPC); none: trustfloor runs a local anvil with its state in "
        "<data_dir>/chain/, reached over a Unix socket there",
    )
    chain_id: int = Field(31337, ge=1, description="the node must serve this chain id")
    contract_address: str | None = Field(
        None,
        pattern=r"^0x[0-9a-fA-F]{40}$",
        description="the consortium's ledger contract; required with url (the local chain "
        "deploys its own and records it in <data_dir>/chain/deployment.json)",
    )
    key_env: str = Field(
        "TRUSTFLOOR_CHAIN_KEY",
        min_length=1,
        description="environment variable holding the site's secp256k1 key (hex); on the local "
        "chain, when unset, a key is generated in <data_dir>/chain/site.key",
    )
    confirmations: int = Field(1, ge=1, le=64, description="blocks on top before a tx counts")
    timeout_s: float = Field(60.0, gt=0, le=3600, description="longest wait for a transaction")
    validators: tuple[Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")], ...] = Field(
        (),
        max_length=1024,
        description="the consortium's QBFT validator addresses: `trustfloor verify` pins them "
        "unless --validators FILE is given (each anchor's block header must carry a quorum of "
        "their commit seals); empty: anchors are not checked against validators",
    )

    @model_validator(mode="after")
    def _contract_with_url(self) -> ChainSettings:
        if self.url is not None and self.contract_address is None:
            raise ValueError("chain.contract_address is required when chain.url is set")
        return self


class LedgerSettings(ConfigRecord):
    """Certificates, batches and designs kept by this site's ledger."""

    sqlite_file: StoreName = Field("ledger.sqlite", description="relative to the data directory")
    batch_max_size: int = Field(
        1000, ge=1, le=1_000_000, description="a batch is sealed when it holds this many leaves"
    )
    batch_max_age_s: float = Field(
        60.0, gt=0, le=86_400, description="or when its oldest leaf has waited this long"
    )
    designs_dir: SharedFolder = Field(
        Path("designs"),
        description="design folders as <designs_dir>/<id>/<revision>/; relative to data_dir "
        "unless absolute",
    )
    trusted_issuers: tuple[Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")], ...] = Field(
        (),
        description="issuer addresses this site trusts: `trustfloor verify` pins them (offline "
        "they are the trust anchor; online they narrow the contract's allow-list) unless "
        "--issuers FILE is given; the site's ledger trusts its own address besides them",
    )
    public_base_url: Annotated[str, Field(pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")] = Field(
        "",
        description="the site's public address (e.g. https://parts.example.com): certificates "
        "and credentials point to <url>/verify/<serial> and <url>/status/<purpose>; empty: "
        "urn: identifiers that nobody can look up",
    )
    log_name: LogName = Field(
        "", description="the site log's checkpoint origin; empty: trustfloor/<site.name>"
    )
    witnesses: tuple[WitnessEndpoint, ...] = Field((), description="witnesses of the site log")
    witness_quorum: int = Field(
        0, ge=0, le=64, description="cosignatures a bundle needs to verify (0: none required)"
    )
    log_keys: tuple[LogKey, ...] = Field(
        (),
        description="verifier keys of the site logs `trustfloor verify` trusts: a bundle's log "
        "key must be one of them (empty: the bundle's own is used); the site's ledger pins its "
        "own log key besides them",
    )
    accept_pre_log_bundles: bool = Field(
        False, description="with a witness quorum, still accept format 1 bundles (no checkpoint)"
    )

    @model_validator(mode="after")
    def _witness_quorum_fits(self) -> LedgerSettings:
        if (problem := witness_problem(self.witnesses, self.witness_quorum)) is not None:
            raise ValueError(problem)
        return self


class SparePart(ConfigRecord):
    """A catalogue entry: the design printed to replace a component, and how long that takes."""

    component: Identifier = Field(description="component name, as in site.machines.components")
    machine: Identifier | None = Field(
        None, description="only this machine's component; none: that component on every machine"
    )
    design_id: Identifier
    design_revision: Revision = Field("A", max_length=16, description="also a folder name")
    quantity: int = Field(1, ge=1, le=10_000, description="pieces ordered per alert")
    print_hours: float = Field(gt=0, le=10_000, description="printing and certifying one order")
    logistics_hours: float = Field(
        0.0, ge=0, le=10_000, description="shipping and fitting after printing"
    )
    fitting_hours: float | None = Field(
        None,
        gt=0,
        le=10_000,
        description="how long the machine is down while the part is fitted (none: unknown)",
    )

    @property
    def lead_time_h(self) -> float:
        """Hours from ordering to a fitted part: print time plus logistics."""
        return self.print_hours + self.logistics_hours


class WebhookSettings(ConfigRecord):
    """Where planner notifications are POSTed, signed with a secret from the environment."""

    url: str = Field(pattern=r"^https?://\S+$", description="receiver of the JSON POSTs")
    secret_env: str = Field(
        "TRUSTFLOOR_WEBHOOK_SECRET",
        min_length=1,
        description="environment variable holding the HMAC-SHA256 signing secret",
    )
    timeout_s: float = Field(10.0, gt=0, le=300, description="one POST")
    retry_initial_s: float = Field(5.0, gt=0, le=3600, description="first wait after a failure")
    retry_max_s: float = Field(3600.0, gt=0, le=86_400, description="longest wait between tries")
    spool_file: StoreName = Field(
        "notifications.sqlite", description="pending notifications, under <data_dir>/queue/"
    )


class MaintenanceSettings(ConfigRecord):
    """Scoring schedule, alert policy thresholds, the spare-part catalogue and notifications."""

    scoring_interval_s: float = Field(60.0, gt=0, le=86_400, description="every machine scored")
    warning_above: float = Field(
        2.0, gt=0, description="anomaly score (1.0 = edge of normal) that raises a warning"
    )
    alarm_above: float = Field(4.0, gt=0, description="anomaly score that makes it an alarm")
    clear_below: float = Field(
        1.0, ge=0, description="an alert clears once the score stays below this (hysteresis)"
    )
    min_duration_s: float = Field(
        600.0, ge=0, le=7 * 86_400, description="a condition must hold this long to raise or clear"
    )
    margin_h: float = Field(
        24.0, ge=0, le=10_000, description="order when RUL low ≤ lead time + this margin"
    )
    rul_hysteresis_h: float = Field(
        24.0, ge=0, le=10_000, description="to clear, RUL low must rise this far above order point"
    )
    warning_severity: int = Field(500, ge=1, le=1000, description="OPC UA severity of a warning")
    alarm_severity: int = Field(800, ge=1, le=1000, description="OPC UA severity of an alarm")
    orders_file: StoreName = Field("orders.sqlite", description="print orders, under data_dir")
    alerts_file: StoreName = Field(
        "alerts.sqlite", description="maintenance alerts, under data_dir"
    )
    models_dir: StoreName = Field(
        "models", description="trained models (model store), under data_dir"
    )
    scores_file: StoreName = Field(
        "health.sqlite", description="health score history, under data_dir"
    )
    baseline_samples: int = Field(
        120, ge=40, le=100_000, description="samples per machine a bootstrap anomaly model learns"
    )
    spare_parts: tuple[SparePart, ...] = Field((), description="the spare-part catalogue")
    webhook: WebhookSettings | None = Field(None, description="none: no webhook notifications")
    alerting: AlertTuning = Field(AlertTuning(), description="calibrated alerting")
    cmms: CmmsSettings = Field(CmmsSettings(), description="work requests and closures")
    cmms_webhook: WebhookSettings | None = Field(
        None, description="where work requests are POSTed; none: kept locally only"
    )

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> MaintenanceSettings:
        if not self.clear_below < self.warning_above <= self.alarm_above:
            raise ValueError("thresholds must satisfy clear_below < warning_above <= alarm_above")
        if self.warning_severity > self.alarm_severity:
            raise ValueError("warning_severity must not exceed alarm_severity")
        return self

    @model_validator(mode="after")
    def _one_part_per_component(self) -> MaintenanceSettings:
        keys = [(part.machine, part.component) for part in self.spare_parts]
        repeated = sorted({f"{m or '*'}/{c}" for m, c in keys if keys.count((m, c)) > 1})
        if repeated:
            raise ValueError(f"one spare part per machine and component: {repeated} repeat")
        return self


class Settings(ConfigRecord):
    """Everything one trustfloor process needs, as read from its TOML file."""

    data_dir: Path = Field(Path("var"), description="relative paths are relative to the file")
    server: ServerSettings = ServerSettings()
    historian: HistorianSettings = HistorianSettings()
    site: SiteSettings = SiteSettings()
    simulation: SimulationSettings = SimulationSettings()
    chain: ChainSettings = ChainSettings()
    ledger: LedgerSettings = LedgerSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()
    web: WebSettings = WebSettings()
    printer_links: PrinterLinkSettings = PrinterLinkSettings()
    parties: PartiesSettings = PartiesSettings()
    archive: ArchiveSettings = ArchiveSettings()
    queue_size: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        10_000, description="readings buffered between connectors and sinks before back-pressure"
    )
