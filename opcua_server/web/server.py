"""The console's HTTP(S) listener: uvicorn on the site's own event loop, started with the site."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from config import WebSettings
from models import Clock
from opcua_server.web.app import WebState, build_app
from opcua_server.web.errors import WebError
from opcua_server.web.services import ConsoleServices

log = logging.getLogger(__name__)

GRACE_S = 2.0
"""How long open requests may take to finish when the console stops."""


class _InProcessServer(uvicorn.Server):
    """uvicorn without its signal handlers: the site's process owns Ctrl+C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebConsole:
    """Serves the console on ``settings.host``:``settings.port`` (0: a free port, read back)."""

    def __init__(self, settings: WebSettings, services: ConsoleServices, clock: Clock) -> None:
        self.settings = settings
        self.app = build_app(services, settings, clock)
        self._server: _InProcessServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = settings.port

    @property
    def state(self) -> WebState:
        state: WebState = self.app.state.web
        return state

    @property
    def url(self) -> str:
        return self.settings.model_copy(update={"port": self.port}).url

    async def start(self) -> None:
        """Listen, and return once the server accepts connections."""
        cfg = self.settings
        sock = self._bind()
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ssl_certfile=str(cfg.tls_cert_file) if cfg.tls_cert_file else None,
            ssl_keyfile=str(cfg.tls_key_file) if cfg.tls_key_file else None,
            timeout_graceful_shutdown=int(GRACE_S),
            server_header=False,
        )
        try:
            config.load()
        except (OSError, ValueError) as error:
            sock.close()
            raise WebError(
                f"cannot load the web console's TLS certificate or key: {error}",
                advice="point web.tls_cert_file and web.tls_key_file at PEM files",
            ) from error
        self._server = _InProcessServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="web")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise WebError("the web console stopped while starting")
            await asyncio.sleep(0.02)
        log.info("web console on %s", self.url)

    def _bind(self) -> socket.socket:
        cfg = self.settings
        sock = socket.socket(socket.AF_INET6 if ":" in cfg.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((cfg.host, cfg.port))
        except OSError as error:
            sock.close()
            raise WebError(
                f"web console cannot listen on {cfg.host}:{cfg.port}: {error}",
                advice="choose another web.port, or 0 for a free one",
            ) from error
        sock.listen(128)
        sock.setblocking(False)
        return sock

    async def stop(self) -> None:
        """End live streams, let open requests finish, close the listener."""
        self.state.closing.set()
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = None
        self._task = None
