"""Typed, frozen settings of one trustfloor site, validated from TOML."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from models import Frozen, Identifier, Machine


class SecurityPolicy(StrEnum):
    """OPC UA security policies a server endpoint may offer (OPC 10000-7 §6.6)."""

    NONE = "None"
    BASIC256SHA256 = "Basic256Sha256"
    AES128_SHA256_RSAOAEP = "Aes128Sha256RsaOaep"
    AES256_SHA256_RSAPSS = "Aes256Sha256RsaPss"


class Role(StrEnum):
    """Who a user is to trustfloor; methods and writable nodes check it."""

    MES = "mes"
    PLANNER = "planner"
    QUALITY_ENGINEER = "quality_engineer"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


class User(Frozen):
    """An OPC UA user; the password is a hash in the file or plain text in an env variable."""

    name: Identifier
    role: Role
    password_hash: str | None = Field(
        None, description="output of `trustfloor hash-password` (scrypt); never a plain password"
    )
    password_env: str | None = Field(
        None, description="name of an environment variable holding the password"
    )

    @model_validator(mode="after")
    def _one_password_source(self) -> User:
        if (self.password_hash is None) == (self.password_env is None):
            raise ValueError("give exactly one of password_hash or password_env")
        return self


class ServerSettings(Frozen):
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


class HistorianSettings(Frozen):
    """The embedded SQLite historian."""

    sqlite_file: str = Field("telemetry.sqlite", description="relative to the data directory")
    batch_size: int = Field(1000, ge=1, le=100_000)
    flush_interval_s: float = Field(0.5, gt=0, le=60)


class SiteSettings(Frozen):
    """What is on the floor."""

    name: str = "site"
    machines: tuple[Machine, ...] = ()


class Settings(Frozen):
    """Everything one trustfloor process needs, as read from its TOML file."""

    data_dir: Path = Field(Path("var"), description="relative paths are relative to the file")
    server: ServerSettings = ServerSettings()
    historian: HistorianSettings = HistorianSettings()
    site: SiteSettings = SiteSettings()
    queue_size: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        10_000, description="readings buffered between connectors and sinks before back-pressure"
    )
