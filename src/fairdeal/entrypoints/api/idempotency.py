"""Idempotency-Key on every POST, with Stripe's semantics: the same key and body replay the
first response byte for byte; the same key with another body is refused (422); a duplicate
that arrives while the first is still running is refused (409). Keys are scoped to the API
token that sent them and kept for 48 hours.

The key is claimed (a row inserted under its primary key) before the request runs, so two
concurrent duplicates cannot both act. Known gap: if the process dies after the request's own
transaction committed but before the response was stored, a retry after the claim goes stale
(5 minutes) runs the request again; the state machine then refuses most repeated transitions
with 409, but a repeated create would create twice. See docs/api.md."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin
from fairdeal.entrypoints.api.errors import problem

STALE_CLAIM = timedelta(minutes=5)
KEEP_FOR = timedelta(hours=48)
REPLAYED_HEADERS = {b"content-type", b"etag", b"location"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app, self.engine = app, engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not 0 < len(key) <= 255:
            await problem(
                "validation_error",
                "Idempotency-Key must be 1 to 255 characters",
                field="Idempotency-Key",
            )(scope, receive, send)
            return
        owner = hashlib.sha256(headers.get(b"authorization", b"anonymous")).hexdigest()[:40]
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            scope["method"].encode()
            + b" "
            + scope["path"].encode()
            + b"?"
            + scope.get("query_string", b"")
            + b"\n"
            + body
        ).hexdigest()
        verdict = await anyio.to_thread.run_sync(self._claim, owner, key, fingerprint)
        if verdict is not None:
            await verdict(scope, receive, send)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        finally:
            await anyio.to_thread.run_sync(self._store, owner, key, captured)

    def _claim(self, owner: str, key: str, fingerprint: str) -> Any:
        """Claim the key, or return the response that answers a duplicate."""
        t = tables.idempotency_keys
        now = datetime.now(UTC)
        conn = begin(self.engine, write=True)
        try:
            try:
                conn.execute(
                    insert(t).values(
                        user_id=owner, key=key, request_hash=fingerprint, created_at=now
                    )
                )
                conn.commit()
                return None
            except IntegrityError:
                conn.rollback()
            conn.begin()
            row = (
                conn.execute(select(t).where(t.c.user_id == owner, t.c.key == key))
                .mappings()
                .first()
            )
            if row is None:  # deleted in between (a failed first attempt): claim it again
                conn.execute(
                    insert(t).values(
                        user_id=owner, key=key, request_hash=fingerprint, created_at=now
                    )
                )
                conn.commit()
                return None
            if row["request_hash"] != fingerprint:
                conn.rollback()
                return problem(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                )
            if row["status_code"] is None:
                created = tables.UTCDateTime().process_result_value(row["created_at"], conn.dialect)
                if created is not None and now - created > STALE_CLAIM:
                    conn.execute(
                        update(t).where(t.c.user_id == owner, t.c.key == key).values(created_at=now)
                    )
                    conn.commit()
                    return None
                conn.rollback()
                return problem(
                    "idempotency_key_in_use",
                    "a request with this Idempotency-Key is still being processed",
                    headers={"Retry-After": "1"},
                )
            conn.rollback()
            return _Replay(
                row["status_code"], row["response_body"] or "", row["response_headers"] or []
            )
        finally:
            conn.close()

    def _store(self, owner: str, key: str, captured: dict[str, Any]) -> None:
        t = tables.idempotency_keys
        conn = begin(self.engine, write=True)
        try:
            where = (t.c.user_id == owner) & (t.c.key == key)
            if captured["status"] >= 500:
                # A server error is not an answer: let the client retry with the same key.
                conn.execute(delete(t).where(where))
            else:
                kept = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in captured["headers"]
                    if k.lower() in REPLAYED_HEADERS
                ]
                conn.execute(
                    update(t)
                    .where(where)
                    .values(
                        status_code=captured["status"],
                        response_body=bytes(captured["body"]).decode("utf-8", "replace"),
                        response_headers=kept,
                    )
                )
            conn.execute(delete(t).where(t.c.created_at < datetime.now(UTC) - KEEP_FOR))
            conn.commit()
        finally:
            conn.close()


class _Replay:
    """The stored first response, sent again as it was."""

    def __init__(self, status: int, body: str, headers: list[list[str]]) -> None:
        self.status, self.body, self.headers = status, body.encode("utf-8"), headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        headers.append((b"content-length", str(len(self.body)).encode()))
        headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


__all__ = ["IdempotencyMiddleware", "json"]
