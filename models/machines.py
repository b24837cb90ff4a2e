"""Machines and their tags: what is on the floor and where each telemetry point lives."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")]
"""A name usable in OPC UA browse names, SQL keys and line protocol without escaping."""


class Frozen(BaseModel):
    """Base of every record here: immutable, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ConfigRecord(Frozen):
    """Base of records read from the configuration file: also refuses NaN and infinity."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RegisterKind(StrEnum):
    """Modbus table a tag is read from (Modbus Application Protocol v1.1b3 §4.3)."""

    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"

    @property
    def is_bit_table(self) -> bool:
        """Coils and discrete inputs hold single bits; the other tables hold 16-bit registers."""
        return self in (RegisterKind.COIL, RegisterKind.DISCRETE_INPUT)


class DataType(StrEnum):
    """How the registers (or the bit) of a tag encode its value."""

    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"

    @property
    def register_count(self) -> int:
        """16-bit registers one value occupies (a string: per register of its ``length``)."""
        if self in (DataType.INT64, DataType.UINT64, DataType.FLOAT64):
            return 4
        return 2 if self in (DataType.INT32, DataType.UINT32, DataType.FLOAT32) else 1

    @property
    def is_numeric(self) -> bool:
        """Numbers take scale, offset and an engineering range; bools and strings do not."""
        return self not in (DataType.BOOL, DataType.STRING)


class StringEncoding(StrEnum):
    """Character set of a string tag's bytes."""

    ASCII = "ascii"
    UTF8 = "utf-8"


class Endian(StrEnum):
    """Order of bytes inside a register, or of registers inside a multi-register value."""

    BIG = "big"
    LITTLE = "little"


class ModbusAddress(ConfigRecord):
    """Where a tag lives on a Modbus device and how its registers (or bit) decode."""

    kind: RegisterKind = RegisterKind.HOLDING
    address: int = Field(ge=0, le=65535, description="0-based register (or bit) address")
    data_type: DataType = DataType.UINT16
    byte_order: Endian = Field(Endian.BIG, description="bytes inside each register")
    word_order: Endian = Field(
        Endian.BIG, description="registers inside a 32- or 64-bit value (little: low word first)"
    )
    length: int | None = Field(
        None, ge=1, le=125, description="registers a string tag spans (2 bytes each)"
    )
    encoding: StringEncoding = Field(StringEncoding.ASCII, description="a string tag's charset")
    bit: int | None = Field(
        None, ge=0, le=15, description="bit of a register read as a bool tag, 0 = least significant"
    )

    @property
    def count(self) -> int:
        """Registers (bits, in a coil or discrete-input table) the tag occupies."""
        if self.kind.is_bit_table:
            return 1
        if self.data_type is DataType.STRING:
            return self.length or 1
        return self.data_type.register_count

    @property
    def end(self) -> int:
        """One past the last register (or bit) of the tag."""
        return self.address + self.count

    @model_validator(mode="after")
    def _fits_address_space(self) -> ModbusAddress:
        if self.end > 65536:
            raise ValueError(f"{self.data_type} at {self.address} runs past register 65535")
        return self

    @model_validator(mode="after")
    def _fields_match_data_type(self) -> ModbusAddress:
        problem = _address_problem(self)
        if problem:
            raise ValueError(problem)
        return self


def _address_problem(address: ModbusAddress) -> str:
    """Why ``address``'s table, data type, ``length`` and ``bit`` do not fit together, or ""."""
    data_type = address.data_type
    if address.kind.is_bit_table and data_type is not DataType.BOOL:
        return f"{address.kind} tags are bits: data_type must be bool, not {data_type}"
    if address.bit is not None and (address.kind.is_bit_table or data_type is not DataType.BOOL):
        return "bit is only for bool tags read from a holding or input register"
    if (data_type is DataType.STRING) != (address.length is not None):
        return "a string tag needs length (registers); other types take none"
    if data_type is DataType.STRING and address.word_order is not Endian.BIG:
        return "word_order does not apply to strings (registers are read in address order)"
    return ""


