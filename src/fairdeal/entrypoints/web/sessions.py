"""Sessions as HMAC-signed cookies (stdlib ``hmac``): user id, issued-at and a random nonce,
nothing stored on the server. Every visitor gets one, so that even the login form carries a
CSRF token; logging in issues a new session with a new nonce (no fixation), logging out
clears it. A session is checked against the user on every request, so disabling a user ends
their sessions at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE = "fd_session"


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str | None  # None: an anonymous visitor (the login form)
    issued_at: int  # unix seconds, real time (not the sandbox clock)
    nonce: str


class SessionSigner:
    def __init__(self, secret: bytes, max_age: timedelta) -> None:
        self.secret = secret
        self.max_age = int(max_age.total_seconds())

    def new(self, user_id: str | None, now: datetime) -> Session:
        return Session(user_id, int(now.timestamp()), secrets.token_urlsafe(16))

    def dumps(self, session: Session) -> str:
        payload = json.dumps(
            [session.user_id, session.issued_at, session.nonce], separators=(",", ":")
        ).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str | None, now: datetime) -> Session | None:
        """The session a cookie carries, or None when it is missing, forged or expired."""
        if not value or value.count(".") != 1 or len(value) > 1024:
            return None
        body, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            user_id, issued_at, nonce = json.loads(
                base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            )
        except (ValueError, TypeError):
            return None
        if not isinstance(issued_at, int) or not isinstance(nonce, str):
            return None
        if user_id is not None and not isinstance(user_id, str):
            return None
        age = int(now.timestamp()) - issued_at
        if age < -60 or age > self.max_age:
            return None
        return Session(user_id, issued_at, nonce)

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries: an HMAC of the session's nonce."""
        return hmac.new(self.secret, b"csrf:" + session.nonce.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(session))

    def _sign(self, body: str) -> str:
        return hmac.new(self.secret, b"session:" + body.encode(), hashlib.sha256).hexdigest()
