"""Secrets the service keeps: API tokens, random and shown once, stored only as a SHA-256 hash
(a token has 256 bits of entropy, so a fast hash is enough), and web passwords, stored as
Argon2id hashes with OWASP's recommended parameters."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from fairdeal.services.ports import SecurityStore

__all__ = [
    "PASSWORD_HASHER",
    "PasswordCheck",
    "SecurityStore",
    "check_password",
    "hash_password",
    "hash_token",
    "login_key_hash",
    "new_api_token",
    "session_id_hash",
]

# The OWASP Password Storage Cheat Sheet: "Use Argon2id with a minimum configuration of 19 MiB
# of memory, an iteration count of 2, and 1 degree of parallelism." argon2-cffi's own default
# (RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes) took ten times as long per
# check on two cores (210 ms against 21 ms): that, not the page, was most of a web login
# (docs/performance.md, "Login").
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

# Verified against when no account has the email typed (or it has no password), so that an
# unknown email costs what a wrong password costs and the answer's timing does not tell which
# accounts exist. A hash of a random password nobody knows, made once with PASSWORD_HASHER's
# parameters (a test holds the two together): nothing to compute at start-up or first use.
_NOBODY = (
    "$argon2id$v=19$m=19456,t=2,p=1$V3FGpH/aJx5EpYurJTEXBg$"
    "j7eY59HF2V3mgyCAenlvWN0jUkLJukqgyBFKsgeJMjY"
)


def new_api_token() -> str:
    return "fd_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_id_hash(nonce: str) -> str:
    return hashlib.sha256(b"session:" + nonce.encode("utf-8")).hexdigest()


def login_key_hash(email: str) -> str:
    return hashlib.sha256(b"login:" + email.strip().lower().encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The answer of ``check_password``: whether the password matched, and the hash to store
    in place of the old one when it was made with other parameters (an account created
    before the parameters changed); None when the stored hash is current."""

    ok: bool
    rehashed: str | None = None


def check_password(stored: str | None, password: str) -> PasswordCheck:
    """Verify ``password`` against a stored Argon2 hash (None: the account has no password,
    which never matches but costs the same as a verify)."""
    try:
        PASSWORD_HASHER.verify(stored or _NOBODY, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(False)
    if stored is None:  # pragma: no cover - nobody knows _NOBODY's password
        return PasswordCheck(False)
    if PASSWORD_HASHER.check_needs_rehash(stored):
        return PasswordCheck(True, hash_password(password))
    return PasswordCheck(True)
