"""Request dependencies: the wired application, and the authenticated actor.

``api_of(request)`` is the one place the API reads its per-process state: everything else
asks for ``Api`` (the typed state) or ``Ctx`` (the services' context) as a dependency."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from fairdeal.adapters.db.replica import on_primary
from fairdeal.bootstrap import App
from fairdeal.domain.roles import Actor, Role
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.services import users
from fairdeal.services.context import Context
from fairdeal.services.notifications import Notifier

if TYPE_CHECKING:
    # Both modules build their dependencies on this one: imported for the annotations only.
    from fairdeal.entrypoints.api.observability import Metrics
    from fairdeal.entrypoints.api.ratelimit import ActionLimiter

# Token lookups are cached briefly: every request authenticates, and the token table only
# changes when a user is created or disabled (a disabled user is locked out within this time).
TOKEN_CACHE_SECONDS = 30.0


@dataclass
class ApiState:
    """What the API holds per process: the wired App (and through it the services' context)
    and the API's own in-memory helpers. ``create_app`` builds it once."""

    app: App
    token_cache: TokenCache
    metrics: Metrics
    action_limiter: ActionLimiter

    @property
    def ctx(self) -> Context:
        return self.app.ctx


def api_of(request: Request) -> ApiState:
    """The API's state, for the middleware and helpers that have a request but no
    dependency injection; routes ask for ``Api``."""
    state: ApiState = request.app.state.api
    return state


# The dependencies below are ``async def``: FastAPI runs a plain ``def`` dependency in its
# thread pool, one hand-off (and a GIL round trip) per dependency per request -- a fifth of an
# API process's CPU on GET /disputes/{id} in the profile (docs/performance.md). None of them
# blocks: the token lookup, on a cache miss, is sent to the thread pool explicitly.
async def get_api(request: Request) -> ApiState:
    return api_of(request)


async def get_ctx(request: Request) -> Context:
    return api_of(request).ctx


async def get_notifier(request: Request) -> Notifier:
    notifier = api_of(request).ctx.notifier
    if notifier is None:  # pragma: no cover - bootstrap always wires one
        raise ApiError("not_found", "notifications are not configured on this server")
    return notifier


class TokenCache:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Actor]] = {}

    def get(self, token: str) -> Actor | None:
        hit = self.entries.get(token)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, actor: Actor) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[token] = (time.monotonic() + TOKEN_CACHE_SECONDS, actor)


# Documents the bearer scheme in the OpenAPI document (``securitySchemes``, and ``security`` on
# every operation that authenticates), so that clients and fuzzers know which operations need a
# token. It never refuses by itself: ``current_actor`` reads the header and answers 401.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="The API token: the platform's, or the `api_token` POST /users answered.",
)


def check_plain_parameters(request: Request) -> None:
    """Path and query parameters with U+0000 are refused (422): PostgreSQL cannot compare or
    store that character, and would answer a lookup of ``/disputes/a%00b`` with an error (500)
    where SQLite answers 404. Bodies are checked by ``schemas.Strict``."""
    for where, values in (("path", request.path_params), ("query", request.query_params)):
        for name, value in values.items():
            if "\x00" in name or (isinstance(value, str) and "\x00" in value):
                raise ApiError(
                    "validation_error",
                    f"{where} parameter {name!r} must not contain the NUL character (U+0000)",
                    field=name,
                )


async def current_actor(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    # Not in the schema, but a header parameter makes FastAPI document the 422 every
    # authenticated operation can answer (the NUL check below): the OpenAPI document keeps it.
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Actor:
    # Every authenticated operation checks its parameters first: one place for all of them.
    # Called here rather than as a dependency of its own: each dependency FastAPI resolves
    # costs its bookkeeping on every request (performance.md).
    check_plain_parameters(request)
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(
            "unauthenticated",
            "send your API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = authorization[7:].strip()
    api = api_of(request)
    actor = api.token_cache.get(token)
    if actor is None:
        with on_primary():  # a revoked token is refused at once, never read from a replica
            actor = await run_in_threadpool(users.authenticate, api.ctx, token)
        if actor is None:
            raise ApiError(
                "unauthenticated",
                "the API token is not valid",
                headers={"WWW-Authenticate": "Bearer"},
            )
        api.token_cache.put(token, actor)
    request.state.actor = actor
    return actor


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that lets only these roles through (403 for the others)."""

    async def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.role not in roles:
            names = " or ".join(r.value for r in roles)
            raise ApiError("forbidden", f"only a {names} can do this")
        return actor

    return check


CurrentActor = Annotated[Actor, Depends(current_actor)]
Api = Annotated[ApiState, Depends(get_api)]
Ctx = Annotated[Context, Depends(get_ctx)]
Notifications = Annotated[Notifier, Depends(get_notifier)]
PlatformActor = Annotated[Actor, Depends(require(Role.PLATFORM, Role.ADMIN))]


async def if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int | None:
    """The version an If-Match header names ("3" or W/"3"), or None."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ApiError(
            "validation_error", 'If-Match must be a dispute\'s ETag such as "3"', field="If-Match"
        )
    return int(value)


IfMatch = Annotated[int | None, Depends(if_match)]


async def page_limit(limit: int = 50) -> int:
    if not 1 <= limit <= 100:
        raise ApiError("validation_error", "limit must be from 1 to 100", field="limit")
    return limit


Limit = Annotated[int, Depends(page_limit)]
