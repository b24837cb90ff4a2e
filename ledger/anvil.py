"""A local development chain: the anvil binary from npm, started on 127.0.0.1 with a free port."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import re
import shutil
import signal
from collections import deque
from pathlib import Path
from types import TracebackType

from ledger.errors import LocalChainError

log = logging.getLogger(__name__)
_LISTENING = re.compile(rb"Listening on ([0-9.]+):(\d+)")
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
    """An anvil process on 127.0.0.1 with a port the OS chose, read back from its output.

    With ``state`` the chain is loaded from and dumped to that file (on stop and every
    ``state_interval`` seconds). Use ``async with`` or ``start()``/``stop()``.
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
    ) -> None:
        self.chain_id = chain_id
        self.state = state
        self.state_interval = state_interval
        self.binary = binary
        self.extra_args = extra_args
        self.start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self._output: deque[bytes] = deque(maxlen=200)
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The TCP port anvil listens on; only while running."""
        if self._port is None:
            raise LocalChainError("anvil is not running")
        return self._port

    @property
    def url(self) -> str:
        """The JSON-RPC URL of the running node."""
        return f"http://127.0.0.1:{self.port}"

    def command(self, binary: Path) -> list[str]:
        """The argument vector anvil is started with."""
        args = [str(binary), "--host", "127.0.0.1", "--port", "0"]
        args += ["--chain-id", str(self.chain_id)]
        if self.state is not None:
            args += ["--state", str(self.state)]
        if self.state_interval is not None:
            args += ["--state-interval", str(self.state_interval)]
        return args + list(self.extra_args)

    def recent_output(self) -> str:
        """The last lines anvil printed, for diagnostics."""
        return b"".join(self._output).decode("utf-8", "replace")

    async def start(self) -> None:
        """Start anvil and wait until it listens; raises LocalChainError when it does not."""
        if self._process is not None:
            raise LocalChainError("anvil is already running")
        binary = self.binary or find_anvil()
        if self.state is not None:
            await asyncio.to_thread(loadable_state, self.state)
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command(binary),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            raise LocalChainError(f"cannot execute {binary}: {exc}") from exc
        stdout = self._stdout()
        try:
            self._port = await asyncio.wait_for(self._read_port(stdout), self.start_timeout)
        except (TimeoutError, LocalChainError) as exc:
            await self.stop()
            raise LocalChainError(
                f"anvil did not start listening: {str(exc) or 'timed out'}\n{self.recent_output()}"
            ) from exc
        self._drain = asyncio.create_task(self._drain_output(stdout), name="anvil-output")

    async def _read_port(self, stdout: asyncio.StreamReader) -> int:
        """Read output lines until anvil names its port."""
        while line := await stdout.readline():
            self._output.append(line)
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
