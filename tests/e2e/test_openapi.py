"""The published OpenAPI document agrees with API.md, and the server agrees with its own
document: schemathesis generates requests for every operation (with the platform's token,
a bounded number of examples each, on SQLite to stay fast) and checks that none is answered
with a server error and that every documented response matches its schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from e2e.support import PLATFORM_TOKEN, World, ok, running_app
from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.entrypoints.api.app import create_app

# Every route of API.md, as "METHOD path" with the base path; {} stands for a path parameter.
API_MD_ROUTES = {
    "POST /api/v1/users",
    "POST /api/v1/orders",
    "POST /api/v1/orders/{}/ship",
    "POST /api/v1/orders/{}/tracking-events",
    "POST /api/v1/orders/{}/confirm-receipt",
    "POST /api/v1/orders/{}/extend-protection",
    "GET /api/v1/orders/{}",
    "GET /api/v1/orders",
    "POST /api/v1/files",
    "GET /api/v1/files/{}",
    "POST /api/v1/disputes",
    "GET /api/v1/disputes",
    "GET /api/v1/disputes/{}",
    "PATCH /api/v1/disputes/{}",
    "POST /api/v1/disputes/{}/solutions",
    "PATCH /api/v1/disputes/{}/solutions/{}",
    "POST /api/v1/disputes/{}/solutions/{}/accept",
    "POST /api/v1/disputes/{}/solutions/{}/reject",
    "POST /api/v1/disputes/{}/evidence",
    "DELETE /api/v1/disputes/{}/evidence/{}",
    "POST /api/v1/disputes/{}/messages",
    "POST /api/v1/disputes/{}/escalate",
    "POST /api/v1/disputes/{}/cancel",
    "POST /api/v1/disputes/{}/reopen",
    "POST /api/v1/disputes/{}/return-shipment",
    "POST /api/v1/disputes/{}/return-receipt",
    "POST /api/v1/disputes/{}/assign",
    "POST /api/v1/disputes/{}/evidence-requests",
    "POST /api/v1/disputes/{}/decisions",
    "POST /api/v1/disputes/{}/decisions/{}/finalize",
    "POST /api/v1/disputes/{}/notes",
    "POST /api/v1/disputes/{}/decisions/{}/accept",
    "POST /api/v1/disputes/{}/decisions/{}/reject",
    "GET /api/v1/mediation/queue",
    "GET /api/v1/disputes/{}/case-file",
    "GET /api/v1/metrics/sellers/{}",
    "GET /api/v1/metrics/buyers/{}",
    "GET /api/v1/metrics/sellers",
    "GET /api/v1/policy",
    "GET /api/v1/events",
    "POST /api/v1/webhook-endpoints",
    "GET /api/v1/webhook-endpoints",
    "GET /api/v1/webhook-endpoints/{}",
    "PATCH /api/v1/webhook-endpoints/{}",
    "DELETE /api/v1/webhook-endpoints/{}",
    "POST /api/v1/webhook-endpoints/{}/rotate-secret",
    "GET /api/v1/webhook-endpoints/{}/deliveries",
    "POST /api/v1/providers/stripe/webhook",
    "GET /api/v1/orders/{}/payments",
    "GET /api/v1/payments",
    "POST /api/v1/payments/{}/succeeded",
    "POST /api/v1/payments/{}/failed",
    "POST /api/v1/payments/{}/retry",
    "POST /api/v1/webhook-endpoints/{}/deliveries/{}/retry",
    "GET /api/v1/sandbox/clock",
    "POST /api/v1/sandbox/clock/advance",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
}
API_MD = Path(__file__).resolve().parents[3] / "shared" / "API.md"
OUTSIDE_BASE = ("/healthz", "/readyz", "/metrics")


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def published_routes(world: World) -> set[str]:
    document = ok(world.anonymous.get("/openapi.json"))
    return {
        f"{method.upper()} {_template(path)}"
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_api_md_lists_no_route_this_test_does_not_know() -> None:
    """Every `METHOD /path` written in API.md is in API_MD_ROUTES (so the list stays the
    contract's, not the server's). The shorthand "`.../accept` | `/reject`" is in it by hand."""
    if not API_MD.exists():
        pytest.skip(f"{API_MD} is not beside the repository")
    written = {
        f"{method} {_template(path if path in OUTSIDE_BASE else '/api/v1' + path)}"
        for method, path in re.findall(
            r"`(GET|POST|PATCH|PUT|DELETE) (/[^`\s?]*)", API_MD.read_text()
        )
    }
    assert len(written) > 30, "API.md's routes were not found: has its format changed?"
    assert written <= API_MD_ROUTES, sorted(written - API_MD_ROUTES)


def test_openapi_lists_every_route_of_api_md(world: World) -> None:
    # Routes beyond API.md are the implementation's to choose ("in the same style"); every
    # route of API.md must be there.
    assert sorted(API_MD_ROUTES - published_routes(world)) == []


def test_openapi_documents_problem_responses_and_the_dispute_shape(world: World) -> None:
    document = ok(world.anonymous.get("/openapi.json"))
    cancel = document["paths"]["/api/v1/disputes/{dispute_id}/cancel"]["post"]
    for status in ("401", "403", "404", "409", "412", "422", "429"):
        assert "application/problem+json" in cancel["responses"][status]["content"], status
    dispute = document["components"]["schemas"]["DisputeOut"]["properties"]
    for name in (
        "id", "order_id", "item_ids", "buyer_id", "seller_id", "policy", "version", "status",
        "reason", "description", "desired_outcome", "amount_paid", "solutions", "evidence",
        "messages", "deadline", "mediation", "outcome", "return", "refund", "timeline",
        "allowed_actions", "created_at", "updated_at", "closed_at",
    ):  # fmt: skip
        assert name in dispute, name
    assert world.anonymous.get("/docs").status_code == 200


# --- schemathesis -------------------------------------------------------------------------
# Its pytest integration (``schemathesis.pytest.from_fixture``) does not run under pytest 9
# (it reads ``Function._nodeid``), so each operation is its own pytest case here, driven by
# Hypothesis over the operation's strategy.


def _operations() -> list[tuple[str, GenerationMode]]:
    """(label, mode) of every served operation ("POST /api/v1/disputes"), read at collection
    time from an app that never touches its (in-memory) database. Invalid data (the negative
    mode) is generated where there is something to get wrong: a body or a query parameter."""
    app = bootstrap(Settings(database_url="sqlite://", sandbox=True))
    try:
        document = create_app(app).openapi()
    finally:
        app.engine.dispose()
    cases = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            cases.append((label, GenerationMode.POSITIVE))
            inputs = [p["in"] for p in operation.get("parameters", [])]
            if "requestBody" in operation or "query" in inputs:
                cases.append((label, GenerationMode.NEGATIVE))
    return cases


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    """The API on one SQLite database for the module, loaded by schemathesis in process (ASGI)."""
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'fairdeal.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with running_app(url, folder / "files") as (app, _):
        yield schemathesis.openapi.from_asgi("/openapi.json", create_app(app))


@pytest.mark.parametrize(
    ("label", "mode"),
    [pytest.param(*case, id=f"{case[0]} {case[1].value}") for case in _operations()],
)
def test_no_server_errors_and_responses_match_the_document(
    api_schema: schemathesis.BaseSchema, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    token = {"Authorization": f"Bearer {PLATFORM_TOKEN}"}

    @given(case=operation.as_strategy(generation_mode=mode, headers=token))
    @settings(
        max_examples=10,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: a gate, not a lottery
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

    check()
