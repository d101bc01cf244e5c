"""JSON request bodies, read once at the door with bounded work (RFC 7493, I-JSON):

- a body larger than ``MAX_JSON_BYTES`` is refused (413) as soon as its Content-Length or its
  bytes say so, before it is buffered or parsed;
- a repeated member name (``{"amount": "1.00", "amount": "40.00"}``) is refused with
  ``validation_error``: a gateway in front may have read the first value where Python's json
  keeps the last;
- an object with more than ``MAX_MEMBERS`` members, or nesting deeper than ``MAX_DEPTH``, is
  refused while parsing, so no pydantic run over a hostile object lists a million unknown
  fields (and the problem body lists a few errors, see ``errors._validation_problem``).

A large body is parsed in a worker thread, so that it does not hold the event loop:
``/healthz`` and every other request keep being answered meanwhile. A small one (every body
of a dispute's lifecycle: a few hundred bytes, parsed in microseconds) is parsed in place --
the hand-off to the thread pool cost more than the parse (performance.md). The parsed value is left in the
request's state (``request.state.json_body``) for the idempotency middleware, which compares
requests by their JSON meaning. A body that is not JSON at all is passed on untouched: the
routes' own parsing answers it as before (malformed JSON, not UTF-8)."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fairdeal.entrypoints.api.errors import problem

# The largest request body of the API (an order of 100 items, each with a 500-character
# title) is about 100 KB: a megabyte is ten times that.
MAX_JSON_BYTES = 1024 * 1024
# No request object of the API has more than a dozen members.
MAX_MEMBERS = 200
MAX_DEPTH = 32
# Bodies up to this size are parsed on the event loop (well under a millisecond even for the
# worst-case body of this size); larger ones in a worker thread.
PARSE_IN_PLACE_BYTES = 16 * 1024
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
NOT_PARSED = object()


class BodyRefused(ValueError):
    """A JSON body refused while parsing: why, and where."""

    def __init__(self, detail: str, field: str = "body") -> None:
        super().__init__(detail)
        self.detail, self.field = detail, field


def is_json(scope: Scope) -> bool:
    """FastAPI reads a body as JSON when its type says JSON, or when it has no type."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind: bytes = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return True


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_MEMBERS:
        raise BodyRefused(f"an object has {len(pairs)} members; at most {MAX_MEMBERS} are read")
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise BodyRefused(
                f"the member {name[:64]!r} appears twice in one object (RFC 7493, I-JSON)",
                field=name[:64],
            )
        result[name] = value
    return result


def _depth_ok(body: bytes) -> bool:
    """Nesting bounded before parsing (a cheap byte scan; brackets inside strings only make
    the estimate larger, and a legitimate body is far from the bound either way)."""
    depth = 0
    for byte in body.translate(None, delete=bytes(set(range(256)) - set(b"[]{}"))):
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_DEPTH:
            return False
    return True


def parse(body: bytes) -> Any:
    """The body's JSON value, ``NOT_PARSED`` when it is not JSON (or not UTF-8), or
    ``BodyRefused`` raised for a body this API will not read."""
    if not _depth_ok(body):
        raise BodyRefused(f"the JSON nests deeper than {MAX_DEPTH} levels")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_PARSED
    try:
        return json.loads(text, object_pairs_hook=_pairs)
    except BodyRefused:
        raise
    except (ValueError, RecursionError):
        return NOT_PARSED


class JsonGuardMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_JSON_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or not is_json(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if body.strip():
            try:
                if len(body) <= PARSE_IN_PLACE_BYTES:
                    value = parse(body)
                else:
                    value = await anyio.to_thread.run_sync(parse, body)
            except BodyRefused as refused:
                await problem("validation_error", refused.detail, field=refused.field)(
                    scope, receive, send
                )
                return
            if value is not NOT_PARSED:
                scope.setdefault("state", {})["json_body"] = value

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: the client's disconnect, if any
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> Any:
        return problem(
            "file_too_large",
            f"the JSON body is larger than {self.max_bytes // 1024} KiB; this API reads no "
            "body that large",
        )
