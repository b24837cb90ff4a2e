"""Child processes that die with trustfloor, and the pid file that finds one a killed run left."""

# On Linux a child started with ChildSetup as its preexec_fn gets ``death_signal`` from the
# kernel when the thread that started it ends (PR_SET_PDEATHSIG, prctl(2)); trustfloor starts
# its children from the event loop's thread, which lives as long as the process. With
# ``private_network`` the child also enters a user and network namespace of its own
# (unshare(2), user_namespaces(7)): whatever TCP port it opens is unreachable from the host.

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from ledger.errors import LocalChainError

PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal the calling process gets when its parent dies."""
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
"""unshare(2) flags (linux/sched.h)."""

_LibcCall = Callable[..., int]


class ChildSetup:
    """A preexec_fn: private network (optional), then the parent-death signal.

    Built in the parent just before it starts the child; the call runs in the forked child, so
    it only makes system calls resolved beforehand (no imports, no logging, no locks).
    Raises in the child when the private network cannot be set up; the start then fails with
    ``subprocess.SubprocessError`` and the caller may start the child again without it.
    """

    def __init__(
        self, *, death_signal: signal.Signals = signal.SIGTERM, private_network: bool = False
    ) -> None:
        self.death_signal = death_signal
        self.private_network = private_network
        self._parent = os.getpid()
        libc = ctypes.CDLL(None, use_errno=True)
        self._prctl: _LibcCall = libc.prctl
        self._unshare: _LibcCall = libc.unshare
        self._uid_map = f"{os.getuid()} {os.getuid()} 1".encode()
        self._gid_map = f"{os.getgid()} {os.getgid()} 1".encode()

    def __call__(self) -> None:
        if self.private_network:
            self._enter_private_network()
        if self._prctl(PR_SET_PDEATHSIG, int(self.death_signal), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != self._parent:  # the parent died before the signal was armed
            os._exit(1)

    def _enter_private_network(self) -> None:
        """A new user namespace mapping only our own ids, owning a new network namespace."""
        if self._unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER | CLONE_NEWNET) failed")
        _write_proc("/proc/self/setgroups", b"deny")
        _write_proc("/proc/self/uid_map", self._uid_map)
        _write_proc("/proc/self/gid_map", self._gid_map)


def child_setup(*, private_network: bool = False) -> ChildSetup | None:
    """The preexec_fn tying a child's life to this process; None where prctl is not there."""
    if sys.platform != "linux":
        return None
    return ChildSetup(private_network=private_network)


def _write_proc(path: str, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY)
    try:
        os.write(descriptor, content)
    finally:
        os.close(descriptor)


# ---------------------------------------------------------------------- pid files


def write_pid_file(path: Path, pid: int) -> None:
    """Record ``pid`` in ``path`` atomically (a crash leaves the old or the new number)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{pid}\n", encoding="ascii")
    partial.replace(path)


def read_pid_file(path: Path) -> int | None:
    """The pid recorded in ``path``, or None when there is none or it is not a number."""
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def command_line(pid: int) -> list[str] | None:
    """The argument vector of a live process (Linux /proc); None when gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:  # zombies and kernel threads have none
        return None
    return raw.rstrip(b"\0").decode("utf-8", "replace").split("\0")


async def stop_process(pid: int, grace: float) -> None:
    """SIGTERM ``pid`` (not a child of ours), wait until it ends, SIGKILL after ``grace`` s.

    The process is held by a pidfd (pidfd_open(2)) so a recycled pid is never signalled.
    Raises LocalChainError when it may not be signalled or outlives SIGKILL.
    """
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        for sent in (signal.SIGTERM, signal.SIGKILL):
            try:
                signal.pidfd_send_signal(descriptor, sent)
            except ProcessLookupError:
                return
            except PermissionError as exc:
                raise LocalChainError(
                    f"cannot stop process {pid}: {exc}",
                    advice=f"Stop process {pid} as its owner (kill {pid}), then start again.",
                ) from exc
            if await _ended(descriptor, grace):
                return
        raise LocalChainError(f"process {pid} did not end after SIGKILL")
    finally:
        os.close(descriptor)


async def _ended(pidfd: int, wait_s: float) -> bool:
    """Whether the process ends within ``wait_s`` seconds (its pidfd turns readable)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(pidfd, readable)
    try:
        async with asyncio.timeout(wait_s):
            await ended
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(pidfd)
    return True
