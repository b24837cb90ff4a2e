"""A local chain node: the anvil binary from npm, started with a free port or an IPC socket."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
from collections import deque
from pathlib import Path
from types import TracebackType

from ledger.childprocess import (
    child_setup,
    command_line,
    read_pid_file,
    stop_process,
    write_pid_file,
)
from ledger.errors import LocalChainError

log = logging.getLogger(__name__)
_LISTENING = re.compile(rb"Listening on ([0-9.]+):(\d+)")
_DEV_KEY = re.compile(rb"^\(\d+\) (0x[0-9a-fA-F]{64})\s*$")
"""A line of the banner's "Private Keys" list."""
_PRIVATE_KEY = re.compile(rb"0x[0-9a-fA-F]{64}")
_MNEMONIC = re.compile(rb"(Mnemonic:\s*)\S.*")
_MAX_SOCKET_PATH = 107
"""The longest path a Unix socket address holds (sun_path is 108 bytes with its NUL)."""
_STOP_GRACE_S = 10.0
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
ANVIL_ENV = "TRUSTFLOOR_ANVIL"
"""Environment variable naming the anvil binary, overriding the search in node_modules."""


def find_anvil(start: Path | None = None) -> Path:
    """The anvil binary: $TRUSTFLOOR_ANVIL, else node_modules above ``start`` (cwd), else PATH.

    npm installs it as node_modules/@foundry-rs/anvil-<os>-<arch>/bin/anvil; it is executed
    directly rather than through the package's node wrapper.
    """
    if env := os.environ.get(ANVIL_ENV):
        return Path(env)
    package = f"anvil-{platform.system().lower()}-{_ARCH.get(platform.machine().lower(), '')}"
    for base in _search_roots(start):
        candidate = base / "node_modules" / "@foundry-rs" / package / "bin" / "anvil"
        if candidate.is_file():
            return candidate
    if found := shutil.which("anvil"):
        return Path(found)
    raise LocalChainError(f"anvil not found in node_modules/@foundry-rs/{package} or on PATH")


def _search_roots(start: Path | None) -> list[Path]:
    here = (start or Path.cwd()).resolve()
    package_root = Path(__file__).resolve().parent.parent
    return [here, *here.parents, package_root]


