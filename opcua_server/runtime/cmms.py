"""The site's CMMS link: work requests out through a signed outbox, closures in on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from config import Settings
from maintenance import (
    ClosureReceiver,
    ClosureSecretError,
    WebhookNotifier,
    WorkRequestDesk,
    WorkRequestStore,
)
from models import Clock

log = logging.getLogger(__name__)


async def start_cmms(
    settings: Settings,
    data_dir: Path,
    environ: Mapping[str, str] | None,
    clock: Clock,
    background: list[asyncio.Task[None]],
    stack: contextlib.AsyncExitStack,
) -> WorkRequestDesk:
    """The desk every alert opens its work request at; its outbox and receiver run until
    ``stack`` closes."""
    env = os.environ if environ is None else environ
    m = settings.maintenance
    store = WorkRequestStore(data_dir / m.cmms.work_requests_file)
    stack.callback(store.close)
    outbox = None
    if m.cmms_webhook is not None:
        # its own spool beside the planner webhook's, whatever the two settings name
        spool = f"cmms-{m.cmms_webhook.spool_file}"
        hook = m.cmms_webhook.model_copy(update={"spool_file": spool})
        outbox = WebhookNotifier.from_settings(hook, data_dir, environ=env, clock=clock)
        stack.push_async_callback(outbox.close)
        background.append(asyncio.create_task(outbox.run(), name="cmms-outbox"))
    desk = WorkRequestDesk(store, outbox, clock)
    if m.cmms.receiver_port is not None:
        secret = env.get(m.cmms.receiver_secret_env, "")
        if not secret:
            raise ClosureSecretError(
                f"environment variable {m.cmms.receiver_secret_env} is not set: the closure "
                "receiver needs the secret the CMMS signs closures with"
            )
        receiver = ClosureReceiver(
            desk, secret.encode(), m.cmms.receiver_host, m.cmms.receiver_port
        )
        receiver.start()
        stack.callback(receiver.stop)
        log.info("closures from the CMMS are received at %s/work-requests/", receiver.url)
    return desk
