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


def make_ca(subject: str, now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey,
                                                     x509.Certificate]:
    key = _key()
    name = _name(subject)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def sign(ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], subject: str,
         server_for: str | None, now: dt.datetime) -> tuple[str, str]:
    """A new key and its certificate signed by `ca` (PEM each): a server's for the address
    or name `server_for`, else a client's."""
    key = _key()
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(ca[1].subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1))
               .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                              critical=True))
    if server_for is None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    else:
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(server_for))
        except ValueError:
            alt = x509.DNSName(server_for)
        builder = (builder
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .add_extension(x509.SubjectAlternativeName([alt]), critical=False))
    return _pem(builder.sign(ca[0], hashes.SHA256())), _pem_key(key)


def join_kit(address: str, now: dt.datetime) -> JoinKit:
    """Certificates for an engine at `address` (an IP address or a DNS name)."""
    ca = make_ca(f"wharf host CA for {address}", now)
    server_cert, server_key = sign(ca, address, address, now)
    client_cert, client_key = sign(ca, "wharf", None, now)
    return JoinKit(address=address, ca=_pem(ca[1]), server_cert=server_cert,
                   server_key=server_key,
                   client=TlsCredentials(ca=_pem(ca[1]), cert=client_cert, key=client_key))


def registry_tls(directory: Path, address: str, now: dt.datetime) -> tuple[Path, Path, Path]:
    """The CA (made on first use, its key readable by Wharf's user only) whose
    certificate hosts elsewhere trust for Wharf's registry, and a server certificate for
    `address` (HOST:PORT) signed by it: the CA's, the certificate's and the key's paths."""
    ca_cert, ca_key = directory / "ca.pem", directory / "ca.key"
    if ca_cert.exists() and ca_key.exists():
        loaded = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        ca = (loaded, x509.load_pem_x509_certificate(ca_cert.read_bytes()))
    else:
        ca = make_ca("wharf registry CA", now)
        write_private(ca_key, _pem_key(ca[0]))
        write_private(ca_cert, _pem(ca[1]))
    host = address.rpartition(":")[0].strip("[]")
    cert, key = sign(ca, host, host, now)
    write_private(directory / "server.pem", cert)
    write_private(directory / "server.key", key)
    return ca_cert, directory / "server.pem", directory / "server.key"


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


TLS_FAILURES = ("certificate verify failed", "certificate unknown", "unknown ca",
                "bad certificate", "certificate required", "wrong version number",
                "hostname mismatch", "ip address mismatch")


def tls_failure(error: Exception) -> str:
    """Why a TLS handshake with an engine failed, in OpenSSL's words when they say it
    (the same text whether the SDK or the join's probe met it)."""
    text = str(error).lower().replace("_", " ")
    return next((reason for reason in TLS_FAILURES if reason in text),
                "the engine or Wharf did not accept the other's certificate")
