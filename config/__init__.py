"""Typed settings: TOML loader that reports every problem, the bundled demo site, JSON schema."""

from config.alerting import AlertTuning
from config.archive import ArchiveSettings
from config.checks import Problem
from config.cmms import CmmsSettings
from config.loader import (
    ConfigError,
    demo_config_text,
    json_schema,
    load_demo_settings,
    load_settings,
    parse_settings,
)
from config.parties import PartiesSettings
from config.password_hash import PASSWORD_HASH_FORMAT, PASSWORD_HASH_SCHEME
from config.printers import (
    COMPANION_NAMESPACES,
    COMPANION_PROFILE,
    ArgumentSource,
    ArgumentType,
    MethodArgument,
    NodeRef,
    PrinterLinkSettings,
    PrinterMapping,
    PrinterMethod,
    ProcessValue,
    companion_mapping,
)
from config.settings import (
    HistorianSettings,
    InfluxSettings,
    MaintenanceSettings,
    Role,
    SecurityPolicy,
    ServerSettings,
    Settings,
    SimulationSettings,
    SiteSettings,
    SparePart,
    User,
    WebhookSettings,
)
from config.transparency import WitnessEndpoint, log_origin
from config.web import WebSettings

__all__ = [
    "COMPANION_NAMESPACES",
    "COMPANION_PROFILE",
    "PASSWORD_HASH_FORMAT",
    "PASSWORD_HASH_SCHEME",
    "AlertTuning",
    "ArchiveSettings",
    "ArgumentSource",
    "ArgumentType",
    "CmmsSettings",
    "ConfigError",
    "HistorianSettings",
    "InfluxSettings",
    "MaintenanceSettings",
    "MethodArgument",
    "NodeRef",
    "PartiesSettings",
    "PrinterLinkSettings",
    "PrinterMapping",
    "PrinterMethod",
    "Problem",
    "ProcessValue",
    "Role",
    "SecurityPolicy",
    "ServerSettings",
    "Settings",
    "SimulationSettings",
    "SiteSettings",
    "SparePart",
    "User",
    "WebSettings",
    "WebhookSettings",
    "WitnessEndpoint",
    "companion_mapping",
    "demo_config_text",
    "json_schema",
    "load_demo_settings",
    "load_settings",
    "log_origin",
    "parse_settings",
]
