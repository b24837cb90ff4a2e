"""Load a TOML file into Settings, reporting every problem at once with its path."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.checks import (
    Problem,
    duplicate_ids,
    empty_site_problems,
    insecure_link_problems,
    machine_problems,
    printer_link_problems,
    spare_part_problems,
    user_problems,
)
from config.claims import file_problems, port_problems, store_problems
from config.settings import Settings
from models import Machine, TrustfloorError

DEMO_CONFIG = "demo.toml"
SECTIONS = frozenset(Settings.model_fields)
"""Top-level keys of the file: each validates on its own, so one bad section hides no other."""
SettingsCheck = tuple[frozenset[str], Callable[[Settings], Iterator[Problem]]]
"""A check across fields and the top-level sections it reads: it runs when those are valid."""
SETTINGS_CHECKS: tuple[SettingsCheck, ...] = (
    (frozenset({"server"}), user_problems),
    (frozenset({"site"}), insecure_link_problems),
    (frozenset({"site", "maintenance"}), spare_part_problems),
    (frozenset({"site", "printer_links"}), printer_link_problems),
    (frozenset({"server", "site"}), port_problems),
    (frozenset({"server", "historian", "ledger", "maintenance"}), store_problems),
)
"""What every file is checked for, whichever command reads it."""
SITE_CHECKS: tuple[SettingsCheck, ...] = ((frozenset({"site"}), empty_site_problems),)
"""What a file that runs a site (not one a verifier or an OEM uses) is checked for too."""
MESSAGES_BY_ERROR_TYPE = {
    "finite_number": "must be a finite number; nan and inf are not values a site can use",
}
"""Our wording for pydantic errors whose own message would mislead or say too little.

A list left too short only because its entries failed is not reported: the entries are."""


class ConfigError(TrustfloorError):
    """The configuration cannot be used; ``problems`` lists every reason with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"{source}: {len(problems)} problem(s)\n{lines}",
            advice="fix each path listed, then run `trustfloor check-config FILE` again",
        )
        self.problems = problems


