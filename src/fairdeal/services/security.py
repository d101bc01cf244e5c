"""API tokens: random, shown once, stored only as a SHA-256 hash (a token has 256 bits of
entropy, so a fast hash is enough; passwords use Argon2 in the web layer)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Protocol


def new_api_token() -> str:
    return "fd_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SecurityStore(Protocol):
    """Where sign-in state lives (the database): web sessions, failed sign-ins, and the
    switch that disables a user. Keys are hashes: the store never sees a cookie's nonce or,
    for failed sign-ins, the email typed."""

    def add_session(
        self, id_hash: str, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None: ...
    def session_user(self, id_hash: str, now: datetime) -> str | None:
        """The user of a live (recorded, unexpired) session, else None."""
        ...

    def end_session(self, id_hash: str) -> None: ...
    def end_sessions_of(self, user_id: str) -> int: ...
    def login_failed(self, key_hash: str, now: datetime) -> int:
        """Count one more consecutive failure; answers the new count."""
        ...

    def lock_login(self, key_hash: str, until: datetime) -> None: ...
    def login_locked_until(self, key_hash: str) -> datetime | None: ...
    def login_succeeded(self, key_hash: str) -> None: ...
    def disable_user(self, user_id: str) -> bool:
        """Mark the user disabled and end their web sessions; False if there is no such
        user."""
        ...


def session_id_hash(nonce: str) -> str:
    return hashlib.sha256(b"session:" + nonce.encode("utf-8")).hexdigest()


def login_key_hash(email: str) -> str:
    return hashlib.sha256(b"login:" + email.strip().lower().encode("utf-8")).hexdigest()
