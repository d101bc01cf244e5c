"""Response helpers shared by the routes."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from fairdeal.domain.commands import DisputeCommand
from fairdeal.domain.money import Amount
from fairdeal.domain.roles import Actor
from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.responses import JsonResponse
from fairdeal.entrypoints.api.schemas import AmountIn, MoneyIn, Problem
from fairdeal.services import handlers
from fairdeal.services.context import Context
from fairdeal.services.disputes import DisputeView


def dispute_response(view: DisputeView, actor: Actor, status_code: int = 200) -> JSONResponse:
    """A dispute with its ETag: the version a client sends back in If-Match."""
    return JsonResponse(
        serializers.dispute(view, actor),
        status_code=status_code,
        headers={"ETag": f'"{view.dispute.version}"'},
    )


def act(
    ctx: Context,
    actor: Actor,
    dispute_id: str,
    command: DisputeCommand,
    version: int | None,
    status_code: int = 200,
) -> JSONResponse:
    """Run a party's or a mediator's command; answer with the dispute as the caller now sees
    it. ``version`` is the request's If-Match."""
    view = handlers.handle(ctx, actor, dispute_id, command, expected_version=version)
    return dispute_response(view, actor, status_code)


def amount(value: AmountIn) -> Amount:
    """A request's amount (a money object or a bare decimal string), read at the edge."""
    return Amount.of(value.model_dump() if isinstance(value, MoneyIn) else value)


def page(rows: list[Any], limit: int, cursor_of: Any) -> dict[str, Any]:
    """A list page; the cursor is the last row's id when the page is full."""
    next_cursor = cursor_of(rows[-1]) if len(rows) == limit and rows else None
    return {"data": rows, "next_cursor": next_cursor}


def page_response(rows: list[Any], limit: int, cursor_of: Any) -> JSONResponse:
    """A list page sent as the serializers built it. Returned as a dict, FastAPI would
    validate it again against the route's response model (which is there for the OpenAPI
    document), a pydantic round trip of every row on every read (performance.md)."""
    return JsonResponse(page(rows, limit, cursor_of))


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problem responses a route can give."""
    described = {
        401: "Missing or invalid API token",
        403: "Your role cannot do this",
        404: "Not found, or not yours to see",
        409: "Not allowed in the current status, or already exists",
        412: "If-Match does not match the current version",
        413: "File too large",
        415: "Unsupported file type",
        422: "Invalid request",
        429: "Rate limited",
    }
    return {
        code: {
            "model": Problem,
            "description": described[code],
            "content": {"application/problem+json": {}},
        }
        for code in codes
    }