class LocalAnvil:
    """An anvil process started with a port the OS chose, read back from its output.

    With ``state`` the chain is loaded from and dumped to that file (on stop and every
    ``state_interval`` seconds). With ``ipc`` the node is private to this process: it serves
    JSON-RPC on that Unix socket (``endpoint``), runs where the kernel allows in a network
    namespace of its own so that its HTTP port (anvil always opens one) is unreachable, and its
    one funded development account has a random key (``dev_key``). With ``pid_file`` a node
    that a killed run left on the same state is stopped before this one starts, and the file
    names this node while it runs. ``port`` 0 lets the OS choose the HTTP port. The process
    dies with its parent (SIGTERM, on Linux) and has a process group of its own. Use
    ``async with`` or ``start()``/``stop()``.
    """

    def __init__(
        self,
        *,
        chain_id: int = 31337,
        state: Path | None = None,
        state_interval: int | None = None,
        binary: Path | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 15.0,
        ipc: Path | None = None,
        pid_file: Path | None = None,
        port: int = 0,
    ) -> None:
        self.chain_id = chain_id
        self.requested_port = port
        self.state = state
        self.state_interval = state_interval
        self.binary = binary
        self.extra_args = extra_args
        self.start_timeout = start_timeout
        self.ipc = ipc.absolute() if ipc is not None else None  # web3 takes absolute paths
        self.pid_file = pid_file
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self._output: deque[bytes] = deque(maxlen=200)
        self._port: int | None = None
        self._dev_key: str | None = None
        self._network_isolated = False

    @property
    def port(self) -> int:
        """The TCP port anvil listens on (in its own network when isolated); only while running."""
        if self._port is None:
            raise LocalChainError("anvil is not running")
        return self._port

    @property
    def url(self) -> str:
        """The HTTP JSON-RPC URL of the running node; refused when its network is private."""
        port = self.port
        if self._network_isolated:
            raise LocalChainError("anvil's HTTP port is in a network of its own: use its endpoint")
        return f"http://127.0.0.1:{port}"

    @property
    def endpoint(self) -> str:
        """Where to send JSON-RPC: the IPC socket's path when there is one, else the URL."""
        return str(self.ipc) if self.ipc is not None and self._port is not None else self.url

    @property
    def network_isolated(self) -> bool:
        """Whether the running node's TCP port is in a network namespace of its own."""
        return self._network_isolated

    @property
    def dev_key(self) -> str:
        """The private key of the node's first funded development account (hex); only while
        running. It pays for what the node's chain needs, as a PoA genesis account does."""
        if self._dev_key is None:
            raise LocalChainError("anvil is not running or named no development account")
        return self._dev_key

    @property
    def pid(self) -> int:
        """The process id of the running node."""
        if self._process is None:
            raise LocalChainError("anvil is not running")
        return self._process.pid

    def command(self, binary: Path) -> list[str]:
        """The argument vector anvil is started with."""
        args = [str(binary), "--host", "127.0.0.1", "--port", str(self.requested_port)]
        args += ["--chain-id", str(self.chain_id)]
        if self.state is not None:
            args += ["--state", str(self.state)]
        if self.state_interval is not None:
            args += ["--state-interval", str(self.state_interval)]
        if self.ipc is not None:
            args += ["--ipc", str(self.ipc), "--mnemonic-random", "--accounts", "1"]
        return args + list(self.extra_args)

    def recent_output(self) -> str:
        """The last lines anvil printed (keys and mnemonic blanked), for diagnostics."""
        return b"".join(self._output).decode("utf-8", "replace")

    async def start(self) -> None:
        """Start anvil and wait until it listens; raises LocalChainError when it does not."""
        if self._process is not None:
            raise LocalChainError("anvil is already running")
        binary = self.binary or find_anvil()
        self._check_ipc_path()
        await self._stop_leftover()
        if self.state is not None:
            await asyncio.to_thread(loadable_state, self.state)
        self._process = await self._spawn(binary)
        stdout = self._stdout()
        try:
            self._port = await asyncio.wait_for(self._read_banner(stdout), self.start_timeout)
        except (TimeoutError, LocalChainError) as exc:
            await self.stop()
            raise LocalChainError(
                f"anvil did not start listening: {str(exc) or 'timed out'}\n{self.recent_output()}"
            ) from exc
        self._drain = asyncio.create_task(self._drain_output(stdout), name="anvil-output")
        if self.pid_file is not None:
            write_pid_file(self.pid_file, self._process.pid)

    def _check_ipc_path(self) -> None:
        if self.ipc is not None and len(os.fsencode(self.ipc)) > _MAX_SOCKET_PATH:
            raise LocalChainError(
                f"the chain node's socket path {self.ipc} is longer than the "
                f"{_MAX_SOCKET_PATH} bytes a Unix socket may have",
                advice="Move the data directory (--data-dir) to a shorter path.",
            )

    async def _stop_leftover(self) -> None:
        """Stop a node that a killed run left on the same state or socket, named in the pid file.

        Two nodes on one state file would each dump it every few seconds, and whichever
        stopped last would win with a stale chain. The leftover dumps its state as it stops.
        """
        if self.pid_file is None:
            return
        pid = read_pid_file(self.pid_file)
        if pid is None or not self._runs_our_chain(command_line(pid)):
            return
        log.warning("stopping the chain node left running by an earlier run (pid %d)", pid)
        try:
            await stop_process(pid, grace=_STOP_GRACE_S)
        except LocalChainError as exc:
            raise LocalChainError(
                f"a chain node left by an earlier run (pid {pid}) still runs on "
                f"{self.state or self.ipc} and cannot be stopped: {exc}",
                advice=f"Stop process {pid} (kill {pid}), then start trustfloor again.",
            ) from exc

    def _runs_our_chain(self, argv: list[str] | None) -> bool:
        """Whether a command line is anvil's on this node's state file or socket."""
        if not argv:
            return False
        pairs = set(itertools.pairwise(argv))
        return any(
            (option, str(path)) in pairs
            for option, path in (("--state", self.state), ("--ipc", self.ipc))
            if path is not None
        )

    async def _spawn(self, binary: Path) -> asyncio.subprocess.Process:
        """Start the process: in a private network when asked and the kernel allows it."""
        private = self.ipc is not None
        try:
            return await self._exec(binary, private)
        except subprocess.SubprocessError:
            if not private:
                raise LocalChainError(f"cannot prepare the process for {binary}") from None
        log.warning(
            "the chain node cannot have a network namespace of its own (unprivileged user "
            "namespaces are not allowed here): its JSON-RPC, developer methods included, also "
            "listens on a random 127.0.0.1 port that every local user can reach"
        )
        try:
            return await self._exec(binary, False)
        except subprocess.SubprocessError:
            raise LocalChainError(f"cannot prepare the process for {binary}") from None

    async def _exec(self, binary: Path, private_network: bool) -> asyncio.subprocess.Process:
        setup = child_setup(private_network=private_network)
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command(binary),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                process_group=0,
                preexec_fn=setup,
            )
        except OSError as exc:
            raise LocalChainError(f"cannot execute {binary}: {exc}") from exc
        self._network_isolated = setup is not None and setup.private_network
        return process

    async def _read_banner(self, stdout: asyncio.StreamReader) -> int:
        """Read output lines until anvil names its port; note its first development key."""
        while line := await stdout.readline():
            if self._dev_key is None and (key := _DEV_KEY.match(line)):
                self._dev_key = key.group(1).decode("ascii")
            self._output.append(_blank_secrets(line))
            if match := _LISTENING.search(line):
                return int(match.group(2))
        status = await self._process.wait() if self._process is not None else None
        raise LocalChainError(f"anvil exited with status {status}")

    async def _drain_output(self, stdout: asyncio.StreamReader) -> None:
        """Keep reading anvil's output so a full pipe never blocks it."""
        while line := await stdout.readline():
            self._output.append(line)

    def _stdout(self) -> asyncio.StreamReader:
        if self._process is None or self._process.stdout is None:
            raise LocalChainError("anvil is not running")
        return self._process.stdout

    async def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM anvil (it dumps ``state`` then) and wait; SIGKILL after ``grace`` seconds.

        Returns the exit status, or None when it was not running.
        """
        process, self._process, self._port = self._process, None, None
        self._dev_key = None
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._drain is not None:
            await self._drain
            self._drain = None
        if self.pid_file is not None and read_pid_file(self.pid_file) == process.pid:
            self.pid_file.unlink(missing_ok=True)
        return process.returncode

    async def __aenter__(self) -> LocalAnvil:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _blank_secrets(line: bytes) -> bytes:
    """The banner line with private keys and the mnemonic blanked out."""
    return _MNEMONIC.sub(rb"\1<hidden>", _PRIVATE_KEY.sub(b"0x<hidden>", line))


def loadable_state(state: Path) -> None:
    """Make sure anvil can load ``state``, and keep a copy of it that it can (``<state>.good``).

    anvil rewrites its state file in place (truncate, then write), so a kill or a power loss
    while it dumps leaves the file cut short, and anvil then refuses to start. A good file is
    copied aside; a broken one is replaced by that copy (the site's reconcile anchors again what
    the chain lost since), or moved to ``<state>.broken`` when there is none (a new chain).
    """
    if not state.exists():
        return
    good = state.with_name(state.name + ".good")
    if _parses(state):
        _copy_durably(state, good)
    elif good.exists():
        log.warning("%s is cut short (killed while saving): restoring %s", state, good.name)
        _copy_durably(good, state)
    else:
        log.warning("%s is cut short and no good copy exists: starting a new chain", state)
        state.replace(state.with_name(state.name + ".broken"))


def _parses(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except ValueError:
        return False
    return True


def _copy_durably(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` atomically: a crash leaves the old or the new copy."""
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as out:
        out.write(source.read_bytes())
        out.flush()
        os.fsync(out.fileno())
    partial.replace(target)