class Tag(ConfigRecord):
    """One telemetry point of a machine: engineering value = raw × scale + offset."""

    name: Identifier
    description: str = ""
    unit: str = Field("", description="engineering unit, UNECE Rec. 20 symbol where one exists")
    address: ModbusAddress
    scale: float = 1.0
    offset: float = 0.0
    eu_low: float | None = Field(None, description="lowest plausible engineering value")
    eu_high: float | None = Field(None, description="highest plausible engineering value")
    poll_group: Identifier | None = Field(
        None, description="a poll group of the machine's endpoint; none: its poll_interval_s"
    )

    @model_validator(mode="after")
    def _range_ordered(self) -> Tag:
        if self.eu_low is not None and self.eu_high is not None and self.eu_low >= self.eu_high:
            raise ValueError(f"eu_low ({self.eu_low}) must be below eu_high ({self.eu_high})")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        return self

    @model_validator(mode="after")
    def _scaling_only_for_numbers(self) -> Tag:
        scaled = self.scale != 1.0 or self.offset != 0.0
        ranged = self.eu_low is not None or self.eu_high is not None
        if not self.address.data_type.is_numeric and (scaled or ranged):
            raise ValueError(
                f"scale, offset, eu_low and eu_high apply to numbers, not {self.address.data_type}"
            )
        return self


class PollGroup(ConfigRecord):
    """Tags polled together at their own rate, through their device's one connection."""

    name: Identifier
    interval_s: float = Field(gt=0, le=3600)


class ModbusEndpoint(ConfigRecord):
    """A Modbus TCP device: one connection and one lock, polled per poll group."""

    host: str = "127.0.0.1"
    port: int = Field(502, ge=0, le=65535, description="0 only for simulated machines")
    unit_id: int = Field(1, ge=0, le=255)
    timeout_s: float = Field(2.0, gt=0, le=60, description="longest wait for one response")
    poll_interval_s: float = Field(
        1.0, gt=0, le=3600, description="rate of the tags that name no poll group"
    )
    poll_groups: tuple[PollGroup, ...] = Field(
        (), description="named rates that tags choose with poll_group"
    )
    request_pacing_s: float = Field(
        0.0, ge=0, le=10, description="minimum delay between two requests on the connection"
    )
    max_gap: int = Field(
        0,
        ge=0,
        le=64,
        description="unused registers (or bits) a single request may span to merge reads",
    )

    @model_validator(mode="after")
    def _group_names_unique(self) -> ModbusEndpoint:
        names = [group.name for group in self.poll_groups]
        if len(set(names)) != len(names):
            raise ValueError(f"poll group names must be unique: {names}")
        return self


class ComponentKind(StrEnum):
    """What kind of part wears; a simulated site derives which signals show the wear from it."""

    BEARING = "bearing"
    SPINDLE = "spindle"
    PUMP = "pump"
    GEARBOX = "gearbox"
    MOTOR = "motor"
    SEAL = "seal"


class Component(ConfigRecord):
    """A part of an asset that wears out and is replaced, with its expected operating life."""

    name: Identifier
    kind: ComponentKind
    mean_life_h: float = Field(gt=0, le=1_000_000, description="mean operating hours to failure")
    life_shape: float = Field(
        2.0, ge=0.5, le=20, description="Weibull shape of lives across instances (higher: alike)"
    )
    initial_wear: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="simulated machines: fraction of the fitted part's life used before start",
    )


