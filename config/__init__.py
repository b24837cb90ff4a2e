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
from config.settings import (
    HistorianSettings,
    Role,
    SecurityPolicy,
    ServerSettings,
    Settings,
    SiteSettings,
    User,
)

__all__ = [
    "ConfigError",
    "HistorianSettings",
    "Problem",
    "Role",
    "SecurityPolicy",
    "ServerSettings",
    "Settings",
    "SiteSettings",
    "User",
    "demo_config_text",
    "json_schema",
    "load_demo_settings",
    "load_settings",
    "parse_settings",
]
