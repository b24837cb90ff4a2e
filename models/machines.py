"""Machines and their tags: what is on the floor and where each telemetry point lives."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")]
"""A name usable in OPC UA browse names, SQL keys and line protocol without escaping."""


class Frozen(BaseModel):
    """Base of every record here: immutable, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RegisterKind(StrEnum):
    """Modbus register table a tag is read from (Modbus Application Protocol v1.1b3 §4.3)."""

    HOLDING = "holding"
    INPUT = "input"


class DataType(StrEnum):
    """How the registers of a tag encode its value."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"

    @property
    def register_count(self) -> int:
        """16-bit registers this type occupies."""
        return 1 if self in (DataType.INT16, DataType.UINT16) else 2


class Endian(StrEnum):
    """Order of bytes inside a register, or of registers inside a multi-register value."""

    BIG = "big"
    LITTLE = "little"


class ModbusAddress(Frozen):
    """Where a tag lives on a Modbus device and how its registers decode."""

    kind: RegisterKind = RegisterKind.HOLDING
    address: int = Field(ge=0, le=65535, description="0-based register address")
    data_type: DataType = DataType.UINT16
    byte_order: Endian = Field(Endian.BIG, description="bytes inside each register")
    word_order: Endian = Field(Endian.BIG, description="registers inside a 32-bit value")

    @property
    def count(self) -> int:
        """Registers the tag occupies."""
        return self.data_type.register_count

    @property
    def end(self) -> int:
        """One past the last register of the tag."""
        return self.address + self.count

    @model_validator(mode="after")
    def _fits_address_space(self) -> ModbusAddress:
        if self.end > 65536:
            raise ValueError(f"{self.data_type} at {self.address} runs past register 65535")
        return self


class Tag(Frozen):
    """One telemetry point of a machine: engineering value = raw × scale + offset."""

    name: Identifier
    description: str = ""
    unit: str = Field("", description="engineering unit, UNECE Rec. 20 symbol where one exists")
    address: ModbusAddress
    scale: float = 1.0
    offset: float = 0.0
    eu_low: float | None = Field(None, description="lowest plausible engineering value")
    eu_high: float | None = Field(None, description="highest plausible engineering value")

    @model_validator(mode="after")
    def _range_ordered(self) -> Tag:
        if self.eu_low is not None and self.eu_high is not None and self.eu_low >= self.eu_high:
            raise ValueError(f"eu_low ({self.eu_low}) must be below eu_high ({self.eu_high})")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        return self


class ModbusEndpoint(Frozen):
    """A Modbus TCP device: one connection, one lock, polled at one rate."""

    host: str = "127.0.0.1"
    port: int = Field(502, ge=0, le=65535, description="0 only for simulated machines")
    unit_id: int = Field(1, ge=0, le=255)
    timeout_s: float = Field(2.0, gt=0, le=60)
    poll_interval_s: float = Field(1.0, gt=0, le=3600)
    max_gap: int = Field(
        0, ge=0, le=64, description="unused registers a single request may span to merge reads"
    )


class Machine(Frozen):
    """A production asset with its identification (OPC 40001-1) and its tags."""

    id: Identifier
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    serial_number: str = ""
    simulated: bool = Field(False, description="trustfloor runs a simulated Modbus device for it")
    modbus: ModbusEndpoint
    tags: tuple[Tag, ...] = Field(min_length=1)

    def tag(self, name: str) -> Tag:
        """The tag called ``name``; KeyError when there is none."""
        for tag in self.tags:
            if tag.name == name:
                return tag
        raise KeyError(name)
