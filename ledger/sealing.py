"""Sealed dossiers: a design folder encrypted by its OEM for one licensee site (ECIES, AES-GCM)."""

# A sealed package is a JSON file addressed by its SHA-256 (the file name is that hash):
#   header     schema, design (id, revision, dossier hash, key), recipient site (address and
#              public key), OEM address, ephemeral public key, the wrapped content key and nonces
#   signature  the OEM's recoverable secp256k1 signature over SHA-256(SEAL_TAG || JCS(header) ||
#              SHA-256(ciphertext))
#   ciphertext base64 of AES-256-GCM(content key, payload, AAD = JCS(header)); the payload is a
#              tar archive of the design folder's manifest and the files it lists.
# The content key is wrapped for the site's public key (ECIES over secp256k1: ECDH with an
# ephemeral key, HKDF-SHA256, AES-256-GCM), in the spirit of 3MF Secure Content. Only the
# recipient's key unwraps it; any change to header or ciphertext fails the GCM tags or the
# OEM's signature. The site opens a package only into a job's private folder, after checking
# the licence and the dossier hash against the chain, and removes the clear files afterwards.

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from coincurve import PrivateKey, PublicKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.canonical import JsonObject, canonical_json, design_key
from ledger.contract import LicenceState
from ledger.designs import MANIFEST_NAMES, load_design
from ledger.errors import SealedDossierError, SigningError
from ledger.signing import SiteKey, address_of, recover_address, same_address
from models import parse_json_text

SEALED_SCHEMA = "trustfloor.sealed-dossier/1"
SEAL_TAG = b"trustfloor-sealed-dossier-v1\x00"
WRAP_INFO = b"trustfloor-dossier-key-v1"
SEALED_SUFFIX = ".sealed.json"
JOBS_DIR = "jobs"
"""Where a site opens a sealed dossier for a job: ``<data_dir>/jobs`` (0700), emptied after."""


def site_public_key(key: SiteKey) -> str:
    """The site's public key as the OEM needs it to seal for the site (33 bytes, hex)."""
    return key.public_key.hex()


def _kek(shared: bytes, ephemeral: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral, info=WRAP_INFO).derive(shared)


