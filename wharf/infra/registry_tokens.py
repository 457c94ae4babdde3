"""The tokens Wharf's registry trusts: JWTs in distribution's token format, signed with a
key only Wharf holds.

The registry is given the key's self-signed certificate as its root bundle. distribution
2.8 reads a token's `kid` as a libtrust fingerprint, so each token carries the
certificate itself in `x5c`; the registry checks it against the bundle and the signature
against it.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ISSUER = "wharf"
SERVICE = "wharf-registry"
TTL = 300  # seconds a token lives: docker asks again for each pull or push


@dataclass(frozen=True)
class Access:
    """One grant: `repository` (or `registry`), a name, the actions allowed on it."""

    type: str
    name: str
    actions: tuple[str, ...]

    def as_claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


class TokenSigner:
    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        self._key = key
        self.certificate = certificate
        self._x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)
                                     ).decode()

    @classmethod
    def load_or_make(cls, directory: Path, now: dt.datetime) -> TokenSigner:
        """The signing key and certificate kept in `directory` (the key readable by Wharf's
        user only), made on the first start."""
        directory.mkdir(parents=True, exist_ok=True)
        key_file, cert_file = directory / "token.key", directory / "token.crt"
        if key_file.exists() and cert_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return cls(key, x509.load_pem_x509_certificate(cert_file.read_bytes()))
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wharf registry tokens")])
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return cls(key, certificate)

    @property
    def bundle(self) -> bytes:
        """The PEM the registry trusts (its `rootcertbundle`)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, subject: str, access: list[Access], now: dt.datetime,
              ttl: int = TTL, audience: str = SERVICE) -> str:
        """A token for the registry `audience` names (Wharf's, or a mirror's)."""
        stamp = int(now.timestamp())
        claims = {"iss": ISSUER, "sub": subject, "aud": audience, "iat": stamp,
                  "nbf": stamp - 10, "exp": stamp + ttl, "jti": secrets.token_hex(16),
                  "access": [a.as_claim() for a in access]}
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"x5c": [self._x5c]})

    def read(self, token: str, now: dt.datetime, audience: str = SERVICE) -> dict[str, Any]:
        """The claims of a token this signer issued (for tests and for the driver's own
        checks); jwt.InvalidTokenError otherwise."""
        claims: dict[str, Any] = jwt.decode(
            token, self._key.public_key(), algorithms=["ES256"], audience=audience,
            issuer=ISSUER,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
        if claims["exp"] < now.timestamp():  # (by Wharf's clock, not the machine's)
            raise jwt.ExpiredSignatureError("expired")
        if claims["nbf"] > now.timestamp():
            raise jwt.ImmatureSignatureError("not yet valid")
        return claims
