"""Refusals, whichever channel answers them: the one table from a refusal's stable code (API.md)
to its HTTP status and title, used by the API's problem+json handlers and the web pages' error
pages alike, and the security log of refused authorizations.

The security log: one structured record on ``fairdeal.security``
for every request refused as unauthenticated (401), outside the caller's role (403) or for
something the caller may not see (404 from a scoped load: a stranger's dispute, order or file
is "not found", exactly like one that does not exist -- so both are logged).

Emitted from the HTTP layer's error handlers (``entrypoints/api/errors.py``) and the web pages'
route wrapper, not from the services: that is where every refusal ends up whatever raised it
(a domain guard, a service's scoped load, the auth dependency, the role check), where the
unauthenticated caller exists at all, and where the request (method, path, id, client) that
names the target is known. A new service or guard is covered without a call to remember."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

from fairdeal.domain.errors import DomainError
from fairdeal.domain.roles import Actor

log = logging.getLogger("fairdeal.security")

STATUS = {
    "validation_error": 422,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "invalid_transition": 409,
    "not_eligible": 422,
    "dispute_exists": 409,
    "amount_out_of_range": 422,
    "evidence_required": 422,
    "reason_not_allowed": 422,
    "idempotency_key_reused": 422,
    "idempotency_key_in_use": 409,
    "version_conflict": 412,
    "file_too_large": 413,
    "unsupported_file_type": 415,
    "rate_limited": 429,
    "internal_error": 500,
    "service_unavailable": 503,
    "invalid_signature": 400,
}

TITLES = {
    "validation_error": "The request is not valid",
    "unauthenticated": "Authentication required",
    "forbidden": "Not allowed for your role",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "invalid_transition": "Not allowed in the current status",
    "not_eligible": "Not eligible",
    "dispute_exists": "A dispute already exists",
    "amount_out_of_range": "Amount out of range",
    "evidence_required": "Evidence required",
    "reason_not_allowed": "Reason not allowed",
    "idempotency_key_reused": "Idempotency key reused with another request",
    "idempotency_key_in_use": "Idempotency key in use",
    "version_conflict": "The resource changed",
    "file_too_large": "File too large",
    "unsupported_file_type": "Unsupported file type",
    "rate_limited": "Too many requests",
    "internal_error": "Internal error",
    "service_unavailable": "Service unavailable",
    "invalid_signature": "The signature does not verify",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request as every channel answers it: the stable code (which fixes the
    status), the words, the field they concern, and any headers (Retry-After)."""

    code: str
    detail: str
    field: str | None = None
    headers: Mapping[str, str] = dataclass_field(default_factory=dict)

    @classmethod
    def of(cls, error: DomainError) -> Refusal:
        return cls(error.code, error.detail, error.field)

    @property
    def status(self) -> int:
        return STATUS[self.code]

    @property
    def title(self) -> str:
        return TITLES[self.code]


# The refusals that are authorization decisions (others, like 409 or 422, are not).
REFUSED = frozenset({"unauthenticated", "forbidden", "not_found"})


def _clean(value: str, limit: int = 300) -> str:
    """No control characters (a CR/LF in a path would forge log lines), bounded length."""
    cleaned = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value[:limit])
    return cleaned + ("..." if len(value) > limit else "")


def log_refusal(
    *,
    code: str,
    actor: Actor | None,
    method: str,
    path: str,
    path_params: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    client: str | None = None,
    detail: str = "",
    channel: str = "api",
) -> None:
    """Record one refused authorization: who (actor id and role, or anonymous), what (the
    method and path, and the ids the route named), when (UTC), and the refusal's code."""
    if code not in REFUSED:
        return
    target_ids = {str(k): _clean(str(v)) for k, v in (path_params or {}).items()}
    target = f"{method} {_clean(path)}"
    actor_id = actor.user_id if actor is not None else None
    actor_role = actor.role.value if actor is not None else None
    log.warning(
        "authorization refused: %s %s to %s: %s",
        code,
        target,
        f"{actor_id} ({actor_role})" if actor is not None else "an anonymous caller",
        _clean(detail),
        extra={
            "event": "authorization.refused",
            "code": code,
            "actor_id": actor_id,
            "actor_role": actor_role,
            "target": target,
            "target_ids": target_ids,
            "at": datetime.now(UTC).isoformat(),
            "request_id": request_id,
            "client": client,
            "channel": channel,
        },
    )


def log_request_refusal(
    request: Any, code: str, detail: str, *, actor: Actor | None, channel: str
) -> None:
    """``log_refusal`` for a Starlette request: the API's error handlers and the web pages'
    route wrapper call this."""
    log_refusal(
        code=code,
        actor=actor,
        method=request.method,
        path=request.url.path,
        path_params=request.path_params,
        request_id=getattr(request.state, "request_id", None),
        client=request.client.host if request.client else None,
        detail=detail,
        channel=channel,
    )
