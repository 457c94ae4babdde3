"""The credentials Wharf reaches a remote Docker engine with: mutual TLS, as Docker's
`--tlsverify` asks (a CA that signed the engine's certificate and Wharf's client
certificate, and the client's key). Checked here for shape only; whether they open the
engine is learned by asking it when the host joins."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from wharf.domain.errors import InvalidInput

MAX_PEM = 16 * 1024
MAX_KEY_PEM = 4 * 1024  # an RSA key of 4096 bits is about 3.3 KB of PEM
MAX_RSA_BITS = 4096
MAX_CAS = 8
SUPPORTED = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)


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
        if len(self.key) > MAX_KEY_PEM:
            raise InvalidInput("tls.key", f"a PEM text of at most {MAX_KEY_PEM} bytes "
                                          "(an RSA key of 4096 bits at most, or EC)")
        unreadable = (ValueError, TypeError, UnsupportedAlgorithm)
        try:
            if len(x509.load_pem_x509_certificates(self.ca.encode())) > MAX_CAS:
                raise InvalidInput("tls.ca", f"at most {MAX_CAS} certificates")
        except unreadable:
            raise InvalidInput("tls.ca", "not a PEM certificate") from None
        try:
            cert = x509.load_pem_x509_certificate(self.cert.encode())
            public_key = cert.public_key()
        except unreadable:
            raise InvalidInput("tls.cert", "not a PEM certificate of a key Wharf knows") \
                from None
        if not isinstance(public_key, SUPPORTED) or (
                isinstance(public_key, rsa.RSAPublicKey)
                and not 2048 <= public_key.key_size <= MAX_RSA_BITS):
            raise InvalidInput("tls.cert", f"its key must be EC, Ed25519 or RSA of 2048 to "
                                           f"{MAX_RSA_BITS} bits")
        try:
            # (Checking an RSA key's arithmetic costs seconds for a large one: comparing
            # it with the certificate's public key below says what matters.)
            key = serialization.load_pem_private_key(self.key.encode(), password=None,
                                                     unsafe_skip_rsa_key_validation=True)
        except unreadable:
            raise InvalidInput("tls.key", "not an unencrypted PEM private key") from None
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if (key.public_key().public_bytes(serialization.Encoding.DER, public)
                != public_key.public_bytes(serialization.Encoding.DER, public)):
            raise InvalidInput("tls.key", "is not the key of the client certificate")
        der = cert.public_bytes(serialization.Encoding.DER)
        return hashlib.sha256(der).hexdigest()

    def to_text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> TlsCredentials:
        return cls(**json.loads(text))
