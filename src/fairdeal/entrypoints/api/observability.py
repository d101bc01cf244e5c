"""Structured request logs and Prometheus metrics, as one pure ASGI middleware (cheaper than
Starlette's BaseHTTPMiddleware on every request)."""

from __future__ import annotations

import logging
import time
import uuid

from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fairdeal.bootstrap import App
from fairdeal.logs import request_id_var
from fairdeal.metrics import DatabaseGauges, with_process_collectors

log = logging.getLogger("fairdeal.http")


class Metrics:
    def __init__(self, app: App | None = None) -> None:
        self.registry = with_process_collectors(CollectorRegistry())
        self.requests = Counter(
            "fairdeal_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fairdeal_http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.fired = Counter(
            "fairdeal_deadlines_fired_total",
            "Deadlines fired by this process",
            registry=self.registry,
        )
        # Disputes by status, deadlines due, deliveries, outbox: from the database, cached
        # and refreshed in the background (fairdeal.metrics), not read on every scrape.
        self.gauges: DatabaseGauges | None = None
        if app is not None:
            self.gauges = DatabaseGauges(
                app.engine, app.ctx.clock.now, app.settings.metrics_refresh_seconds
            )
            self.registry.register(self.gauges)
            app.on_dispose.append(self.gauges.wait)

    def deadlines_fired(self, count: int) -> None:
        self.fired.inc(count)

    def render(self, app: App) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class RequestLogMiddleware:
    """One log line per request (method, path, status, duration, request id as fields; one
    JSON object through fairdeal.logs), metrics by
    route template, and an X-Request-Id header on every response. Never logs headers or
    bodies: the Authorization header carries a secret."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # Every log line written while this request is served carries its id (fairdeal.logs).
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            duration = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(duration)
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                },
            )
            request_id_var.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            # Only a plain token is echoed back into logs: no log injection through it.
            if 0 < len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text):
                return str(text)
    return None
