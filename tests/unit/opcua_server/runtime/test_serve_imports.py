"""What `serve` imports before it reads its configuration: no library of an unused feature."""

from __future__ import annotations

import json
import subprocess
import sys

SERVE_PATH = ("opcua_server.runtime.site", "opcua_server.cli.main", "opcua_server.cli.console")
"""The composition root and the modules `trustfloor serve` runs through."""

LOADED_ON_USE = (
    *("web3", "influxdb_client", "pymodbus", "fastapi", "starlette", "uvicorn"),
    *("rlp", "sklearn", "scipy", "pandas"),
)
"""The chain client, the InfluxDB historian, the machine simulator and the web console's ASGI
stack: each is imported when the configuration asks for its feature, not before; the QBFT header
checks' RLP decoder when a bundle is verified against pinned validators; and the training
libraries when a model is trained."""


def libraries_imported_by(modules: tuple[str, ...]) -> list[str]:
    """Which of ``LOADED_ON_USE`` a fresh interpreter holds after importing ``modules``."""
    program = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {list(LOADED_ON_USE)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    imported: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return imported


def test_the_serve_path_imports_no_library_of_an_unconfigured_feature() -> None:
    assert libraries_imported_by(SERVE_PATH) == []


def test_the_check_sees_a_library_that_is_imported() -> None:
    assert libraries_imported_by(("connectors.simulated.machine",)) == ["pymodbus"]
