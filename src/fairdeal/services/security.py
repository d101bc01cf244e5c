"""API tokens: random, shown once, stored only as a SHA-256 hash (a token has 256 bits of
entropy, so a fast hash is enough; passwords use Argon2 in the web layer)."""

from __future__ import annotations

import hashlib
import secrets


def new_api_token() -> str:
    return "fd_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
