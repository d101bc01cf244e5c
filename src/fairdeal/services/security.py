"""API tokens: random, shown once, stored only as a SHA-256 hash (a token has 256 bits of
entropy, so a fast hash is enough; passwords use Argon2 in the web layer)."""

from __future__ import annotations

import hashlib
import secrets

from fairdeal.services.ports import SecurityStore

__all__ = ["SecurityStore", "hash_token", "login_key_hash", "new_api_token", "session_id_hash"]


def new_api_token() -> str:
    return "fd_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_id_hash(nonce: str) -> str:
    return hashlib.sha256(b"session:" + nonce.encode("utf-8")).hexdigest()


def login_key_hash(email: str) -> str:
    return hashlib.sha256(b"login:" + email.strip().lower().encode("utf-8")).hexdigest()
