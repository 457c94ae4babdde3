"""Sealing secret values with a tenant's data key (AES-256-GCM)."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Unreadable(Exception):
    """The key is gone or the ciphertext was not made with it."""


def seal(key: bytes, plaintext: str, context: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context)
    return base64.b64encode(nonce + sealed).decode()


def unseal(key: bytes, ciphertext: str, context: bytes) -> str:
    raw = base64.b64decode(ciphertext)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], context).decode()
    except InvalidTag:
        raise Unreadable("secret cannot be decrypted with this key") from None