def format_location(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as ``site.machines[2].tags[5].address``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    items = error.errors(include_url=False)
    holding_errors = {
        tuple(item["loc"][:depth]) for item in items for depth in range(len(item["loc"]))
    }
    return [
        Problem(
            format_location(tuple(item["loc"])),
            MESSAGES_BY_ERROR_TYPE.get(item["type"], item["msg"]),
        )
        for item in items
        if not (item["type"] == "too_short" and tuple(item["loc"]) in holding_errors)
    ]


def _validate(
    raw: Mapping[str, Any], problems: list[Problem]
) -> tuple[Settings | None, frozenset[str]]:
    """The settings and the sections that are valid; when some are not, their problems go to
    ``problems`` and the settings hold only the valid sections (defaults elsewhere)."""
    try:
        return Settings.model_validate(raw), SECTIONS
    except ValidationError as error:
        problems.extend(_pydantic_problems(error))
    valid = frozenset(name for name in SECTIONS if name not in raw or _valid_alone(raw, name))
    try:
        return Settings.model_validate({name: raw[name] for name in valid if name in raw}), valid
    except ValidationError:
        return None, frozenset()


def _valid_alone(raw: Mapping[str, Any], section: str) -> bool:
    try:
        Settings.model_validate({section: raw[section]})
    except ValidationError:
        return False
    return True


def _settings_problems(
    settings: Settings, valid: frozenset[str], checks: tuple[SettingsCheck, ...]
) -> Iterator[Problem]:
    for needs, check in checks:
        if needs <= valid:
            yield from check(settings)


def _raw_machines(raw: Mapping[str, Any]) -> list[Any]:
    site = raw.get("site")
    machines = site.get("machines") if isinstance(site, Mapping) else None
    return machines if isinstance(machines, list) else []


def _cross_field_problems(raw: Mapping[str, Any]) -> Iterator[Problem]:
    """Checks that span fields, run on every machine that validates on its own."""
    machines = _raw_machines(raw)
    ids = [m.get("id") for m in machines if isinstance(m, Mapping)]
    yield from duplicate_ids(ids, "site.machines", "machine")
    for index, candidate in enumerate(machines):
        try:
            machine = Machine.model_validate(candidate)
        except ValidationError:
            continue  # already reported by the whole-file validation
        yield from machine_problems(machine, f"site.machines[{index}]")


def _secret_problems(settings: Settings, environ: Mapping[str, str]) -> Iterator[Problem]:
    """Every secret the config names by environment variable must be set."""
    wanted = [
        (f"server.users[{i}].password_env", user.password_env)
        for i, user in enumerate(settings.server.users)
    ]
    wanted += [
        (f"site.opcua_machines[{i}].opcua.password_env", machine.opcua.password_env)
        for i, machine in enumerate(settings.site.opcua_machines)
    ]
    influx = settings.historian.influx
    if influx is not None:
        wanted.append(("historian.influx.token_env", influx.token_env))
    for path, variable in wanted:
        if variable is not None and not environ.get(variable):
            yield Problem(path, f"environment variable {variable} is not set")


def parse_settings(
    raw: Mapping[str, Any],
    *,
    source: str = "<config>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    check_files: bool = False,
    runs_site: bool = False,
) -> Settings:
    """Validate a parsed TOML document; raise ConfigError listing every problem found.

    ``check_files`` also looks on disk for what the file names there (user certificates, the
    spare parts' design folders); ``runs_site`` asks for something on the floor to serve."""
    problems: list[Problem] = []
    settings, valid = _validate(raw, problems)
    problems.extend(_cross_field_problems(raw))
    if settings is not None:
        checks = SETTINGS_CHECKS + SITE_CHECKS if runs_site else SETTINGS_CHECKS
        problems.extend(_settings_problems(settings, valid, checks))
        if environ is not None:
            problems.extend(_secret_problems(settings, environ))
    if settings is not None and base_dir is not None:
        settings = _relative_to(settings, base_dir)
    if settings is not None and check_files and valid == SECTIONS:
        problems.extend(file_problems(settings))
    if problems or settings is None:
        raise ConfigError(source, problems)
    return settings


def _relative_to(settings: Settings, base_dir: Path) -> Settings:
    """Paths in the file are relative to its folder: data_dir, user and web certificates."""
    users = tuple(
        user.model_copy(update={"certificate_file": base_dir / user.certificate_file})
        if user.certificate_file is not None and not user.certificate_file.is_absolute()
        else user
        for user in settings.server.users
    )
    server = settings.server.model_copy(update={"users": users})
    data_dir = (
        settings.data_dir if settings.data_dir.is_absolute() else base_dir / settings.data_dir
    )
    web = settings.web.relative_to(base_dir)
    return settings.model_copy(update={"data_dir": data_dir, "server": server, "web": web})


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes a ConfigError with line and column."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise ConfigError(str(path), [Problem("(file)", "no such file")]) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), [Problem("(syntax)", str(error))]) from error


def load_settings(
    path: Path, *, check_secrets: bool = True, check_files: bool = False, runs_site: bool = False
) -> Settings:
    """Read and validate ``path``; relative paths in it are taken from its folder.

    ``check_files`` and ``runs_site`` are parse_settings' stricter checks (check-config's)."""
    environ = os.environ if check_secrets else None
    return parse_settings(
        read_toml(path),
        source=str(path),
        base_dir=path.parent.resolve(),
        environ=environ,
        check_files=check_files,
        runs_site=runs_site,
    )


def demo_config_text() -> str:
    """The bundled demo site's TOML, as shipped inside the package."""
    return resources.files("config").joinpath(DEMO_CONFIG).read_text(encoding="utf-8")


def load_demo_settings(data_dir: Path, *, check_secrets: bool = True) -> Settings:
    """The bundled demo site, with its data directory set to ``data_dir``."""
    environ = os.environ if check_secrets else None
    raw = tomllib.loads(demo_config_text())
    settings = parse_settings(raw, source=f"(bundled {DEMO_CONFIG})", environ=environ)
    return settings.model_copy(update={"data_dir": data_dir})


def json_schema() -> dict[str, Any]:
    """JSON schema of the configuration file, for editors."""
    return Settings.model_json_schema()
