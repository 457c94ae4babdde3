"""A failed TLS handshake with an engine is worded once, whichever client met it."""

from __future__ import annotations

import ssl

import pytest
import requests.exceptions

from wharf.infra.host_tls import tls_failure


@pytest.mark.parametrize(("error", "said"), [
    (ssl.SSLError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable "
                     "to get local issuer certificate (_ssl.c:1006)"),
     "certificate verify failed"),
    (requests.exceptions.SSLError("HTTPSConnectionPool: Max retries exceeded (Caused by "
                                  "SSLError(SSLError(1, '[SSL: TLSV1_ALERT_UNKNOWN_CA] "
                                  "tlsv1 alert unknown ca')))"), "unknown ca"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
     "wrong version number"),
    (ssl.SSLError(1, "[SSL] something new"),
     "the engine or Wharf did not accept the other's certificate"),
])
def test_the_reason_is_openssls_when_it_says_one(error: Exception, said: str) -> None:
    assert tls_failure(error) == said
