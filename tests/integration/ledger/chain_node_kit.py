"""Test pieces for the local chain node's process: JSON-RPC over its socket, its pid, its end."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.support import wait_until


async def ipc_rpc(socket_path: str | Path, method: str, *params: Any) -> Any:
    """One JSON-RPC request over a node's IPC socket; its result (test helper, no web3)."""
    reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=2**24)
    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        writer.write(json.dumps(body).encode() + b"\n")
        reply = json.loads(await reader.readline())
    finally:
        writer.close()
        await writer.wait_closed()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def node_endpoint(chain_dir: Path) -> str:
    """Where the running site's local chain node answers, as node.json records it."""
    return str(json.loads((chain_dir / "node.json").read_text("utf-8"))["endpoint"])


def command_line(pid: int) -> list[str]:
    """A live process's argument vector; empty once it has ended (or is a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode("utf-8", "replace").split("\0")[:-1]


def anvil_children(parent: int, folder: Path) -> list[int]:
    """The anvil processes whose parent is ``parent`` and whose command line names a file in
    ``folder`` (scanned in /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text("ascii", "replace").rsplit(")", 1)[-1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if int(fields[1]) == parent and _runs_anvil_in(command_line(pid), folder):
            found.append(pid)
    return found


def _runs_anvil_in(argv: list[str], folder: Path) -> bool:
    named = any(arg.startswith(f"{folder}/") for arg in argv)
    return named and Path(argv[0]).name == "anvil"


async def wait_until_ended(pid: int, timeout_s: float = 20.0) -> bool:
    """Wait for ``pid`` to end; False when it still runs after ``timeout_s``."""
    try:
        await wait_until(lambda: not command_line(pid), timeout_s=timeout_s, poll_s=0.05)
    except TimeoutError:
        return False
    return True


def listening_socket_inodes() -> set[str]:
    """The inodes of every TCP socket listening in this process's network namespace."""
    inodes = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for row in Path(table).read_text("ascii").splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A":  # TCP_LISTEN
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds open."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = descriptor.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes
