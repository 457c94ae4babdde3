"""The credentials Wharf reaches a remote Docker engine with: mutual TLS, as Docker's
`--tlsverify` asks (a CA that signed the engine's certificate and Wharf's client
certificate, and the client's key). Checked here for shape only; whether they open the
engine is learned by asking it when the host joins."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from wharf.domain.errors import InvalidInput

MAX_PEM = 16 * 1024


@dataclass(frozen=True)
class TlsCredentials:
    ca: str  # PEM: the CA the engine's certificate is signed by
    cert: str  # PEM: Wharf's client certificate, signed by a CA the engine trusts
    key: str  # PEM: the client certificate's private key

    def check(self) -> str:
        """The client certificate's SHA-256 fingerprint, or InvalidInput naming the part
        that is not what it should be."""
        for field in ("ca", "cert", "key"):
            text = getattr(self, field)
            if not text or len(text) > MAX_PEM:
                raise InvalidInput(f"tls.{field}", f"a PEM text of at most {MAX_PEM} bytes")
        try:
            x509.load_pem_x509_certificates(self.ca.encode())
        except ValueError:
            raise InvalidInput("tls.ca", "not a PEM certificate") from None
        try:
            cert = x509.load_pem_x509_certificate(self.cert.encode())
        except ValueError:
            raise InvalidInput("tls.cert", "not a PEM certificate") from None
        try:
            key = serialization.load_pem_private_key(self.key.encode(), password=None)
        except (ValueError, TypeError):
            raise InvalidInput("tls.key", "not an unencrypted PEM private key") from None
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if (key.public_key().public_bytes(serialization.Encoding.DER, public)
                != cert.public_key().public_bytes(serialization.Encoding.DER, public)):
            raise InvalidInput("tls.key", "is not the key of the client certificate")
        der = cert.public_bytes(serialization.Encoding.DER)
        return hashlib.sha256(der).hexdigest()

    def to_text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> TlsCredentials:
        return cls(**json.loads(text))
