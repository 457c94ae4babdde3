"""What a host's endpoint, address and credentials may be: the rules an attacker met."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wharf.domain.errors import InvalidInput
from wharf.domain.host import check_address, check_endpoint, check_tenant_endpoint
from wharf.domain.tls import TlsCredentials
from wharf.infra.host_tls import join_kit


@pytest.mark.parametrize("endpoint", [
    # another script's digits (the SDK could not read them), a second spelling of a port
    "tcp://127.0.0.1:\uff12\uff13\uff17\uff15",
    "tcp://127.0.0.1:02375",  # one engine, one spelling
    "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536", "tcp://\uff4cocalhost:2375",
])
def test_an_endpoint_is_written_one_way_in_ascii(endpoint: str) -> None:
    with pytest.raises(InvalidInput):
        check_endpoint(endpoint)


@pytest.mark.parametrize("endpoint", [
    "tcp://localhost:2376", "tcp://LOCALHOST:2376", "tcp://localhost.:2376",
    "tcp://127.1:2376", "tcp://127.0.0.1:2376", "tcp://0.0.0.0:2376", "tcp://0:2376",
    "tcp://2130706433:2376", "tcp://0x7f000001:2376", "tcp://0177.0.0.1:2376",
    "tcp://169.254.169.254:2376", "tcp://224.0.0.1:2376", "tcp://engine.example.com:2376",
    "unix:///var/run/docker.sock",
])
def test_a_tenants_host_is_a_plain_ip_address_off_this_machine(endpoint: str) -> None:
    with pytest.raises(InvalidInput):
        check_tenant_endpoint(endpoint)


def test_a_tenants_host_at_a_routable_address_is_accepted() -> None:
    assert check_tenant_endpoint("tcp://10.231.1.2:2376") == "tcp://10.231.1.2:2376"


@pytest.mark.parametrize("address", [
    "", "host with space", "exa mple.com;rm -rf /", "*.example.com", "a/b", "../../etc",
    "::1", "x" * 300, "-lead.example.com", "010.0.0.1",
])
def test_a_join_address_is_an_ipv4_address_or_a_dns_name(address: str) -> None:
    with pytest.raises(InvalidInput):
        check_address(address)


def test_join_addresses_that_are_fine() -> None:
    for address in ("203.0.113.7", "node-1.example.com", "engine"):
        assert check_address(address) == address


def _rsa_pair(bits: int) -> TlsCredentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return TlsCredentials(ca=pem, cert=pem, key=key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())


def test_keys_too_large_to_check_cheaply_are_refused_before_they_are_read() -> None:
    good = join_kit("10.0.0.1", dt.datetime.now(dt.UTC)).client
    began = time.monotonic()
    with pytest.raises(InvalidInput, match=r"tls\.key"):
        TlsCredentials(ca=good.ca, cert=good.cert, key="-----BEGIN PRIVATE KEY-----\n"
                       + "A" * 12_000 + "\n-----END PRIVATE KEY-----\n").check()
    assert time.monotonic() - began < 1
    with pytest.raises(InvalidInput, match="2048 to 4096"):
        _rsa_pair(1024).check()
    assert len(_rsa_pair(2048).check()) == 64


def test_capacity_a_log_can_hold() -> None:
    """Figures an engine reports go into the log as they are: an 'engine' claiming 10**30
    CPUs would have stopped the read side (SQLite holds 64-bit integers)."""
    from wharf.domain.host import check_host

    for cpu, memory in ((10**33, 1024), (2000, 10**30), (0, 1024), (2000, -1)):
        with pytest.raises(InvalidInput):
            check_host("tcp://127.0.0.1:2375", cpu, memory, "1")
    assert check_host("tcp://127.0.0.1:2375", 2000, 4096, "1.5") == Decimal("1.5")


def test_labels_under_wharf_are_wharfs_own() -> None:
    # (a tenant's own host labelled wharf.pool=public would draw every tenant's tasks to
    # it on a swarm, whose nodes carry their pool in that label)
    from wharf.domain.container_spec import check_constraints
    from wharf.domain.host import check_labels

    with pytest.raises(InvalidInput, match=r"wharf\. are Wharf's own"):
        check_labels({"zone": "a", "wharf.pool": "public"})
    with pytest.raises(InvalidInput, match=r"wharf\. are Wharf's own"):
        check_constraints(["host.labels.wharf.pool == public"])
    assert check_labels({"wharfish": "yes"}) == {"wharfish": "yes"}
