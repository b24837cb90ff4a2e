"""The server's application certificate and the trust list for client certificates."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto import cert_gen
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from config import ServerSettings

log = logging.getLogger(__name__)

CERTIFICATE_DAYS = 5 * 365
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class PkiPaths:
    """Layout of ``<data dir>/pki`` (OPC 10000-12 §F.1 style folders)."""

    root: Path

    @property
    def own_certificate(self) -> Path:
        return self.root / "own" / "certs" / "server.der"

    @property
    def own_key(self) -> Path:
        return self.root / "own" / "private" / "server_key.pem"

    @property
    def trusted(self) -> Path:
        return self.root / "trusted" / "certs"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected" / "certs"

    def create(self) -> None:
        for folder in (
            self.own_certificate.parent,
            self.own_key.parent,
            self.trusted,
            self.rejected,
        ):
            folder.mkdir(parents=True, exist_ok=True)


def subject_alt_names(settings: ServerSettings) -> list[x509.GeneralName]:
    """URI = ApplicationUri (OPC 10000-6 §6.2.2), a DNS or IP entry per hostname and this host."""
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(settings.application_uri)]
    hosts = dict.fromkeys([*settings.hostnames, socket.gethostname()])
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _certificate_fits(cert: x509.Certificate, settings: ServerSettings) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    wanted = set(map(str, subject_alt_names(settings)))
    present = set(map(str, san))
    fresh = cert.not_valid_after_utc - RENEW_BEFORE > datetime.now(UTC)
    return settings.application_uri in uris and wanted <= present and fresh


def ensure_application_certificate(paths: PkiPaths, settings: ServerSettings) -> None:
    """Create key and certificate on first start; renew the certificate when it no longer fits."""
    paths.create()
    if paths.own_key.is_file():
        key = serialization.load_pem_private_key(paths.own_key.read_bytes(), password=None)
    else:
        key = cert_gen.generate_private_key()
        paths.own_key.write_bytes(cert_gen.dump_private_key_as_pem(key))
        paths.own_key.chmod(0o600)
    if paths.own_certificate.is_file():
        current = x509.load_der_x509_certificate(paths.own_certificate.read_bytes())
        if _certificate_fits(current, settings):
            return
        log.warning(
            "application certificate no longer matches the config or expires soon; renewing"
        )
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        settings.server_name,
        {"organizationName": "trustfloor"},
        subject_alt_names(settings),
        extended=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        days=CERTIFICATE_DAYS,
    )
    paths.own_certificate.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    log.info(
        "created application certificate %s for %s", paths.own_certificate, settings.application_uri
    )


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-1 thumbprint in hex, as OPC UA tools show it (OPC 10000-6 §6.2.3)."""
    return cert.fingerprint(hashes.SHA1()).hex()


class TrustListValidator:
    """Accepts client certificates found in ``pki/trusted``; copies others to ``pki/rejected``.

    With ``trust_unknown`` the time range and ApplicationUri are still checked, but any client
    certificate is accepted (demo and lab use only).
    """

    def __init__(self, paths: PkiPaths, *, trust_unknown: bool) -> None:
        self._paths = paths
        self._trust_unknown = trust_unknown
        self.on_reject: Callable[[], None] | None = None
        self._basic = CertificateValidator(
            CertificateValidatorOptions.BASIC_VALIDATION | CertificateValidatorOptions.PEER_CLIENT
        )

    async def __call__(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        try:
            await self._basic.validate(cert, app)
            if not self._trust_unknown and not await self._is_trusted(cert):
                raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
        except ServiceError:
            self._reject(cert, app)
            raise

    async def _is_trusted(self, cert: x509.Certificate) -> bool:
        """Re-reads the folder each time, so a certificate moved into it counts at once."""
        if not any(self._paths.trusted.glob("*.der")) and not any(
            self._paths.trusted.glob("*.pem")
        ):
            return False
        store = TrustStore([self._paths.trusted], [])
        await store.load()
        return bool(store.is_trusted(cert))

    def _reject(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        if self.on_reject is not None:
            self.on_reject()
        name = f"{thumbprint(cert)}.der"
        target = self._paths.rejected / name
        if not target.exists():
            target.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        log.warning(
            "refused client certificate of %s (%s); to trust it, move %s into %s",
            app.ApplicationUri,
            thumbprint(cert),
            target,
            self._paths.trusted,
        )