class Asset(ConfigRecord):
    """A production asset's identification (OPC 40001-1 Machinery) and its components."""

    id: Identifier
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    serial_number: str = ""
    components: tuple[Component, ...] = Field((), description="parts that wear out")

    @model_validator(mode="after")
    def _component_names_unique(self) -> Asset:
        names = [component.name for component in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique: {names}")
        return self


class Machine(Asset):
    """A production asset read over Modbus TCP, with its tags."""

    simulated: bool = Field(False, description="trustfloor runs a simulated Modbus device for it")
    modbus: ModbusEndpoint
    tags: tuple[Tag, ...] = Field(min_length=1)

    def tag(self, name: str) -> Tag:
        """The tag called ``name``; KeyError when there is none."""
        for tag in self.tags:
            if tag.name == name:
                return tag
        raise KeyError(name)


class SecurityPolicy(StrEnum):
    """OPC UA security policies (OPC 10000-7 §6.6), offered by servers and chosen by clients."""

    NONE = "None"
    BASIC256SHA256 = "Basic256Sha256"
    AES128_SHA256_RSAOAEP = "Aes128Sha256RsaOaep"
    AES256_SHA256_RSAPSS = "Aes256Sha256RsaPss"


class MessageSecurityMode(StrEnum):
    """How an OPC UA secure channel protects messages (OPC 10000-4 §7.20)."""

    NONE = "None"
    SIGN = "Sign"
    SIGN_AND_ENCRYPT = "SignAndEncrypt"


class OpcUaEndpoint(ConfigRecord):
    """An OPC UA server of a device: where to connect, how to secure the channel, who logs in."""

    url: str = Field(pattern=r"^opc\.tcp://\S+$", description="opc.tcp://host:port/path")
    security_policy: SecurityPolicy = SecurityPolicy.BASIC256SHA256
    security_mode: MessageSecurityMode = MessageSecurityMode.SIGN_AND_ENCRYPT
    username: str | None = Field(None, description="none: anonymous")
    password_env: str | None = Field(
        None, description="name of an environment variable holding the user's password"
    )
    timeout_s: float = Field(5.0, gt=0, le=120, description="longest wait for one response")
    allow_insecure: bool = Field(
        False, description="must be true for security None to a real (not simulated) device"
    )
    user_certificate_file: Path | None = Field(
        None, description="X.509 user certificate (DER or PEM): log in with it, not a password"
    )
    user_key_file: Path | None = Field(
        None, description="the user certificate's private key (PEM), file mode 0600"
    )

    @model_validator(mode="after")
    def _one_user_identity(self) -> OpcUaEndpoint:
        if (self.user_certificate_file is None) != (self.user_key_file is None):
            raise ValueError("give user_certificate_file and user_key_file together")
        if self.user_certificate_file is not None and self.username is not None:
            raise ValueError("log in with a username or a user certificate, not both")
        return self

    @model_validator(mode="after")
    def _coherent_security(self) -> OpcUaEndpoint:
        if (self.security_policy is SecurityPolicy.NONE) != (
            self.security_mode is MessageSecurityMode.NONE
        ):
            raise ValueError("security_policy and security_mode must both be None or neither")
        if (self.username is None) != (self.password_env is None):
            raise ValueError("give username and password_env together, or neither (anonymous)")
        return self


NODE_ID_PATTERN = r"^((ns=\d+|nsu=[^;]+);)?(i=\d+|s=.+|g=[0-9A-Fa-f-]{36}|b=.+)$"
"""NodeId string forms of OPC 10000-6 §5.3.1.10, with ``nsu=`` for a namespace URI."""


class OpcUaTag(ConfigRecord):
    """One telemetry point read from an OPC UA server: a node's Value, monitored for changes."""

    name: Identifier
    description: str = ""
    unit: str = Field("", description="engineering unit, UNECE Rec. 20 symbol where one exists")
    node_id: str = Field(
        pattern=NODE_ID_PATTERN, description="ns=2;s=Line1/Temp, or nsu=<namespace uri>;i=1001"
    )
    sampling_interval_ms: float = Field(
        1000.0, ge=0, le=3_600_000, description="tags with the same interval share a subscription"
    )
    eu_low: float | None = Field(None, description="lowest plausible engineering value")
    eu_high: float | None = Field(None, description="highest plausible engineering value")

    @model_validator(mode="after")
    def _range_ordered(self) -> OpcUaTag:
        if self.eu_low is not None and self.eu_high is not None and self.eu_low >= self.eu_high:
            raise ValueError(f"eu_low ({self.eu_low}) must be below eu_high ({self.eu_high})")
        return self


class OpcUaMachine(Asset):
    """A production asset read from its own OPC UA server, with its tags."""

    opcua: OpcUaEndpoint
    tags: tuple[OpcUaTag, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _tag_names_unique(self) -> OpcUaMachine:
        names = [tag.name for tag in self.tags]
        if len(set(names)) != len(names):
            raise ValueError(f"tag names must be unique: {names}")
        return self


class Printer(Asset):
    """An additive-manufacturing printer with an OPC UA server after OPC 40540."""

    opcua: OpcUaEndpoint
    simulated: bool = Field(
        False, description="trustfloor serves a simulated printer at opcua.url (port 0: any)"
    )
    am_technology: str = Field(
        "",
        max_length=32,
        description="OPC 40540 AMTechnologyIdentifier: its ISO/ASTM 52900 process, e.g. PBF-LB/M",
    )

    @model_validator(mode="after")
    def _secured_simulator_has_a_user(self) -> Printer:
        secured = self.opcua.security_policy is not SecurityPolicy.NONE
        anonymous = self.opcua.username is None and self.opcua.user_certificate_file is None
        if self.simulated and secured and anonymous:
            raise ValueError(
                "a secured simulated printer serves one user: give its opcua a username and"
                " password_env, or a user certificate (or security None in a lab test)"
            )
        return self
