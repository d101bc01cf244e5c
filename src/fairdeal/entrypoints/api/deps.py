"""Request dependencies: the wired application, and the authenticated actor."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from fairdeal.bootstrap import App
from fairdeal.domain.roles import Actor, Role
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.services import users
from fairdeal.services.context import Context

# Token lookups are cached briefly: every request authenticates, and the token table only
# changes when a user is created or disabled (a disabled user is locked out within this time).
TOKEN_CACHE_SECONDS = 30.0


def get_app(request: Request) -> App:
    app: App = request.app.state.fairdeal
    return app


# The dependencies below are ``async def``: FastAPI runs a plain ``def`` dependency in its
# thread pool, one hand-off (and a GIL round trip) per dependency per request -- a fifth of an
# API process's CPU on GET /disputes/{id} in the profile (docs/performance.md). None of them
# blocks: the token lookup, on a cache miss, is sent to the thread pool explicitly.
async def get_ctx(request: Request) -> Context:
    return get_app(request).ctx


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


async def plain_parameters(request: Request) -> None:
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
    # Every authenticated operation checks its parameters first: one place for all of them.
    _plain: Annotated[None, Depends(plain_parameters)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Actor:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(
            "unauthenticated",
            "send your API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = authorization[7:].strip()
    cache: TokenCache = request.app.state.token_cache
    actor = cache.get(token)
    if actor is None:
        actor = await run_in_threadpool(users.authenticate, get_app(request).ctx, token)
        if actor is None:
            raise ApiError(
                "unauthenticated",
                "the API token is not valid",
                headers={"WWW-Authenticate": "Bearer"},
            )
        cache.put(token, actor)
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
Ctx = Annotated[Context, Depends(get_ctx)]
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
