"""The design's dependency rules, checked by walking every module's imports."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from tests.support import REPO, imported_modules

PACKAGES = ("models", "config", "connectors", "maintenance", "ledger", "opcua_server")
ALLOWED: dict[str, set[str]] = {
    "models": {"models"},
    "config": {"models", "config"},
    "connectors": {"models", "config", "connectors"},
    "maintenance": {"models", "config", "maintenance"},
    "ledger": {"models", "config", "ledger"},
    "opcua_server": {"models", "config", "opcua_server"},
}
ROOTS = ("opcua_server/runtime/", "opcua_server/cli/", "opcua_server/demo/")
"""The composition root, the command line and the demo's actors may import every package."""
LIBRARY_HOMES = {
    "web3": ("ledger/chain/",),
    "pymodbus": ("connectors/modbus/", "connectors/simulated/"),
    "influxdb_client": ("connectors/historian/influx.py",),
    "asyncua": ("opcua_server/", "connectors/opcua_client/", "connectors/simulated/"),
    "apscheduler": ("opcua_server/runtime/",),
    "prometheus_client": ("opcua_server/runtime/metrics.py",),
    **dict.fromkeys(("fastapi", "starlette", "uvicorn", "jinja2"), ("opcua_server/web/",)),
    "basyx": ("ledger/exports/",),
    "joserfc": ("ledger/exports/",),
    "onnxruntime": ("maintenance/tree_ensemble.py",),
    "onnx": ("maintenance/tree_export.py",),
}
THIRD_PARTY_OK_IN_MODELS = {"pydantic"}
SIMULATOR_HOMES = ("connectors/simulated/", "opcua_server/demo/")
"""Where the simulated printer is named; everything else drives printers by their port."""
SUBMODULE_EXCEPTIONS = (("opcua_server/demo/", "connectors.simulated"),)
"""(importer, module): the demo's actors drive the simulated site itself, whose printer is named
nowhere else, so not even in the connectors package's public names."""


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module in imported_modules(path)}


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def submodule_allowed(importer: str, module: str) -> bool:
    """Whether ``importer`` may name ``module`` although it is another package's submodule."""
    return any(
        importer.startswith(home) and (module == allowed or module.startswith(allowed + "."))
        for home, allowed in SUBMODULE_EXCEPTIONS
    )


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_packages_import_only_what_the_design_allows(path: Path) -> None:
    package = rel(path).split("/")[0]
    if rel(path).startswith(ROOTS):
        return
    project_imports = imported_roots(path) & set(PACKAGES)
    forbidden = project_imports - ALLOWED[package]
    assert not forbidden, f"{rel(path)} imports {sorted(forbidden)}"


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_other_packages_are_reached_through_their_public_api(path: Path) -> None:
    package = rel(path).split("/")[0]
    reaching_in = sorted(
        module
        for module in imported_modules(path)
        if module.split(".")[0] in PACKAGES
        and module.split(".")[0] != package
        and "." in module
        and not submodule_allowed(rel(path), module)
    )
    assert not reaching_in, f"{rel(path)} imports {reaching_in}: import from the package instead"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package: str) -> None:
    public = importlib.import_module(package)
    missing = [name for name in getattr(public, "__all__", ()) if not hasattr(public, name)]
    assert missing == []


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_each_io_library_stays_in_its_home(path: Path) -> None:
    for library in imported_roots(path) & set(LIBRARY_HOMES):
        homes = LIBRARY_HOMES[library]
        assert rel(path).startswith(homes), f"{rel(path)} imports {library}; only {homes} may"


@pytest.mark.parametrize("path", sorted((REPO / "models").rglob("*.py")), ids=rel)
def test_models_use_only_stdlib_and_pydantic(path: Path) -> None:
    import sys

    outside = {
        r for r in imported_roots(path) if r not in sys.stdlib_module_names and r != "models"
    }
    assert outside <= THIRD_PARTY_OK_IN_MODELS, f"{rel(path)} imports {sorted(outside)}"


def test_the_print_flow_depends_on_ports_only() -> None:
    flow = REPO / "opcua_server" / "runtime" / "printflow.py"
    assert imported_roots(flow) & set(PACKAGES) == {"models"}


def test_only_the_simulated_devices_and_the_demo_name_the_simulated_printer() -> None:
    naming = [rel(p) for p in modules() if re.search(r"\bSimulatedPrinter\b", p.read_text())]
    outside = [p for p in naming if not p.startswith(SIMULATOR_HOMES)]
    assert not outside, f"{outside} name SimulatedPrinter; drive printers by PrinterControl"


@pytest.mark.parametrize("path", modules(), ids=rel)
def test_every_module_opens_with_a_one_line_docstring(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
    assert docstring, f"{rel(path)} has no module docstring"
    assert "\n" not in docstring.strip(), f"{rel(path)}: module docstring is not one line"


def test_the_walker_sees_real_imports() -> None:
    assert "pydantic" in imported_roots(REPO / "models" / "readings.py")
    assert "pymodbus" in imported_roots(REPO / "connectors" / "simulated" / "machine.py")
    assert "connectors.simulated" in imported_modules(REPO / "opcua_server" / "demo" / "actors.py")
