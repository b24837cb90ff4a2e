"""Settings of the parties beside the site: the OEM's data directory and key, the admin's key."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from models import ConfigRecord


class PartiesSettings(ConfigRecord):
    """Where the OEM keeps its key and records, and where each party's key comes from.

    The site's key is ``chain.key_env``; the OEM and the consortium admin never use it.
    """

    oem_dir: Path = Field(
        Path("oem"),
        description="the OEM's data directory (its key oem.key, mode 0600, and its records); "
        "relative to data_dir",
    )
    oem_key_env: str = Field(
        "TRUSTFLOOR_OEM_KEY",
        min_length=1,
        description="environment variable holding the OEM's secp256k1 key (hex); when unset "
        "the key is read from <oem_dir>/oem.key (created by `trustfloor oem init`)",
    )
    consortium_key_env: str = Field(
        "TRUSTFLOOR_CONSORTIUM_KEY",
        min_length=1,
        description="environment variable holding the consortium admin's key (hex); on the "
        "local chain, when unset, the admin's key is <data_dir>/chain/consortium.key",
    )
