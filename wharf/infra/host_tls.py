"""Mutual TLS for remote engines: the kit `wharf host join` makes for a new machine, and
the credentials written where the Docker SDK can read them.

A join kit is a CA of the host's own (its key is thrown away once it has signed), the
engine's server certificate for the host's address, and Wharf's client certificate: the
engine trusts only clients signed by that CA, and Wharf trusts only that engine's
certificate. The client side is sealed in the log when the host registers; on disk it
lives only under WHARF_HOME (mode 0600) while a client uses it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wharf.domain.tls import TlsCredentials

VALID_DAYS = 825  # the longest a server certificate may live for common TLS clients
CLIENT_FILES = ("ca.pem", "cert.pem", "key.pem")


@dataclass(frozen=True)
class JoinKit:
    address: str
    ca: str  # PEM, for both sides
    server_cert: str
    server_key: str
    client: TlsCredentials

    def engine_files(self) -> dict[str, str]:
        return {"ca.pem": self.ca, "server-cert.pem": self.server_cert,
                "server-key.pem": self.server_key}


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def join_kit(address: str, now: dt.datetime) -> JoinKit:
    """Certificates for an engine at `address` (an IP address or a DNS name)."""
    ca_key = _key()
    ca_name = _name(f"wharf host CA for {address}")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(address))
    except ValueError:
        alt = x509.DNSName(address)

    def signed(key: ec.EllipticCurvePrivateKey, subject: str, usage: x509.ObjectIdentifier,
               names: list[x509.GeneralName]) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(hours=1))
                   .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    server_key, client_key = _key(), _key()
    server = signed(server_key, address, ExtendedKeyUsageOID.SERVER_AUTH, [alt])
    client = signed(client_key, "wharf", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return JoinKit(address=address, ca=_pem(ca), server_cert=_pem(server),
                   server_key=_pem_key(server_key),
                   client=TlsCredentials(ca=_pem(ca), cert=_pem(client),
                                         key=_pem_key(client_key)))


def write_private(path: Path, text: str) -> None:
    """Writes whole or not at all (a client on another thread may be reading it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.replace(partial, path)


def read_client_dir(directory: Path) -> TlsCredentials:
    """ca.pem, cert.pem and key.pem of a directory (as Docker's own client reads them)."""
    ca, cert, key = (directory / name for name in CLIENT_FILES)
    return TlsCredentials(ca=ca.read_text(), cert=cert.read_text(), key=key.read_text())


def client_files(root: Path, credentials: TlsCredentials) -> tuple[Path, Path, Path]:
    """The credentials as files the SDK opens on each connection: one directory per set,
    named by their digest, readable by Wharf's user only."""
    digest = hashlib.sha256(credentials.to_text().encode()).hexdigest()[:24]
    directory = root / digest
    paths = tuple(directory / name for name in CLIENT_FILES)
    for path, text in zip(paths, (credentials.ca, credentials.cert, credentials.key),
                          strict=True):
        if not path.exists():
            write_private(path, text)
    return paths  # type: ignore[return-value]
