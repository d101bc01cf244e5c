"""Idempotency-Key on every write (POST, PATCH, PUT, DELETE), with Stripe's semantics: the
same key and request replay the first response byte for byte; the same key with another
request is refused (422); a duplicate that arrives while the first is still running is
refused (409). Keys are scoped to the API token that sent them and kept for 48 hours.

Requests are compared by their meaning, not their bytes (``fingerprint``): a JSON body by its
parsed value (member order and whitespace do not matter; ``jsonguard`` parsed it), a
multipart upload by its parts' names, file names and SHA-256 digests (a retry with a new
boundary is the same request), any other body by its bytes -- always with the method, the
path and the query.

The key is claimed (a row inserted under its primary key, committed) before the request runs,
so two concurrent duplicates cannot both act. The request then runs in one database
transaction of its own (``adapters.db.request_tx``), and its answer is stored in that same
transaction before it commits; only then is the answer sent. So a process killed at any point
leaves either nothing of the request (the claim alone: a retry after the claim goes stale
runs it afresh) or its effect together with its answer (a retry replays the answer) -- never
an effect without its answer, which a retry would apply twice. The claim's time is its fence:
a request whose claim was taken over as stale while it still ran rolls back instead of
storing, so a slow first attempt and its retry cannot both act. A request that commits
several units of work (the sandbox clock's advance: the clock, then each firing) commits them
all at once with its answer. See docs/chaos.md.

Stored answers are sealed (AES-GCM) with a key derived from the caller's own credential and
the Idempotency-Key, neither of which the table holds (the owner column is a hash): an answer
that hands out a secret -- POST /users' api_token, a webhook endpoint's secret -- is readable
again only by the caller replaying it, never by someone reading the database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fairdeal.adapters.db import tables
from fairdeal.adapters.db.engine import begin
from fairdeal.adapters.db.request_tx import RequestTransaction
from fairdeal.entrypoints.api.errors import problem

log = logging.getLogger("fairdeal.api")

STALE_CLAIM = timedelta(minutes=5)
KEEP_FOR = timedelta(hours=48)
REPLAYED_HEADERS = {b"content-type", b"etag", b"location"}
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, engine: Engine, stale_after: timedelta = STALE_CLAIM) -> None:
        self.app, self.engine, self.stale_after = app, engine, stale_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
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
        credential = headers.get(b"authorization", b"anonymous")
        owner = hashlib.sha256(credential).hexdigest()[:40]
        secret = _sealing_key(credential, key)
        body = await _read_body(receive)
        fingerprint = await anyio.to_thread.run_sync(request_fingerprint, scope, body)
        verdict, claimed_at = await anyio.to_thread.run_sync(
            self._claim, owner, key, fingerprint, secret
        )
        if verdict is not None:
            await verdict(scope, receive, send)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture_send(message: Message) -> None:
            # Held back: the client hears nothing before the request's transaction commits.
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")

        tx = await anyio.to_thread.run_sync(RequestTransaction.open, self.engine)
        token = tx.activate()
        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            RequestTransaction.deactivate(token)
            await anyio.to_thread.run_sync(self._abandon, owner, key, claimed_at, tx)
            raise
        RequestTransaction.deactivate(token)
        answer = await anyio.to_thread.run_sync(
            self._store, owner, key, claimed_at, captured, tx, secret
        )
        await answer(scope, receive, send)

    def _claim(self, owner: str, key: str, fingerprint: str, secret: bytes) -> tuple[Any, datetime]:
        """Claim the key: (None, the claim's time, which fences it), or (the response that
        answers a duplicate, -)."""
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
                return None, now
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
                return None, now
            if row["request_hash"] != fingerprint:
                conn.rollback()
                return problem(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                ), now
            if row["status_code"] is None:
                created = tables.UTCDateTime().process_result_value(row["created_at"], conn.dialect)
                if created is not None and now - created > self.stale_after:
                    # The first attempt died (its transaction never committed) or is very
                    # slow: take the claim over. Fenced on the claim's time, so that of two
                    # retries only one takes it, and the slow first attempt cannot store.
                    taken = conn.execute(
                        update(t)
                        .where(
                            t.c.user_id == owner,
                            t.c.key == key,
                            t.c.status_code.is_(None),
                            t.c.created_at == created,
                        )
                        .values(created_at=now)
                    )
                    conn.commit()
                    if taken.rowcount == 1:
                        return None, now
                    return _in_use(), now
                conn.rollback()
                return _in_use(), now
            conn.rollback()
            return _Replay(
                row["status_code"],
                _unseal(secret, row["response_body"] or ""),
                row["response_headers"] or [],
            ), now
        finally:
            conn.close()

    def _store(
        self,
        owner: str,
        key: str,
        claimed_at: datetime,
        captured: dict[str, Any],
        tx: RequestTransaction,
        secret: bytes,
    ) -> Any:
        """Store the answer in the request's transaction and commit both; returns what to
        send. A server error is not an answer: its transaction is rolled back and the claim
        released, so that the client may retry with the same key."""
        t = tables.idempotency_keys
        if captured["status"] >= 500:
            self._abandon(owner, key, claimed_at, tx)
            return _Replay(captured["status"], bytes(captured["body"]), captured["headers"])
        try:
            conn = tx.conn
            mine = (
                (t.c.user_id == owner)
                & (t.c.key == key)
                & (t.c.created_at == claimed_at)
                & t.c.status_code.is_(None)
            )
            kept = [
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in captured["headers"]
                if k.lower() in REPLAYED_HEADERS
            ]
            stored = conn.execute(
                update(t)
                .where(mine)
                .values(
                    status_code=captured["status"],
                    response_body=_seal(secret, bytes(captured["body"])),
                    response_headers=kept,
                )
            )
            if stored.rowcount != 1:
                # Our claim was taken over as stale while we ran: the retry acts, not us.
                tx.rollback()
                return _in_use()
            conn.execute(delete(t).where(t.c.created_at < datetime.now(UTC) - KEEP_FOR))
            tx.commit()
        except Exception:
            # Not committed (or not known to be): the client must not hear a success. Its
            # retry finds the answer if the commit did happen, or runs the request afresh.
            log.exception("storing an idempotent answer failed")
            tx.rollback()
            return problem(
                "service_unavailable",
                "the request could not be completed; retry it with the same Idempotency-Key",
                headers={"Retry-After": "1"},
            )
        return _Replay(captured["status"], bytes(captured["body"]), captured["headers"], False)

    def _abandon(self, owner: str, key: str, claimed_at: datetime, tx: RequestTransaction) -> None:
        """Roll the request back and release its claim (if it is still ours)."""
        t = tables.idempotency_keys
        try:
            tx.rollback()
        except Exception:
            log.exception("rolling back an idempotent request failed")
        conn = begin(self.engine, write=True)
        try:
            conn.execute(
                delete(t).where(
                    t.c.user_id == owner,
                    t.c.key == key,
                    t.c.created_at == claimed_at,
                    t.c.status_code.is_(None),
                )
            )
            conn.commit()
        finally:
            conn.close()


def request_fingerprint(scope: Scope, body: bytes) -> str:
    """What makes two requests "the same request": the method, path and query, and the body's
    meaning (see the module's docstring)."""
    head = (
        scope["method"].encode()
        + b" "
        + scope["path"].encode()
        + b"?"
        + scope.get("query_string", b"")
        + b"\n"
    )
    parsed = scope.get("state", {}).get("json_body", _NO_JSON)
    if parsed is not _NO_JSON:
        meaning = b"json:" + json.dumps(
            parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    else:
        boundary = _boundary(scope)
        parts = _multipart_parts(body, boundary) if boundary else None
        if parts is not None:
            meaning = b"multipart:" + json.dumps(sorted(parts)).encode()
        else:
            meaning = b"bytes:" + body
    return hashlib.sha256(head + meaning).hexdigest()


_NO_JSON = object()


def _boundary(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind, _, params = value.partition(b";")
            if kind.strip().lower() != b"multipart/form-data":
                return None
            for param in params.split(b";"):
                key, _, val = param.strip().partition(b"=")
                if key.strip().lower() == b"boundary" and val:
                    found: bytes = val.strip().strip(b'"')
                    return found
    return None


def _multipart_parts(body: bytes, boundary: bytes) -> list[list[str]] | None:
    """Each part as [name, filename, content type, SHA-256 of its content]; None when the
    body is not the multipart it says it is (then its bytes are compared)."""
    delimiter = b"--" + boundary
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        return None
    parts: list[list[str]] = []
    for chunk in chunks[1:-1]:
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            return None
        fields = {"name": "", "filename": "", "type": ""}
        for line in head.split(b"\r\n"):
            key, _, value = line.decode("latin-1").partition(":")
            if key.strip().lower() == "content-type":
                fields["type"] = value.strip().lower()
            elif key.strip().lower() == "content-disposition":
                for param in value.split(";")[1:]:
                    pname, _, pvalue = param.strip().partition("=")
                    if pname.lower() in ("name", "filename"):
                        fields[pname.lower()] = pvalue.strip().strip('"')
        digest = hashlib.sha256(content).hexdigest()
        parts.append([fields["name"], fields["filename"], fields["type"], digest])
    return parts


SEALED = "sealed:v1:"


def _sealing_key(credential: bytes, key: str) -> bytes:
    return hmac.new(
        credential, b"fairdeal idempotent answer v1\x00" + key.encode("latin-1"), hashlib.sha256
    ).digest()


def _seal(secret: bytes, body: bytes) -> str:
    nonce = os.urandom(12)
    return SEALED + base64.b64encode(nonce + AESGCM(secret).encrypt(nonce, body, None)).decode()


def _unseal(secret: bytes, stored: str) -> bytes:
    if not stored.startswith(SEALED):
        return stored.encode("utf-8")  # an answer stored before answers were sealed
    raw = base64.b64decode(stored[len(SEALED) :])
    return AESGCM(secret).decrypt(raw[:12], raw[12:], None)


def _in_use() -> Any:
    return problem(
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being processed",
        headers={"Retry-After": "1"},
    )


class _Replay:
    """A response sent as it was: the stored first response of a key (marked as replayed),
    or the request's own answer once its transaction has committed."""

    def __init__(
        self, status: int, body: str | bytes, headers: list[Any], replayed: bool = True
    ) -> None:
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        pairs = [(_raw(k), _raw(v)) for k, v in headers]
        self.headers = [(k, v) for k, v in pairs if k.lower() != b"content-length"]
        self.replayed = replayed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = list(self.headers)
        headers.append((b"content-length", str(len(self.body)).encode()))
        if self.replayed:
            headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def _raw(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


__all__ = ["IdempotencyMiddleware", "json"]
