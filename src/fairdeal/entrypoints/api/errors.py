"""Every error as RFC 9457 problem+json with the stable codes of API.md. No stack trace ever
reaches a client: unexpected errors are logged with the request id and answered as a plain
500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fairdeal.domain.errors import DomainError
from fairdeal.entrypoints.refusals import STATUS, TITLES, Refusal, log_request_refusal

log = logging.getLogger("fairdeal.api")

__all__ = ["STATUS", "TITLES", "ApiError", "install", "problem"]


class ApiError(Exception):
    """An error raised by the HTTP layer itself (auth, uploads, idempotency, rate limits)."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code, self.detail, self.field, self.headers = code, detail, field, headers or {}


def problem(
    code: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    status = STATUS[code]
    body: dict[str, Any] = {
        "type": f"https://fairdeal.dev/problems/{code.replace('_', '-')}",
        "title": TITLES[code],
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _log_refusal(request: Request, code: str, detail: str) -> None:
    """Every refused authorization of the API goes through here (see entrypoints/refusals)."""
    log_request_refusal(
        request, code, detail, actor=getattr(request.state, "actor", None), channel="api"
    )


def _refused(request: Request, refusal: Refusal) -> JSONResponse:
    _log_refusal(request, refusal.code, refusal.detail)
    return problem(refusal.code, refusal.detail, field=refusal.field, headers=dict(refusal.headers))


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        # A NotFound naming a field is a bad reference in a body (an unknown file id), still a
        # refusal to reveal someone else's file: logged like the others.
        return _refused(request, Refusal.of(error))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _refused(request, Refusal(error.code, error.detail, error.field, error.headers))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return _validation_problem(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _http_problem(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception(
            # The path as a Python literal: a %0A or an ANSI escape in it cannot start a
            # forged log line.
            "unhandled error on %s %r (request %s)",
            request.method,
            request.url.path,
            getattr(request.state, "request_id", "-"),
        )
        return problem("internal_error", "something went wrong on our side; it was logged")


# A refused body lists this many of its errors, however many it has: the answer stays small.
MAX_LISTED_ERRORS = 10


def _validation_problem(error: RequestValidationError) -> JSONResponse:
    """A body or parameter FastAPI refused, field by field, as ``validation_error``."""
    errors = []
    found = error.errors()
    for item in found[:MAX_LISTED_ERRORS]:
        kind = item.get("type", "")
        if kind == "json_invalid":
            return problem("validation_error", "the body is not valid JSON", field="body")
        field = _field_name(tuple(item.get("loc", ())))
        message = item.get("msg", "is not valid")
        if kind == "extra_forbidden":
            message = "is not a known field"
        elif kind == "missing":
            message = "is required"
        errors.append({"field": field, "message": message})
    first = errors[0] if errors else {"field": "body", "message": "is not valid"}
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    if len(found) > len(errors):
        detail += f"; and {len(found) - len(errors)} more"
    return problem("validation_error", detail, field=first["field"], errors=errors)


# The code of an HTTP error Starlette raised itself (no route, a body too large...).
HTTP_CODES = {
    400: "validation_error",
    401: "unauthenticated",
    403: "forbidden",
    413: "file_too_large",
    415: "unsupported_file_type",
    429: "rate_limited",
}


def _http_problem(request: Request, error: StarletteHTTPException) -> JSONResponse:
    if error.status_code == 405:
        return problem(
            "method_not_allowed",
            "this method is not allowed on this path",
            headers=dict(error.headers or {}),
        )
    if error.status_code == 404:
        return problem("not_found", "no such resource")
    code = HTTP_CODES.get(error.status_code, "internal_error")
    if code in ("unauthenticated", "forbidden"):
        _log_refusal(request, code, str(error.detail))
    return problem(code, str(error.detail))
