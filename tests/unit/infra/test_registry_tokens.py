"""The registry's tokens: what distribution 2.8 checks in them."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import jwt
import pytest
from cryptography import x509

from wharf.infra.registry_tokens import ISSUER, SERVICE, Access, TokenSigner

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_a_token_carries_its_certificate_and_the_access_granted(tmp_path: Path) -> None:
    signer = TokenSigner.load_or_make(tmp_path, NOW)
    token = signer.issue("member:a@b.io", [Access("repository", "acme/web", ("pull",))], NOW)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    [der] = header["x5c"]
    # The certificate in x5c is the one the registry trusts (its root bundle).
    carried = x509.load_der_x509_certificate(base64.b64decode(der))
    assert carried == x509.load_pem_x509_certificate(signer.bundle)
    claims = signer.read(token, NOW)
    assert (claims["iss"], claims["aud"], claims["sub"]) == (ISSUER, SERVICE, "member:a@b.io")
    assert claims["access"] == [{"type": "repository", "name": "acme/web",
                                 "actions": ["pull"]}]
    assert claims["exp"] - claims["iat"] == 300
    with pytest.raises(jwt.ExpiredSignatureError):
        signer.read(token, NOW + dt.timedelta(minutes=6))


def test_the_key_is_kept_private_and_read_back_on_the_next_start(tmp_path: Path) -> None:
    first = TokenSigner.load_or_make(tmp_path, NOW)
    assert (tmp_path / "token.key").stat().st_mode & 0o077 == 0
    again = TokenSigner.load_or_make(tmp_path, NOW)
    token = again.issue("x", [], NOW)
    assert first.read(token, NOW)["access"] == []
    # Another installation's key signs nothing this one trusts.
    stranger = TokenSigner.load_or_make(tmp_path / "other", NOW)
    with pytest.raises(jwt.InvalidSignatureError):
        first.read(stranger.issue("x", [], NOW), NOW)
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["sub"] == "x"
