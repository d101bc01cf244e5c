"""Who may stay signed in: web sessions recorded server-side (logout and disabling a user end
them at once), the sign-in lockout with backoff, and disabling an account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fairdeal.domain.errors import Forbidden, NotFound, ValidationError
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.security import login_key_hash, session_id_hash

if TYPE_CHECKING:  # the context carries this module's LockoutPolicy
    from fairdeal.services.context import Context
    from fairdeal.services.ports import User


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """After ``after`` consecutive failures for one email, sign-in is refused for ``base``,
    doubled for every further failure, never longer than ``cap``."""

    after: int = 5
    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)

    def lock_for(self, failures: int) -> timedelta | None:
        if failures < self.after:
            return None
        doublings = min(failures - self.after, 32)  # 2**32 minutes is past any cap
        lock: timedelta = min(self.cap, self.base * (1 << doublings))
        return lock


@dataclass(frozen=True, slots=True)
class Locked:
    """Sign-in for this email is refused until ``until``."""

    until: datetime

    def retry_after(self, now: datetime) -> int:
        return max(1, int((self.until - now).total_seconds() + 0.999))


def sign_in_locked(ctx: Context, email: str, now: datetime) -> Locked | None:
    """The lockout in force for this email, if any. Checked before the password is: during a
    lockout even the right password is refused."""
    until = ctx.security_store.login_locked_until(login_key_hash(email))
    return Locked(until) if until is not None and until > now else None


def sign_in_failed(ctx: Context, email: str, now: datetime) -> Locked | None:
    """Count a wrong password (or an unknown email: the same, so the answers do not tell
    which accounts exist); answers the lockout (``ctx.lockout``) this failure started, if any."""
    store, key = ctx.security_store, login_key_hash(email)
    lock = ctx.lockout.lock_for(store.login_failed(key, now))
    if lock is None:
        return None
    store.lock_login(key, now + lock)
    return Locked(now + lock)


def sign_in_succeeded(ctx: Context, email: str) -> None:
    ctx.security_store.login_succeeded(login_key_hash(email))


def start_session(
    ctx: Context, user_id: str, nonce: str, now: datetime, lifetime: timedelta
) -> None:
    ctx.security_store.add_session(session_id_hash(nonce), user_id, now, now + lifetime)


def signed_in_user(ctx: Context, user_id: str, nonce: str, now: datetime) -> User | None:
    """The user of a signed cookie's session, if that session was started and has not ended
    (logout, expiry) and its user is not disabled; else None. One look-up: every page asks."""
    user = ctx.security_store.session_holder(session_id_hash(nonce), now)
    if user is None or user.id != user_id or user.disabled:
        return None
    return user


def end_session(ctx: Context, nonce: str) -> None:
    ctx.security_store.end_session(session_id_hash(nonce))


def disable_user(ctx: Context, actor: Actor, user_id: str) -> None:
    """The platform (or an admin) disables an account: its API token and its web sessions
    stop working."""
    if actor.role not in (Role.PLATFORM, Role.ADMIN):
        raise Forbidden("only the platform or an admin can disable a user")
    if actor.user_id == user_id:
        raise ValidationError("you cannot disable your own account", field="user_id")
    if not ctx.security_store.disable_user(user_id):
        raise NotFound(f"user {user_id} not found")
