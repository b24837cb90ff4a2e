"""Ports and paths a site claims on its host: each listener a port, each store a file of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import urlsplit

from config.checks import Problem
from config.settings import Settings

SIMULATOR_HOST = "127.0.0.1"
"""Where trustfloor serves its simulated Modbus machines."""
OPCUA_DEFAULT_PORT = 4840
"""Port of an opc.tcp URL that names none (OPC 10000-6 §7.2)."""
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
LOOPBACK_NAMES = {"localhost": "127.0.0.1"}
PORT_ADVICE = "give each listener a port of its own, or 0 for a free one"

QUEUE_DIR = PurePath("queue")
"""Store-and-forward spools live in this folder of the data directory."""
KEPT_BY_TRUSTFLOOR = (
    ("the PKI folder", "pki"),
    ("the local chain's folder", "chain"),
    ("the OPC UA event history", "events.sqlite"),
    ("the values clients wrote", "written_values.json"),
)
"""What trustfloor keeps in the data directory under fixed names, and what it is."""
STORE_ADVICE = "give each store a file or folder of its own in the data directory"


@dataclass(frozen=True, slots=True)
class Listener:
    """A socket the site listens on, and the config path that sets its port."""

    path: str
    host: str
    port: int


def listeners(settings: Settings) -> list[Listener]:
    """Every socket the config makes the site listen on, but those on port 0 (a free port)."""
    server, site = settings.server, settings.site
    found = [Listener("server.port", server.host, server.port)]
    if server.metrics_port is not None:
        found.append(Listener("server.metrics_port", server.metrics_host, server.metrics_port))
    if settings.web.enabled:
        found.append(Listener("web.port", settings.web.host, settings.web.port))
    found += [
        Listener(f"site.machines[{i}].modbus.port", SIMULATOR_HOST, machine.modbus.port)
        for i, machine in enumerate(site.machines)
        if machine.simulated
    ]
    for i, printer in enumerate(site.printers):
        where = _host_and_port(printer.opcua.url)
        if printer.simulated and where is not None:
            found.append(Listener(f"site.printers[{i}].opcua.url", *where))
    return [listener for listener in found if listener.port != 0]


def _host_and_port(url: str) -> tuple[str, int] | None:
    """Host and port of an opc.tcp URL; None when its port is not a number."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return parts.hostname or "", OPCUA_DEFAULT_PORT if port is None else port


def port_problems(settings: Settings) -> Iterator[Problem]:
    """A listener whose port an earlier one already takes on an address they share."""
    earlier_on: dict[int, list[Listener]] = {}
    for listener in listeners(settings):
        taken = earlier_on.setdefault(listener.port, [])
        holder = next((other for other in taken if _hosts_meet(listener, other)), None)
        if holder is not None:
            yield Problem(
                listener.path, f"port {listener.port} is already {holder.path}'s; {PORT_ADVICE}"
            )
        taken.append(listener)


def _hosts_meet(one: Listener, other: Listener) -> bool:
    """Two addresses on which both could not listen: the same one, or every address."""
    hosts = {LOOPBACK_NAMES.get(listener.host, listener.host) for listener in (one, other)}
    return len(hosts) == 1 or bool(hosts & WILDCARD_HOSTS)


@dataclass(frozen=True, slots=True)
class Store:
    """A file or folder of the data directory (or an absolute folder) and what it holds."""

    label: str
    """The config path that names it, or what trustfloor keeps there."""
    place: PurePath
    """Relative to the data directory, unless absolute."""
    configured: bool = True
    """False for what trustfloor keeps under a fixed name."""


def stores(settings: Settings) -> list[Store]:
    """What trustfloor keeps under fixed names, then every store the config names, in file
    order; a new store setting belongs here too."""
    found = [Store(label, PurePath(name), configured=False) for label, name in KEPT_BY_TRUSTFLOOR]
    server, historian, ledger, maintenance = (
        settings.server,
        settings.historian,
        settings.ledger,
        settings.maintenance,
    )
    found += [
        Store("server.audit_file", PurePath(server.audit_file)),
        Store("historian.sqlite_file", PurePath(historian.sqlite_file)),
    ]
    if historian.influx is not None:
        found.append(Store("historian.influx.spool_file", QUEUE_DIR / historian.influx.spool_file))
    found += [
        Store("ledger.sqlite_file", PurePath(ledger.sqlite_file)),
        Store("ledger.designs_dir", PurePath(ledger.designs_dir)),
        Store("maintenance.orders_file", PurePath(maintenance.orders_file)),
        Store("maintenance.alerts_file", PurePath(maintenance.alerts_file)),
        Store("maintenance.models_dir", PurePath(maintenance.models_dir)),
        Store("maintenance.scores_file", PurePath(maintenance.scores_file)),
    ]
    if maintenance.webhook is not None:
        found.append(
            Store("maintenance.webhook.spool_file", QUEUE_DIR / maintenance.webhook.spool_file)
        )
    return found


def store_problems(settings: Settings) -> Iterator[Problem]:
    """A store in the same file as another, or inside another's folder, named where it is set."""
    found = stores(settings)
    clash_of: dict[int, str] = {}
    for later in range(len(found)):
        for earlier in range(later):
            clash = _clash(found, later, earlier)
            if clash is not None:
                clash_of.setdefault(*clash)
    for index in sorted(clash_of):
        yield Problem(found[index].label, f"{clash_of[index]}; {STORE_ADVICE}")


def _clash(found: list[Store], later: int, earlier: int) -> tuple[int, str] | None:
    """Which of two stores to name, and why, when they share a file or one holds the other.

    Configured stores come after trustfloor's own, so the one named is always configured.
    """
    store, other = found[later], found[earlier]
    if store.place == other.place:
        return later, f"'{store.place}' is also {other.label}"
    if store.place.is_relative_to(other.place):
        return later, f"'{store.place}' is inside {_named(other)}"
    if not other.place.is_relative_to(store.place):
        return None
    if other.configured:
        return earlier, f"'{other.place}' is inside {_named(store)}"
    return later, f"'{store.place}' holds {_named(other)}"


def _named(store: Store) -> str:
    return f"{store.label} ({store.place})"


def file_problems(settings: Settings) -> Iterator[Problem]:
    """What the config names on disk and must find there: user certificates, and the design of
    each spare part once the site has a designs folder (a new site has none before its first)."""
    for index, user in enumerate(settings.server.users):
        if user.certificate_file is not None and not user.certificate_file.is_file():
            yield Problem(
                f"server.users[{index}].certificate_file",
                f"no such file {user.certificate_file}",
            )
    designs = settings.ledger.designs_dir
    if not (settings.data_dir / designs).is_dir():
        return
    where = "" if designs.is_absolute() else " in the data directory"
    for index, part in enumerate(settings.maintenance.spare_parts):
        folder = Path(designs, part.design_id, part.design_revision)
        if not (settings.data_dir / folder).is_dir():
            yield Problem(
                f"maintenance.spare_parts[{index}].design_id",
                f"no folder {folder}{where}; put the design there (`trustfloor design register`)"
                " or correct design_id and design_revision",
            )
