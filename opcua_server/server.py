"""The trustfloor OPC UA server: secure endpoints, users, and the site's address space."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from asyncua import Server, ua

from config import SecurityPolicy, Settings
from models import Reading
from opcua_server.address_space import NAMESPACE_URI, MachinesAddressSpace
from opcua_server.errors import ServerError
from opcua_server.pki import PkiPaths, TrustListValidator, ensure_application_certificate
from opcua_server.users import ConfigUserManager

log = logging.getLogger(__name__)

_POLICY_TYPES: dict[SecurityPolicy, ua.SecurityPolicyType] = {
    SecurityPolicy.NONE: ua.SecurityPolicyType.NoSecurity,
    SecurityPolicy.BASIC256SHA256: ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    SecurityPolicy.AES128_SHA256_RSAOAEP: ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    SecurityPolicy.AES256_SHA256_RSAPSS: ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
}


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free on ``host`` now (used when the config asks for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class TrustfloorServer:
    """Owns the asyncua server: `start` makes it reachable, `publish` feeds the Machines folder."""

    def __init__(self, settings: Settings, environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        server_settings = settings.server
        if server_settings.port == 0:
            server_settings = server_settings.model_copy(
                update={"port": free_port(server_settings.host)}
            )
        self.server_settings = server_settings
        self.pki = PkiPaths(Path(settings.data_dir) / "pki")
        self._user_manager = ConfigUserManager(server_settings.users, environ)
        self._server = Server(user_manager=self._user_manager)
        self.address_space: MachinesAddressSpace | None = None

    @property
    def endpoint(self) -> str:
        return self.server_settings.endpoint

    @property
    def ua_server(self) -> Server:
        """The asyncua server, for the composition root and tests."""
        return self._server

    async def start(self) -> None:
        """Create certificates if needed, build the address space and listen."""
        cfg = self.server_settings
        ensure_application_certificate(self.pki, cfg)
        await self._server.init()
        self._server.set_endpoint(f"opc.tcp://{cfg.host}:{cfg.port}/{cfg.path}")
        self._server.set_server_name(cfg.server_name)
        await self._server.set_application_uri(cfg.application_uri)
        self._server.product_uri = cfg.product_uri
        await self._server.load_certificate(self.pki.own_certificate)
        await self._server.load_private_key(self.pki.own_key)
        self._server.set_security_policy([_POLICY_TYPES[p] for p in cfg.security_policies])
        tokens: list[type] = [ua.UserNameIdentityToken]
        if cfg.allow_insecure:
            tokens.append(ua.AnonymousIdentityToken)
        self._server.set_identity_tokens(tokens)
        self._server.set_certificate_validator(
            TrustListValidator(self.pki, trust_unknown=cfg.trust_unknown_clients)
        )
        namespace = await self._server.register_namespace(NAMESPACE_URI)
        self.address_space = MachinesAddressSpace(self._server, namespace)
        await self.address_space.build(self.settings.site.machines)
        try:
            await self._server.start()
        except OSError as error:
            raise ServerError(
                f"cannot listen on {cfg.host}:{cfg.port}: {error}",
                advice="choose another server.port or stop the process holding it",
            ) from error
        policies = ", ".join(p.value for p in cfg.security_policies)
        log.info("OPC UA server listening on %s (policies: %s)", self.endpoint, policies)

    async def publish(self, readings: Sequence[Reading]) -> None:
        """ReadingSink: apply readings to the Machines folder."""
        if self.address_space is not None:
            await self.address_space.publish(readings)

    async def put(self, readings: Sequence[Reading]) -> None:
        await self.publish(readings)

    async def stop(self) -> None:
        await self._server.stop()
