"""Secrets at rest: Fernet with a key from ``KOPILKA_ENCRYPTION_KEY`` or derived from ``SECRET_KEY``.

Rotating ``SECRET_KEY`` without setting ``KOPILKA_ENCRYPTION_KEY`` makes stored wallet secrets
unreadable; operators who rotate set the explicit key first (docs/decisions).
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _key_material() -> str:
    return os.environ.get("KOPILKA_ENCRYPTION_KEY") or getattr(settings, "KOPILKA_ENCRYPTION_KEY", "") or ""


@lru_cache(maxsize=4)
def _fernet(explicit: str, secret_key: str) -> Fernet:
    if explicit:
        try:
            return Fernet(explicit.encode())
        except ValueError:  # not a Fernet key: derive one from the passphrase
            material = explicit
    else:
        material = secret_key
    digest = hashlib.sha256(b"kopilka.wallet.secrets:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def fernet() -> Fernet:
    return _fernet(_key_material(), settings.SECRET_KEY)


def encrypt(value: bytes | str) -> str:
    if not value:
        return ""
    data = value.encode() if isinstance(value, str) else value
    return fernet().encrypt(data).decode("ascii")


def decrypt(token: str) -> bytes:
    if not token:
        return b""
    try:
        return fernet().decrypt(token.encode("ascii"))
    except InvalidToken as exc:
        raise ValueError("wallet secret cannot be decrypted with the current key") from exc
