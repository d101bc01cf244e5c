"""The OpenAPI document a generated client can use (issue 15). FastAPI's document is completed
here, in one place, rather than route by route:

- every error response is ``application/problem+json`` with the ``Problem`` schema;
- every write declares the ``Idempotency-Key`` request header, 429 ``rate_limited`` (with
  ``Retry-After``), 409 ``idempotency_key_in_use`` and 422 ``idempotency_key_reused``;
- a dispute answer declares its ``ETag`` response header;
- the upload's ``file`` is ``format: binary``; a file download is
  ``application/octet-stream`` and ``/metrics`` is ``text/plain``;
- operation ids are short (``acceptSolution``), from the route's function name;
- the bearer token is the document's default security, and public routes say ``security: []``;
- an OpenAPI 3.1 ``webhooks`` section describes each event type's delivery (the body is the
  event as ``/events`` shows it, signed per Standard Webhooks)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fastapi import FastAPI

from fairdeal.domain.events import EVENT_CLASSES

WRITES = ("post", "patch", "put", "delete")
PROBLEM = {"$ref": "#/components/schemas/Problem"}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}
# Function names too generic to be an operation id on their own.
OPERATION_IDS = {
    "queue": "mediationQueue",
    "events": "listEvents",
    "cancel": "cancelDispute",
    "escalate": "escalateDispute",
    "reopen": "reopenDispute",
    "assign": "assignMediator",
    "finalize": "finalizeDecision",
    "ship": "shipOrder",
    "tracking_event": "addTrackingEvent",
    "advance": "advanceSandboxClock",
    "sandbox_clock": "getSandboxClock",
    "metrics": "getMetrics",
    "list_endpoints": "listWebhookEndpoints",
    "get_endpoint": "getWebhookEndpoint",
    "create_endpoint": "createWebhookEndpoint",
    "update_endpoint": "updateWebhookEndpoint",
    "delete_endpoint": "deleteWebhookEndpoint",
    "endpoint_deliveries": "listWebhookDeliveries",
    "retry_delivery": "retryWebhookDelivery",
    "rotate_secret": "rotateWebhookSecret",
    "mark_read": "markNotificationsRead",
}


def install(api: FastAPI) -> None:
    """Serve the completed document from ``/openapi.json`` (built once, then cached). Called
    once every route is registered: the document lists the operations in that order (which
    also decides the operation ids), whatever order ``app.match_first`` gives the matching."""
    plain = api.openapi
    registered = list(api.router.routes)
    done = False

    def completed() -> dict[str, Any]:
        nonlocal done
        if done:
            return plain()  # FastAPI's, cached on the app after the first call
        matching = api.router.routes
        # Built synchronously (on the event loop, when /openapi.json asks): no request is
        # matched meanwhile, and either order finds the same route for every request.
        api.router.routes = registered
        try:
            document = plain()
        finally:
            api.router.routes = matching
        complete(document)
        done = True
        return document

    api.openapi = completed  # type: ignore[method-assign]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _function_name(operation_id: str, path: str, method: str) -> str:
    """FastAPI's default id is ``<function><path with non-word as _>_<method>``."""
    suffix = re.sub(r"\W", "_", path) + "_" + method
    return operation_id[: -len(suffix)] if operation_id.endswith(suffix) else operation_id


def complete(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemes = components.get("securitySchemes", {})
    scheme = next(iter(schemes), None)
    if scheme is not None:
        document["security"] = [{scheme: []}]
    seen: set[str] = set()
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            _operation_id(operation, path, method, seen)
            if scheme is not None and "security" not in operation:
                operation["security"] = []  # public: no token
            responses = operation.setdefault("responses", {})
            if method in WRITES:
                _write(operation, responses, method)
            for status, response in responses.items():
                if status[:1] in "45":
                    response["content"] = {"application/problem+json": {"schema": PROBLEM}}
                elif _is_dispute(response):
                    response.setdefault("headers", {})["ETag"] = {
                        "description": 'the dispute\'s version, "<version>": send it back as '
                        "If-Match",
                        "schema": {"type": "string"},
                    }
    _binary(document, schemas)
    _problem(schemas)
    document["webhooks"] = _webhooks(schemas)


def _operation_id(operation: dict[str, Any], path: str, method: str, seen: set[str]) -> None:
    name = _function_name(operation.get("operationId", ""), path, method)
    short = OPERATION_IDS.get(name, _camel(name))
    if short and short not in seen:
        operation["operationId"] = short
        seen.add(short)


def _write(operation: dict[str, Any], responses: dict[str, Any], method: str) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "a repeat with the same key and request returns the first "
                "response without acting again (kept at least 24 hours)",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    responses.setdefault("429", {"description": "Rate limited (rate_limited)"})
    responses["429"]["headers"] = RETRY_AFTER
    conflict = responses.setdefault("409", {"description": "Conflict"})
    if "idempotency_key_in_use" not in conflict["description"]:
        conflict["description"] += (
            "; or idempotency_key_in_use: a request with this Idempotency-Key is still running"
        )
    invalid = responses.setdefault("422", {"description": "Invalid request"})
    if "idempotency_key_reused" not in invalid["description"]:
        invalid["description"] += (
            "; or idempotency_key_reused: this Idempotency-Key came with another request"
        )


def _is_dispute(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/DisputeOut"))


def _binary(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            if prop.get("contentMediaType") == "application/octet-stream":
                prop.pop("contentMediaType")
                prop["format"] = "binary"
    paths = document.get("paths", {})
    binary = {"schema": {"type": "string", "format": "binary"}}
    download = paths.get("/api/v1/files/{file_id}", {}).get("get")
    if download:
        download["responses"]["200"]["content"] = {"application/octet-stream": binary}
    metrics = paths.get("/metrics", {}).get("get")
    if metrics:
        metrics["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}


def _problem(schemas: dict[str, Any]) -> None:
    problem = schemas.get("Problem")
    if problem is None:
        return
    problem["description"] = "RFC 9457 problem details with the stable code of API.md"
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _webhooks(schemas: dict[str, Any]) -> dict[str, Any]:
    """One entry per event type: the POST a receiver gets."""
    headers = [
        {
            "name": name,
            "in": "header",
            "required": True,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, description in (
            ("webhook-id", "the event id, the same on every retry"),
            ("webhook-timestamp", "Unix seconds of the real wall clock"),
            ("webhook-signature", 'space-separated "v1,<base64 HMAC-SHA256>" signatures'),
        )
    ]
    hooks: dict[str, Any] = {}
    for cls in EVENT_CLASSES:
        fields = [f.name for f in dataclasses.fields(cls) if f.name not in cls._ENVELOPE]
        name = "Event_" + re.sub(r"\W", "_", cls.type)
        schemas[name] = {
            "type": "object",
            "title": name,
            "description": f"The {cls.type} event, as GET /events shows it.",
            "properties": {
                "id": {"type": "string"},
                "type": {"type": "string", "const": cls.type},
                "created_at": {"type": "string", "format": "date-time"},
                "data": {
                    "type": "object",
                    "properties": {field: {} for field in fields},
                    "additionalProperties": True,
                },
            },
            "required": ["id", "type", "created_at", "data"],
        }
        hooks[cls.type] = {
            "post": {
                "operationId": _camel("on_" + re.sub(r"\W", "_", cls.type)),
                "summary": f"{cls.type}, delivered to a webhook endpoint that subscribed to it",
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    },
                },
                "responses": {"200": {"description": "received (any 2xx answer)"}},
            }
        }
    return hooks
