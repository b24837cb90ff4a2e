"""An OPC UA client link's life, for machines and printers: connect secured, relay, reconnect."""

# The machine connector and the printer driver keep a session the same way: a client as
# trustfloor (its user, its certificate from the site's PKI folder), a link that records why it
# ended (the server went away, a subscription went bad, the sink fell behind), relays that run
# until the link ends, a disconnect that never hangs, and a loop that reports the link down and
# tries again after a back-off. What each subscribes to and publishes stays with it.

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from asyncua import Client, ua
from asyncua.crypto import security_policies

from connectors.opcua_client.errors import OpcUaClientError
from connectors.opcua_client.quality import status_name
from connectors.resilience import Backoff
from models import OpcUaEndpoint, SecurityPolicy

log = logging.getLogger(__name__)

CLIENT_APPLICATION_URI = "urn:trustfloor:opcua-client"
"""ApplicationUri of trustfloor as an OPC UA client (in its certificate's subjectAltName)."""

LINK_ERRORS = (OSError, TimeoutError, ua.UaError)
"""What a lost or refused connection raises (ConnectionError is an OSError)."""

SECURITY_POLICIES: dict[SecurityPolicy, type[security_policies.SecurityPolicy]] = {
    SecurityPolicy.BASIC256SHA256: security_policies.SecurityPolicyBasic256Sha256,
    SecurityPolicy.AES128_SHA256_RSAOAEP: security_policies.SecurityPolicyAes128Sha256RsaOaep,
    SecurityPolicy.AES256_SHA256_RSAPSS: security_policies.SecurityPolicyAes256Sha256RsaPss,
}

_certificate_lock = asyncio.Lock()
"""Links share the site's client certificate: one coroutine creates it, once."""

L = TypeVar("L", bound="Link")


@dataclass(slots=True)
class Link:
    """One session: its client, and why it ended (set once, by whoever noticed first)."""

    client: Client
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = "connection lost"

    def end(self, reason: str) -> None:
        if not self.lost.is_set():
            self.reason = reason
            self.lost.set()


def describe(error: BaseException) -> str:
    """A link failure in a few words: the status code's name, else the error's text."""
    if isinstance(error, ua.UaStatusCodeError):
        return status_name(error.code)
    return str(error) or type(error).__name__


def endpoint_password(
    endpoint: OpcUaEndpoint,
    environ: Mapping[str, str],
    *,
    owner: str,
    error: type[OpcUaClientError] = OpcUaClientError,
) -> str | None:
    """The user's password from the variable the endpoint names (None when anonymous);
    ``error`` naming ``owner`` when the variable is not set."""
    variable = endpoint.password_env
    if variable is None:
        return None
    password = environ.get(variable)
    if not password:
        raise error(
            f"{owner}: environment variable {variable} (the OPC UA password) is not set",
            advice=f"export {variable} before starting trustfloor",
        )
    return password


def require_pki(
    endpoint: OpcUaEndpoint,
    pki_dir: Path | None,
    *,
    owner: str,
    error: type[OpcUaClientError] = OpcUaClientError,
) -> None:
    """Refuse, with ``error`` naming ``owner``, a secured endpoint when no PKI folder holds the
    client certificate."""
    if endpoint.security_policy is not SecurityPolicy.NONE and pki_dir is None:
        raise error(
            f"{owner}: security policy {endpoint.security_policy} needs a client certificate, "
            "and no PKI folder was given",
            advice="pass the data directory's pki folder (or use security None in a lab)",
        )


def new_client(endpoint: OpcUaEndpoint, password: str | None) -> Client:
    """An asyncua client for ``endpoint`` as trustfloor (its user, when it names one)."""
    client = Client(endpoint.url, timeout=endpoint.timeout_s)
    client.application_uri = CLIENT_APPLICATION_URI
    client.name = client.description = "trustfloor"
    if endpoint.username is not None:
        client.set_user(endpoint.username)
        client.set_password(password or "")
    return client


