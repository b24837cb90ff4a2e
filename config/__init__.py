"""Typed settings: TOML loader that reports every problem, the bundled demo site, JSON schema."""

from config.checks import Problem
from config.loader import (
    ConfigError,
    demo_config_text,
    json_schema,
    load_demo_settings,
    load_settings,
    parse_settings,
)
from config.password_hash import PASSWORD_HASH_FORMAT, PASSWORD_HASH_SCHEME
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
from config.web import WebSettings

__all__ = [
    "PASSWORD_HASH_FORMAT",
    "PASSWORD_HASH_SCHEME",
    "ConfigError",
    "HistorianSettings",
    "InfluxSettings",
    "MaintenanceSettings",
    "Problem",
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
    "demo_config_text",
    "json_schema",
    "load_demo_settings",
    "load_settings",
    "parse_settings",
]
