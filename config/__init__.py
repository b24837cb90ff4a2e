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
from config.password_hash import PASSWORD_HASH_FORMAT, PASSWORD_HASH_SCHEME, password_hash_problem
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
    "PASSWORD_HASH_FORMAT",
    "PASSWORD_HASH_SCHEME",
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
    "password_hash_problem",
]