async def secure(
    client: Client,
    endpoint: OpcUaEndpoint,
    pki_dir: Path | None,
    error: type[OpcUaClientError] = OpcUaClientError,
) -> None:
    """Set the endpoint's policy and mode with the site's client certificate (made once, in
    ``pki_dir``), unless the endpoint says security None; and the X.509 user, if it names one
    (OPC 10000-4 §7.41.5)."""
    if endpoint.user_certificate_file is not None and endpoint.user_key_file is not None:
        await client.load_client_certificate(str(endpoint.user_certificate_file))
        await client.load_private_key(endpoint.user_key_file)
    if endpoint.security_policy is SecurityPolicy.NONE:
        return
    if pki_dir is None:
        raise error(
            f"security policy {endpoint.security_policy} needs a client certificate, and no "
            "PKI folder was given",
            advice="pass the data directory's pki folder",
        )
    async with _certificate_lock:
        cert, key = await client.setup_self_signed_certificate(
            pki_dir / "private" / "client_key.pem", pki_dir / "own" / "client.der"
        )
    await client.set_security(
        SECURITY_POLICIES[endpoint.security_policy],
        certificate=str(cert),
        private_key=str(key),
        mode=ua.MessageSecurityMode[endpoint.security_mode.value],
    )


async def connect(link: Link) -> None:
    """Connect the link's client; a connection lost later ends the link with its cause."""

    async def on_lost(error: Exception) -> None:
        link.end(f"connection lost: {describe(error)}")

    link.client.connection_lost_callback = on_lost
    await link.client.connect()


async def close_client(client: Client, timeout_s: float, name: str) -> None:
    """Disconnect ``client`` within ``timeout_s``; a link already gone is only logged."""
    try:
        await asyncio.wait_for(client.disconnect(), timeout_s)
    except LINK_ERRORS as error:
        log.debug("%s: disconnect: %r", name, error)


async def serve_one_session(
    client: Client,
    endpoint: OpcUaEndpoint,
    name: str,
    open_link: Callable[[Client], Awaitable[L]],
    serve: Callable[[L], Awaitable[None]],
    *,
    refusals: tuple[type[Exception], ...] = (),
) -> str:
    """Open a link on ``client`` and serve it until it ends; why it ended (or could not open).

    A ``refusals`` error while opening (a printer without a required node, say) is the reason
    as it says it. The client is disconnected whatever happens, also when cancelled while
    connecting (asyncua's channel tasks would outlive it otherwise).
    """
    try:
        link = await open_link(client)
    except refusals as error:
        await close_client(client, endpoint.timeout_s, name)
        return str(error)
    except LINK_ERRORS as error:
        await close_client(client, endpoint.timeout_s, name)
        return f"cannot connect to {endpoint.url}: {describe(error)}"
    except asyncio.CancelledError:
        await close_client(client, endpoint.timeout_s, name)
        raise
    try:
        await serve(link)
    except LINK_ERRORS as error:
        link.end(f"connection lost: {describe(error)}")
    finally:
        await close_client(client, endpoint.timeout_s, name)
    return link.reason


async def relay_until_lost(
    link: Link, relays: Sequence[Coroutine[Any, Any, None]], name: str
) -> None:
    """Run the relays until the link ends or one of them returns or fails (a failing sink
    propagates); every relay is cancelled and awaited on the way out."""
    tasks = [asyncio.create_task(relay, name=f"{name}:relay") for relay in relays]
    watcher = asyncio.create_task(link.lost.wait(), name=f"{name}:watch")
    try:
        done, _ = await asyncio.wait([watcher, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in (watcher, *tasks):
            task.cancel()
        await asyncio.gather(watcher, *tasks, return_exceptions=True)


async def keep_sessions(
    serve_one: Callable[[], Awaitable[str]],
    link_down: Callable[[str], Awaitable[None]],
    backoff: Backoff,
) -> NoReturn:
    """Serve sessions until cancelled: after each, ``link_down`` with why it ended, then wait
    the back-off's next delay (the session resets it once it is up)."""
    while True:
        reason = await serve_one()
        await link_down(reason)
        await asyncio.sleep(backoff.next_delay())
