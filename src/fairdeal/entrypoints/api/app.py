"""The FastAPI application: routes, error handlers and middleware over one wired App."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from fairdeal.bootstrap import App, lockout_policy
from fairdeal.entrypoints import web
from fairdeal.entrypoints.api import errors, openapi
from fairdeal.entrypoints.api.deps import ApiState, TokenCache
from fairdeal.entrypoints.api.idempotency import IdempotencyMiddleware
from fairdeal.entrypoints.api.jsonguard import JsonGuardMiddleware
from fairdeal.entrypoints.api.observability import Metrics, RequestLogMiddleware
from fairdeal.entrypoints.api.ratelimit import (
    ActionLimiter,
    RateLimitMiddleware,
    rate_limit_windows,
)
from fairdeal.entrypoints.api.replica import ReplicaReadsMiddleware, replica_stickiness
from fairdeal.entrypoints.api.routes import (
    case_files,
    disputes,
    files,
    mediation,
    notifications,
    ops,
    payments,
    platform,
    stripe_webhook,
    webhooks,
)
from fairdeal.entrypoints.api.routes import (
    metrics as seller_metrics,
)

DESCRIPTION = """Buyer protection and dispute resolution. Errors are RFC 9457 problem+json with
a stable `code`. Every write (POST, PATCH, DELETE) accepts an `Idempotency-Key`. Disputes carry an `ETag`; send it
back as `If-Match` to refuse a write on a dispute that changed since you read it."""


def match_first(api: FastAPI, routers: tuple[APIRouter, ...]) -> None:
    """Try these routers' routes first when matching a request (in this order), the others
    after them as they were registered. A request is matched against every route before the
    one it names: /healthz came after 41 routes, GET /api/v1/disputes/{id} after 20, ~1.3 us
    each (performance.md). Only routers whose paths no earlier route can match are moved --
    the operations (/healthz, /readyz, /metrics, /api/v1/sandbox/...) and /api/v1/disputes...
    share no path with the routers or the documentation routes they now precede -- so every
    request finds the same route as before (tests/e2e/test_route_order.py checks each one).
    The OpenAPI document keeps the registration order (``openapi.install``)."""
    chosen = {id(router): rank for rank, router in enumerate(routers)}

    def rank(route: BaseRoute) -> int:
        router = getattr(route, "original_router", None)  # an included router
        return chosen.get(id(router), len(routers))

    api.router.routes.sort(key=rank)  # stable: the rest keep their order


def create_app(app: App) -> FastAPI:
    app.settings.check_secrets()  # outside sandbox mode: no missing or well-known secrets
    api = FastAPI(title="Fairdeal API", version="1.0.0", description=DESCRIPTION)
    metrics = Metrics(app)
    windows = rate_limit_windows(app)
    state = ApiState(
        app=app,
        token_cache=TokenCache(),
        metrics=metrics,
        action_limiter=ActionLimiter(app.settings.action_limits(), windows),
    )
    api.state.api = state
    # Read from the settings as they are now (a test's client may have changed them since
    # bootstrap): the sign-in services read the lockout from the context.
    app.ctx.lockout = lockout_policy(app.settings)
    errors.install(api)
    for router in (platform.router, files.router, disputes.router, mediation.router, ops.router):
        api.include_router(router)
    api.include_router(case_files.router)  # the case file ZIP (docs/case-file.md)
    api.include_router(seller_metrics.router)  # /api/v1/metrics/... (docs/metrics.md)
    api.include_router(webhooks.router)  # webhook endpoints (fairdeal.services.notifications)
    api.include_router(notifications.router)  # in-app notifications, /dev/mailbox
    api.include_router(payments.router)  # money movements (docs/payments.md)
    api.include_router(stripe_webhook.router)  # Stripe's refund events (docs/payments-stripe.md)
    web.install(api, state)  # the resolution centre's pages (fairdeal.entrypoints.web)
    openapi.install(api)  # the document a generated client can use (entrypoints/api/openapi.py)
    match_first(api, (ops.router, disputes.router))
    # Outermost first: logs see everything, then rate limits, then idempotency replays.
    api.add_middleware(
        IdempotencyMiddleware,
        engine=app.engine,
        stale_after=timedelta(seconds=app.settings.idempotency_stale_seconds),
    )
    # JSON bodies read once, bounded, duplicate names refused -- before idempotency buffers
    # them (entrypoints/api/jsonguard.py).
    api.add_middleware(JsonGuardMiddleware)
    api.add_middleware(
        RateLimitMiddleware, per_minute=app.settings.rate_limit_writes_per_minute, windows=windows
    )
    if app.replica_engine is not None:
        api.add_middleware(ReplicaReadsMiddleware, stickiness=replica_stickiness(app))
    api.add_middleware(RequestLogMiddleware, metrics=metrics)
    logging.getLogger("fairdeal").setLevel(logging.INFO)
    return api
