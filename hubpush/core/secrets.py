"""Executor secrets: generation and salted slow hashing. Pure CPU, no I/O.

The registry only ever sees :func:`hash_secret` output. The hash format is
self-describing (``scrypt$n$r$p$salt$hash``) so parameters can be raised later
without breaking stored executors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: 32 bytes = 256 random bits, well above the 128-bit floor.
SECRET_BYTES = 32

# scrypt cost: ~50 ms and 16 MiB per check on a laptop core. Slow enough to make
# offline guessing of a leaked hash expensive, fast enough not to be felt in a push.
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16


def generate_secret() -> str:
    """A new executor secret: 256 bits from :mod:`secrets`, URL-safe text."""
    return secrets.token_urlsafe(SECRET_BYTES)


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding: how secrets' salts and hashes, and tokens, are written."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64url(text: str) -> bytes:
    """The inverse of :func:`b64url` (padding restored)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def hash_secret(secret: str) -> str:
    """Salted scrypt hash of ``secret``, as stored in the executor's metadata."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64url(salt)}${b64url(digest)}"


def verify_secret(secret: str, stored_hash: str) -> bool:
    """True when ``secret`` matches ``stored_hash``; constant-time comparison."""
    try:
        scheme, n, r, p, salt, digest = stored_hash.split("$")
        if scheme != "scrypt":
            return False
        expected = unb64url(digest)
        actual = _scrypt(secret, unb64url(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
