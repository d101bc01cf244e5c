"""Users: created by the platform (or the CLI), authenticated by API token."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fairdeal.domain.errors import Forbidden, ValidationError
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context
from fairdeal.services.ports import User
from fairdeal.services.security import hash_token, new_api_token

CREATABLE_ROLES = {"buyer", "seller", "mediator", "admin", "platform"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class NewUser:
    user: User
    api_token: str


def create_user(
    ctx: Context,
    *,
    role: str,
    name: str,
    email: str,
    external_id: str | None = None,
    country: str | None = None,
    language: str | None = None,
    password_hash: str | None = None,
    token: str | None = None,
    allowed_roles: set[str] | None = None,
) -> NewUser:
    """Create a user and its API token (returned once, stored hashed)."""
    roles = allowed_roles or CREATABLE_ROLES
    if role not in roles:
        raise ValidationError(f"role must be one of {', '.join(sorted(roles))}", field="role")
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("name is required (at most 200 characters)", field="name")
    if not _EMAIL.fullmatch(email) or len(email) > 320:
        raise ValidationError("email is not a valid address", field="email")
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise ValidationError(
            "country must be an ISO 3166 alpha-2 code such as DE", field="country"
        )
    api_token = token or new_api_token()
    with ctx.uow() as uow:
        user = User(
            id=ctx.ids.new("usr"),
            role=role,
            name=name,
            email=email.lower(),
            created_at=ctx.clock.now(),
            external_id=external_id,
            country=country,
            language=language,
            password_hash=password_hash,
            token_hash=hash_token(api_token),
        )
        uow.users.add(user)
        uow.commit()
    return NewUser(user, api_token)


def authenticate(ctx: Context, token: str) -> Actor | None:
    """The actor behind an API token, or None."""
    with ctx.uow(write=False) as uow:
        user = uow.users.by_token_hash(hash_token(token))
    if user is None or user.disabled:
        return None
    return Actor(user.id, Role(user.role))


def get_user(ctx: Context, user_id: str) -> User | None:
    with ctx.uow(write=False) as uow:
        return uow.users.get(user_id)


def require_role(actor: Actor, *roles: Role, to: str = "do this") -> None:
    """``Forbidden`` unless the actor has one of ``roles``: the one way a use case requires a
    role. ``to`` says what is refused ("only a platform or admin can <to>")."""
    if actor.role not in roles:
        names = " or ".join(r.value for r in roles)
        raise Forbidden(f"only a {names} can {to}")


def ensure_platform_user(ctx: Context, token: str) -> User:
    """The platform user that FAIRDEAL_PLATFORM_TOKEN names, created on first start-up."""
    with ctx.uow(write=False) as uow:
        existing = uow.users.by_token_hash(hash_token(token))
    if existing is not None:
        return existing
    try:
        return create_user(
            ctx, role="platform", name="Marketplace", email="platform@fairdeal.invalid", token=token
        ).user
    except Exception:
        # Several API processes starting at once on a new database all try to create it; the
        # losers' inserts fail on the unique token. Theirs is the user the winner made.
        with ctx.uow(write=False) as uow:
            existing = uow.users.by_token_hash(hash_token(token))
        if existing is None:
            raise
        return existing


def set_password_hash(ctx: Context, user_id: str, password_hash: str) -> None:
    """Store a password's new hash (made by ``security.check_password`` at sign-in, when the
    old one was made with other parameters)."""
    with ctx.uow() as uow:
        uow.users.set_password_hash(user_id, password_hash)
        uow.commit()


def set_locale(ctx: Context, user_id: str, *, language: str | None, time_zone: str | None) -> None:
    """The language and time zone a person reads the pages in (None: from the browser)."""
    if language is not None and len(language) > 16:
        raise ValidationError("language is at most 16 characters", field="language")
    if time_zone is not None and len(time_zone) > 64:
        raise ValidationError("time_zone is at most 64 characters", field="time_zone")
    with ctx.uow() as uow:
        uow.users.set_locale(user_id, language, time_zone)
        uow.commit()
