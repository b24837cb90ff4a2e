"""A part certificate as a W3C Verifiable Credential 2.0 secured with VC-JOSE-COSE (ES256K)."""

from __future__ import annotations

import json

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from ledger.canonical import JsonObject
from ledger.errors import ExportError
from ledger.exports.did import did_key, private_jwk, public_jwk, public_key_of, verification_method
from ledger.exports.status_list import STATUS_PURPOSES, VC_V2_CONTEXT, status_entry
from ledger.links import PublicLinks
from ledger.signing import SiteKey
from models import AttestedRecord

ALGORITHM = "ES256K"
MEDIA_TYPE = "vc+jwt"
CREDENTIAL_TYPE = "PartCertificateCredential"


def certificate_credential(
    certificate: AttestedRecord, *, issuer: str, status_index: int, links: PublicLinks
) -> JsonObject:
    """The unsigned credential: the signed certificate as subject, its entries in the revocation
    and suspension status lists, and its Merkle inclusion proof and chain anchor as evidence."""
    document = certificate.document
    serial = str(document["serial"])
    issued_at = str(document.get("issued_at", ""))
    credential: JsonObject = {
        "@context": [VC_V2_CONTEXT],
        "id": f"urn:trustfloor:certificate:{certificate.leaf_hash}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "credentialSubject": {
            "id": links.verify_url(serial),
            "type": "PrintedPart",
            "serial": serial,
            "certificate": document,
        },
        "credentialStatus": [
            status_entry(
                list_url=links.status_list_url(purpose), purpose=purpose, index=status_index
            )
            for purpose in STATUS_PURPOSES
        ],
        "evidence": [_proof_evidence(certificate)],
    }
    if issued_at:
        credential["validFrom"] = issued_at
    return credential


def _proof_evidence(certificate: AttestedRecord) -> JsonObject:
    """The certificate's leaf, its secp256k1 signature, inclusion proof and anchor."""
    evidence: JsonObject = {
        "type": ["MerkleInclusionProof"],
        "leafHash": certificate.leaf_hash,
        "signature": certificate.signature,
    }
    if certificate.proof is not None:
        evidence["inclusionProof"] = certificate.proof.model_dump(mode="json")
    if certificate.anchor is not None:
        evidence["anchor"] = certificate.anchor.model_dump(mode="json")
    return evidence


def sign_credential(credential: JsonObject, key: SiteKey) -> str:
    """The compact JWS (``application/vc+jwt``) of ``credential``, signed by the site's key."""
    issuer = did_key(key.public_key)
    if credential.get("issuer") != issuer:
        raise ExportError("the credential's issuer is not the did:key of the signing key")
    jwk = ECKey.import_key(private_jwk(key.public_key, bytes.fromhex(key.secret_hex()[2:])))
    header = {"alg": ALGORITHM, "typ": MEDIA_TYPE, "cty": "vc", "kid": verification_method(issuer)}
    payload = json.dumps(credential, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, jwk, algorithms=[ALGORITHM])


def verify_credential(token: str) -> JsonObject:
    """The credential of a compact JWS once its signature holds under its issuer's did:key;
    ExportError saying what failed otherwise."""
    try:
        unverified = jws.extract_compact(token.strip().encode("ascii"))
        credential = json.loads(unverified.payload)
    except (JoseError, ValueError, UnicodeError) as error:
        raise ExportError(f"not a compact JWS credential: {error}") from None
    issuer = credential.get("issuer") if isinstance(credential, dict) else None
    if not isinstance(issuer, str):
        raise ExportError("the credential names no issuer")
    if unverified.headers().get("kid") != verification_method(issuer):
        raise ExportError("the JWS kid is not the issuer's verification method")
    jwk = ECKey.import_key(public_jwk(public_key_of(issuer)))
    try:
        jws.deserialize_compact(token.strip(), jwk, algorithms=[ALGORITHM])
    except JoseError as error:
        raise ExportError(f"the credential's signature does not hold: {error}") from None
    result: JsonObject = credential
    return result
