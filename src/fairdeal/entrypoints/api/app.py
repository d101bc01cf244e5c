"""The FastAPI application: routes, error handlers and middleware over one wired App."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from fairdeal.bootstrap import App, lockout_policy
from fairdeal.entrypoints import web
from fairdeal.entrypoints.api import errors
from fairdeal.entrypoints.api.deps import ApiState, TokenCache
from fairdeal.entrypoints.api.idempotency import IdempotencyMiddleware
from fairdeal.entrypoints.api.observability import Metrics, RequestLogMiddleware
from fairdeal.entrypoints.api.ratelimit import ActionLimiter, RateLimitMiddleware
from fairdeal.entrypoints.api.routes import (
    disputes,
    files,
    mediation,
    notifications,
    ops,
    payments,
    platform,
    webhooks,
)

DESCRIPTION = """Buyer protection and dispute resolution. Errors are RFC 9457 problem+json with
a stable `code`. Every POST accepts an `Idempotency-Key`. Disputes carry an `ETag`; send it
back as `If-Match` to refuse a write on a dispute that changed since you read it."""


def create_app(app: App) -> FastAPI:
    app.settings.check_secrets()  # outside sandbox mode: no missing or well-known secrets
    api = FastAPI(title="Fairdeal API", version="1.0.0", description=DESCRIPTION)
    metrics = Metrics()
    api.state.api = ApiState(
        app=app,
        token_cache=TokenCache(),
        metrics=metrics,
        action_limiter=ActionLimiter(app.settings.action_limits()),
    )
    _web_pages_state(api, api.state.api)
    errors.install(api)
    for router in (platform.router, files.router, disputes.router, mediation.router, ops.router):
        api.include_router(router)
    api.include_router(webhooks.router)  # webhook endpoints (fairdeal.services.notifications)
    api.include_router(notifications.router)  # in-app notifications, /dev/mailbox
    api.include_router(payments.router)  # money movements (docs/payments.md)
    web.install(api, app)  # the resolution centre's pages (fairdeal.entrypoints.web)
    # Outermost first: logs see everything, then rate limits, then idempotency replays.
    api.add_middleware(
        IdempotencyMiddleware,
        engine=app.engine,
        stale_after=timedelta(seconds=app.settings.idempotency_stale_seconds),
    )
    api.add_middleware(RateLimitMiddleware, per_minute=app.settings.rate_limit_writes_per_minute)
    api.add_middleware(RequestLogMiddleware, metrics=metrics)
    logging.getLogger("fairdeal").setLevel(logging.INFO)
    return api


def _web_pages_state(api: FastAPI, state: ApiState) -> None:
    """The names the web pages (``fairdeal.entrypoints.web``) and a few tests still read from
    ``api.state``; all of them are parts of ``ApiState`` and of the services' context."""
    ctx = state.ctx
    api.state.fairdeal = state.app
    api.state.token_cache = state.token_cache
    api.state.metrics = state.metrics
    api.state.action_limiter = state.action_limiter
    api.state.storage = ctx.storage
    api.state.inspector = ctx.inspector
    api.state.security = ctx.security
    # Read from the settings as they are now: a test's client may have changed them.
    api.state.lockout_policy = lockout_policy(state.app.settings)