def _payload(folder: Path) -> bytes:
    """A deterministic tar of the manifest and the files it lists (sorted, no owners/times)."""
    dossier = load_design(folder)
    manifest = next(name for name in MANIFEST_NAMES if (folder / name).is_file())
    names = sorted({manifest, *(f.path for f in dossier.files)})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            data = (folder / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _signed_digest(header: JsonObject, ciphertext: bytes) -> bytes:
    return hashlib.sha256(
        SEAL_TAG + canonical_json(header) + hashlib.sha256(ciphertext).digest()
    ).digest()


def seal_dossier(folder: Path, recipient_public_key: str, oem: SiteKey) -> bytes:
    """The sealed package of a design folder for the site whose public key (hex) is given,
    signed by the OEM: the bytes to write under ``package_address(bytes)``."""
    try:
        recipient = PublicKey(bytes.fromhex(recipient_public_key.removeprefix("0x")))
    except ValueError:
        raise SealedDossierError(
            "the site's public key is not a secp256k1 key (33 bytes hex)"
        ) from None
    dossier = load_design(folder)
    ephemeral = PrivateKey(secrets.token_bytes(32))
    ephemeral_public = ephemeral.public_key.format(compressed=True)
    content_key, nonce, wrap_nonce = (
        AESGCM.generate_key(256),
        secrets.token_bytes(12),
        secrets.token_bytes(12),
    )
    kek = _kek(ephemeral.ecdh(recipient.format(compressed=True)), ephemeral_public)
    header: JsonObject = {
        "schema": SEALED_SCHEMA,
        "design": {
            "id": dossier.id,
            "revision": dossier.revision,
            "dossier_sha256": dossier.dossier_sha256,
            "key": design_key(dossier.id, dossier.revision).hex(),
        },
        "recipient": {"site": address_of(recipient), "public_key": recipient_public_key},
        "oem": oem.address,
        "ephemeral_public_key": ephemeral_public.hex(),
        "wrap_nonce": wrap_nonce.hex(),
        "nonce": nonce.hex(),
    }
    aad = canonical_json(header)
    header["wrapped_key"] = AESGCM(kek).encrypt(wrap_nonce, content_key, aad).hex()
    ciphertext = AESGCM(content_key).encrypt(nonce, _payload(folder), canonical_json(header))
    package = {
        "header": header,
        "signature": oem.sign(_signed_digest(header, ciphertext)).hex(),
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
    }
    return (json.dumps(package, indent=1) + "\n").encode("utf-8")


def package_address(package: bytes) -> str:
    """What a sealed package is addressed by: the SHA-256 of its bytes (hex)."""
    return hashlib.sha256(package).hexdigest()


@dataclass(frozen=True, slots=True)
class SealedDossier:
    """A sealed package as read (nothing decrypted yet)."""

    header: JsonObject
    signature: bytes
    ciphertext: bytes

    @property
    def design(self) -> tuple[str, str, bytes, str]:
        """(id, revision, design key, dossier hash) the header names."""
        d = self.header["design"]
        assert isinstance(d, dict)
        return (
            str(d["id"]),
            str(d["revision"]),
            bytes.fromhex(str(d["key"])),
            str(d["dossier_sha256"]),
        )

    @property
    def recipient(self) -> str:
        r = self.header["recipient"]
        assert isinstance(r, dict)
        return str(r["site"])

    def sealer(self) -> str:
        """The address that signed the package (should be the design's OEM)."""
        return recover_address(_signed_digest(self.header, self.ciphertext), self.signature)


def read_sealed(package: bytes, address: str) -> SealedDossier:
    """Parse a package, refusing it when its bytes do not hash to the address it is kept by."""
    actual = package_address(package)
    if actual != address.lower():
        raise SealedDossierError(
            f"tampered: the package hashes to {actual}, not to its address {address}"
        )
    try:
        raw = parse_json_text(package, what="sealed dossier")
        header, signature = raw["header"], bytes.fromhex(raw["signature"])
        ciphertext = base64.b64decode(raw["ciphertext"], validate=True)
        if not isinstance(header, dict) or header.get("schema") != SEALED_SCHEMA:
            raise ValueError(f"not a {SEALED_SCHEMA} package")
    except (ValueError, KeyError, TypeError) as exc:
        raise SealedDossierError(f"the package cannot be read: {exc}") from None
    return SealedDossier(header, signature, ciphertext)


def check_sealed(
    sealed: SealedDossier,
    site: str,
    *,
    design_oem: str | None,
    registered: bytes | None,
    licence: LicenceState,
    at: int,
) -> None:
    """Refuse a package not for ``site``, not sealed by the design's OEM, whose dossier is not
    the registered one, or when the site's licence is not valid at Unix time ``at``."""
    design_id, revision, _, dossier_hash = sealed.design
    label = f"{design_id} revision {revision}"
    if not same_address(sealed.recipient, site):
        raise SealedDossierError(f"sealed for another site ({sealed.recipient}), not for {site}")
    try:
        sealer = sealed.sealer()
    except SigningError as exc:
        raise SealedDossierError(f"tampered: the OEM's signature does not hold ({exc})") from None
    if design_oem is None or not same_address(sealer, design_oem):
        raise SealedDossierError(
            f"tampered or forged: sealed by {sealer}, not by the OEM of {label} ({design_oem})"
        )
    if registered is None or registered.hex() != dossier_hash:
        raise SealedDossierError(f"the package's dossier of {label} is not the registered one")
    if (why := licence.refusal(at)) is not None:
        raise SealedDossierError(f"{label}: {why}")


def _open_payload(sealed: SealedDossier, key: SiteKey) -> bytes:
    header = dict(sealed.header)
    wrapped = bytes.fromhex(str(header.pop("wrapped_key")))
    ephemeral = bytes.fromhex(str(header["ephemeral_public_key"]))
    private = PrivateKey(bytes.fromhex(key.secret_hex()[2:]))
    kek = _kek(private.ecdh(ephemeral), ephemeral)
    try:
        content_key = AESGCM(kek).decrypt(
            bytes.fromhex(str(header["wrap_nonce"])), wrapped, canonical_json(header)
        )
        return AESGCM(content_key).decrypt(
            bytes.fromhex(str(header["nonce"])), sealed.ciphertext, canonical_json(sealed.header)
        )
    except InvalidTag:
        raise SealedDossierError(
            "tampered: the package cannot be opened with this site's key"
        ) from None


@contextmanager
def opened_dossier(sealed: SealedDossier, key: SiteKey, job_dir: Path) -> Iterator[Path]:
    """The design folder in a private folder of the job (0700), removed on exit; refused when
    the decrypted dossier does not hash to the one the package (and chain) names. Call
    ``check_sealed`` first."""
    payload = _open_payload(sealed, key)
    job_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="dossier-", dir=job_dir))
    try:
        with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
            tar.extractall(folder, filter="data")
        opened = load_design(folder)
        if opened.dossier_sha256 != sealed.design[3]:
            raise SealedDossierError(
                f"tampered: the opened dossier hashes to {opened.dossier_sha256}, the package "
                f"names {sealed.design[3]}"
            )
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class SealReader(Protocol):
    """What opening a sealed dossier reads from the chain (ledger.chain.ChainClient has it)."""

    async def design_oem(self, design_key: bytes) -> str | None: ...

    async def dossier_hash(self, design_key: bytes) -> bytes | None: ...

    async def licence(self, design_key: bytes, licensee: str) -> LicenceState: ...


def _sealed_in(folder: Path) -> Path | None:
    """The sealed package a design folder holds instead of the clear dossier, if it does."""
    if not folder.is_dir() or any((folder / name).is_file() for name in MANIFEST_NAMES):
        return None
    packages = sorted(folder.glob("*" + SEALED_SUFFIX))
    return packages[-1] if packages else None


@asynccontextmanager
async def dossier_for_job(
    folder: Path,
    design: tuple[str, str],
    key: SiteKey,
    chain: SealReader | None,
    job_dir: Path,
    at: int,
) -> AsyncIterator[Path]:
    """The design folder a job prints from: ``folder`` itself when it holds the clear dossier;
    else the sealed package in it, checked against the chain (sealed for this site by the
    design's OEM, the registered dossier, a licence valid at ``at``), opened into a private
    folder of ``job_dir`` and removed when the block ends."""
    package = await asyncio.to_thread(_sealed_in, folder)
    if package is None:
        yield folder
        return
    data = await asyncio.to_thread(package.read_bytes)
    sealed = read_sealed(data, package.name.removesuffix(SEALED_SUFFIX))
    design_id, revision, dkey, _ = sealed.design
    if (design_id, revision) != design:
        raise SealedDossierError(
            f"the package kept for {design[0]} revision {design[1]} seals {design_id} "
            f"revision {revision}"
        )
    if chain is None:
        raise SealedDossierError("a sealed dossier is checked against the chain: none is set")
    check_sealed(
        sealed,
        key.address,
        design_oem=await chain.design_oem(dkey),
        registered=await chain.dossier_hash(dkey),
        licence=await chain.licence(dkey, key.address),
        at=at,
    )
    with opened_dossier(sealed, key, job_dir) as opened:
        yield opened
