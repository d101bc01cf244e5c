"""Who may call what: every route of API.md x every kind of caller -> the exact status.

A user sees only what they are party to (a stranger's dispute or order answers 404, not 403);
a caller whose role never may take an action is refused with 403 whatever the target; no
token is 401. The table is the contract; each row's target is set up fresh in the state the
route needs (a dispute under review for a decision, a cancelled one for reopen...), so that
the allowed callers really succeed.

One world per database serves the whole module (classic policy, which has the manual
"Escalate" button, so that escalate can succeed too). A caller that is refused changes
nothing, so refused callers share a target; each allowed caller gets a fresh one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from databases import BACKENDS, empty_database
from e2e.support import Caller, World, ok, png_bytes, running_world

ACTORS = ("buyer", "other_buyer", "seller", "other_seller", "mediator", "platform", "anonymous")
_unique = count(1)


# --- the world the table runs in ---------------------------------------------------------


@dataclass
class Matrix:
    world: World
    shared: dict[str, dict[str, Any]] = field(default_factory=dict)

    def caller(self, actor: str) -> Caller:
        return getattr(self.world, actor)

    def scene(self, name: str, *, fresh: bool) -> dict[str, Any]:
        """Ids of a target in the named state; a shared one unless ``fresh``."""
        if fresh:
            return SCENES[name](self.world)
        if name not in self.shared:
            self.shared[name] = SCENES[name](self.world)
        return self.shared[name]


@pytest.fixture(scope="module", params=BACKENDS)
def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    """Like tests/conftest.py's ``db_url``, but for the whole module."""
    folder = tmp_path_factory.mktemp("matrix")
    url = empty_database(request, Path(folder))
    with running_world(url, Path(folder) / "files", policy="classic") as world:
        yield Matrix(world)


# --- targets in every state a route needs -------------------------------------------------


def _order(w: World) -> dict[str, Any]:
    order = w.order()
    return {"order": order["id"], "_order": order}


def _shipped(w: World) -> dict[str, Any]:
    order = w.shipped_order()
    return {"order": order["id"], "_order": order}


def _open(w: World, **overrides: Any) -> dict[str, Any]:
    scene = _shipped(w)
    dispute = w.open_dispute(scene["_order"], **overrides)
    return {
        **scene,
        "dispute": dispute["id"],
        "solution": dispute["solutions"][0]["id"],  # the buyer's own
        "evidence": dispute["evidence"][0]["id"],  # the buyer's photo
        "file": dispute["evidence"][0]["file_id"],
    }


def _negotiating(w: World) -> dict[str, Any]:
    """The seller offered a solution and added a photo of their own."""
    scene = _open(w)
    w.act(w.seller, scene["dispute"], "solutions", {"kind": "refund_only", "amount": "5.00"}, 201)
    photo = w.upload(w.seller)["id"]
    w.act(w.seller, scene["dispute"], "evidence", {"file_id": photo}, 201)
    return scene


def _cancelled(w: World) -> dict[str, Any]:
    scene = _open(w)
    w.act(w.buyer, scene["dispute"], "cancel")
    return scene


def _awaiting_return(w: World) -> dict[str, Any]:
    scene = _open(w, desired_outcome="return_and_refund")
    w.act(w.seller, scene["dispute"], f"solutions/{scene['solution']}/accept")
    return scene


def _return_in_transit(w: World) -> dict[str, Any]:
    scene = _awaiting_return(w)
    w.act(w.buyer, scene["dispute"], "return-shipment", {"carrier": "DHL", "tracking_number": "R1"})
    return scene


def _under_review(w: World) -> dict[str, Any]:
    scene = _negotiating(w)
    assert w.act(w.buyer, scene["dispute"], "escalate")["status"] == "under_review"
    return scene


def _decision(w: World) -> dict[str, Any]:
    scene = _under_review(w)
    decided = w.act(
        w.mediator,
        scene["dispute"],
        "decisions",
        {"solutions": [{"kind": "refund_only", "amount": "20.00"}], "rationale": "Half."},
        201,
    )
    return {**scene, "decision": decided["mediation"]["decision"]["id"]}


def _refunded(w: World) -> dict[str, Any]:
    """The seller accepted the buyer's refund: the refund is a money movement."""
    scene = _open(w)
    w.act(w.seller, scene["dispute"], f"solutions/{scene['solution']}/accept")
    [movement] = ok(w.platform.get(f"/orders/{scene['order']}/payments"))["data"]
    return {**scene, "payment": movement["id"]}


def _refund_failed(w: World) -> dict[str, Any]:
    scene = _refunded(w)
    ok(w.platform.post(f"/payments/{scene['payment']}/failed", {"reason": "card closed"}))
    return scene


def _webhook(w: World) -> dict[str, Any]:
    """A webhook endpoint of the platform (sandbox mode: any http(s) target is allowed)."""
    created = ok(
        w.platform.post(
            "/webhook-endpoints", {"url": "https://hooks.example.test/fd", "events": ["*"]}
        ),
        201,
    )
    # No delivery yet: a made-up one, which the platform's own endpoint answers 404 for.
    return {"webhook": created["id"], "delivery": "dlv_1"}


def _user(w: World) -> dict[str, Any]:
    """A user of its own, for the routes that change a user (disabling one)."""
    return {"user": w.user("buyer").user_id}


def _parties(w: World) -> dict[str, Any]:
    """The world's buyer and seller, for the routes about one user's numbers."""
    return {"buyer": w.buyer.user_id, "seller": w.seller.user_id}


SCENES: dict[str, Callable[[World], dict[str, Any]]] = {
    "none": lambda w: {"order": "-", "dispute": "-"},
    "parties": _parties,
    "user": _user,
    "order": _order,
    "shipped": _shipped,
    "open": _open,
    "negotiating": _negotiating,
    "cancelled": _cancelled,
    "awaiting_return": _awaiting_return,
    "return_in_transit": _return_in_transit,
    "under_review": _under_review,
    "decision": _decision,
    "webhook": _webhook,
    "refunded": _refunded,
    "refund_failed": _refund_failed,
}


# --- request bodies that depend on the caller -------------------------------------------


def _new_user(m: Matrix, caller: Caller, scene: dict[str, Any]) -> dict[str, Any]:
    n = next(_unique)
    return {"json": {"role": "buyer", "name": f"New {n}", "email": f"new{n}@e2e.test"}}


def _new_order(m: Matrix, caller: Caller, scene: dict[str, Any]) -> dict[str, Any]:
    return {"json": m.world.order_body()}


def _new_dispute(m: Matrix, caller: Caller, scene: dict[str, Any]) -> dict[str, Any]:
    # Only the order's own buyer uploads a photo for it; the others are refused before files.
    files = None if caller is m.world.buyer else ["file_not_theirs"]
    body = m.world.dispute_body(scene["_order"], buyer=m.world.buyer, evidence_file_ids=files)
    if files is None:
        body["evidence_file_ids"] = [m.world.upload(m.world.buyer)["id"]]
    return {"json": body}


def _own_file(m: Matrix, caller: Caller, scene: dict[str, Any]) -> dict[str, Any]:
    can_upload = caller.role in ("buyer", "seller", "mediator")
    file_id = m.world.upload(caller)["id"] if can_upload else "file_none"
    return {"json": {"file_id": file_id, "description": "More."}}


def _upload(m: Matrix, caller: Caller, scene: dict[str, Any]) -> dict[str, Any]:
    return {"files": {"file": ("photo.png", png_bytes(), "image/png")}}


def _json(body: Any) -> Callable[[Matrix, Caller, dict[str, Any]], dict[str, Any]]:
    return lambda m, caller, scene: {"json": body}


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {order} {dispute} {solution} {evidence} {decision} {file} come from the scene
    scene: str
    # buyer, other buyer, seller, other seller, mediator, platform, anonymous
    expected: tuple[int, int, int, int, int, int, int]
    body: Callable[[Matrix, Caller, dict[str, Any]], dict[str, Any]] | None = None


PARTY_ONLY = (200, 404, 200, 404, 403, 403, 401)  # both parties; strangers 404; staff 403
BUYER_ONLY = (200, 404, 403, 404, 403, 403, 401)
SELLER_ONLY = (403, 404, 200, 404, 403, 403, 401)
MEDIATOR_ONLY = (403, 403, 403, 403, 200, 403, 401)
MEDIATOR_CREATES = (403, 403, 403, 403, 201, 403, 401)
PLATFORM_ONLY = (403, 403, 403, 403, 403, 200, 401)
PLATFORM_CREATES = (403, 403, 403, 403, 403, 201, 401)
EVERY_USER = (200, 200, 200, 200, 200, 200, 401)
EVERYONE = (200, 200, 200, 200, 200, 200, 200)

ROUTES = [
    # users and orders
    Route("POST", "/users", "none", PLATFORM_CREATES, _new_user),
    Route("POST", "/orders", "none", PLATFORM_CREATES, _new_order),
    Route("POST", "/users/{user}/disable", "user", (403, 403, 403, 403, 403, 204, 401)),
    Route(
        "POST",
        "/orders/{order}/ship",
        "order",
        (403, 403, 200, 404, 403, 200, 401),
        _json({"carrier": "DHL", "tracking_number": "T1", "protection_days": 30}),
    ),
    Route(
        "POST",
        "/orders/{order}/tracking-events",
        "shipped",
        PLATFORM_ONLY,
        _json({"status": "in_transit", "at": "2026-01-02T03:04:05Z", "location": "Leipzig"}),
    ),
    Route(
        "POST", "/orders/{order}/confirm-receipt", "shipped", (200, 404, 403, 403, 403, 403, 401)
    ),
    Route(
        "POST",
        "/orders/{order}/extend-protection",
        "shipped",
        (403, 403, 200, 404, 403, 403, 401),
        _json({"days": 5}),
    ),
    Route("GET", "/orders/{order}", "shipped", (200, 404, 200, 404, 200, 200, 401)),
    Route("GET", "/orders", "none", EVERY_USER),
    # files
    Route("POST", "/files", "none", (201, 201, 201, 201, 201, 403, 401), _upload),
    Route("GET", "/files/{file}", "open", (200, 404, 200, 404, 200, 404, 401)),
    # disputes
    Route("POST", "/disputes", "shipped", (201, 404, 403, 403, 403, 403, 401), _new_dispute),
    Route("GET", "/disputes", "none", EVERY_USER),
    Route("GET", "/disputes/{dispute}", "open", (200, 404, 200, 404, 200, 200, 401)),
    Route("PATCH", "/disputes/{dispute}", "open", BUYER_ONLY, _json({"description": "More."})),
    Route(
        "POST",
        "/disputes/{dispute}/solutions",
        "negotiating",
        (201, 404, 201, 404, 403, 403, 401),
        _json({"kind": "return_and_refund", "amount": "5.00"}),
    ),
    Route(
        "PATCH",
        "/disputes/{dispute}/solutions/{solution}",
        "negotiating",
        BUYER_ONLY,  # its author
        _json({"comment": "Edited."}),
    ),
    Route("POST", "/disputes/{dispute}/solutions/{solution}/accept", "negotiating", SELLER_ONLY),
    Route("POST", "/disputes/{dispute}/solutions/{solution}/reject", "negotiating", SELLER_ONLY),
    Route(
        "POST",
        "/disputes/{dispute}/evidence",
        "negotiating",
        (201, 404, 201, 404, 403, 403, 401),
        _own_file,
    ),
    Route("DELETE", "/disputes/{dispute}/evidence/{evidence}", "negotiating", BUYER_ONLY),
    Route(
        "POST",
        "/disputes/{dispute}/messages",
        "open",
        (201, 404, 201, 404, 201, 403, 401),
        _json({"body": "Hello."}),
    ),
    Route("POST", "/disputes/{dispute}/escalate", "negotiating", PARTY_ONLY),
    Route("POST", "/disputes/{dispute}/cancel", "open", BUYER_ONLY),
    Route("POST", "/disputes/{dispute}/reopen", "cancelled", BUYER_ONLY),
    Route(
        "POST",
        "/disputes/{dispute}/return-shipment",
        "awaiting_return",
        BUYER_ONLY,
        _json({"carrier": "DHL", "tracking_number": "R2"}),
    ),
    Route(
        "POST",
        "/disputes/{dispute}/return-receipt",
        "return_in_transit",
        SELLER_ONLY,
        _json({"condition": "as_expected"}),
    ),
    # mediation
    Route("POST", "/disputes/{dispute}/assign", "under_review", MEDIATOR_ONLY),
    Route(
        "POST",
        "/disputes/{dispute}/evidence-requests",
        "under_review",
        MEDIATOR_CREATES,
        _json({"party": "seller", "request": "The label, please."}),
    ),
    Route(
        "POST",
        "/disputes/{dispute}/decisions",
        "under_review",
        MEDIATOR_CREATES,
        _json({"solutions": [{"kind": "refund_only", "amount": "1.00"}], "rationale": "Why."}),
    ),
    Route("POST", "/disputes/{dispute}/decisions/{decision}/finalize", "decision", MEDIATOR_ONLY),
    Route(
        "POST", "/disputes/{dispute}/notes", "open", MEDIATOR_CREATES, _json({"body": "Private."})
    ),
    Route("POST", "/disputes/{dispute}/decisions/{decision}/accept", "decision", PARTY_ONLY),
    Route(
        "POST",
        "/disputes/{dispute}/decisions/{decision}/reject",
        "decision",
        PARTY_ONLY,
        _json({"comment": "I disagree."}),
    ),
    Route("GET", "/mediation/queue", "none", MEDIATOR_ONLY),
    Route("GET", "/policy", "none", EVERY_USER),
    # events, webhooks, sandbox, operations
    # the case file: the parties, the dispute's own mediator (none yet here) and admins
    Route("GET", "/disputes/{dispute}/case-file", "open", (200, 404, 200, 404, 403, 403, 401)),
    # metrics: staff and the platform, and each user their own
    Route("GET", "/metrics/sellers/{seller}", "parties", (404, 404, 200, 404, 200, 200, 401)),
    Route("GET", "/metrics/buyers/{buyer}", "parties", (200, 404, 404, 404, 200, 200, 401)),
    Route("GET", "/metrics/sellers", "none", PLATFORM_ONLY),
    Route("GET", "/events", "none", PLATFORM_ONLY),
    Route(
        "POST",
        "/webhook-endpoints",
        "none",
        PLATFORM_CREATES,
        _json({"url": "https://hooks.example.test/fd", "events": ["dispute.opened"]}),
    ),
    Route("GET", "/webhook-endpoints/{webhook}/deliveries", "webhook", PLATFORM_ONLY),
    Route("GET", "/webhook-endpoints", "none", PLATFORM_ONLY),
    Route("GET", "/webhook-endpoints/{webhook}", "webhook", PLATFORM_ONLY),
    Route(
        "PATCH", "/webhook-endpoints/{webhook}", "webhook", PLATFORM_ONLY, _json({"enabled": False})
    ),
    Route("POST", "/webhook-endpoints/{webhook}/rotate-secret", "webhook", PLATFORM_ONLY),
    Route("DELETE", "/webhook-endpoints/{webhook}", "webhook", (403, 403, 403, 403, 403, 204, 401)),
    Route(
        "POST",
        "/webhook-endpoints/{webhook}/deliveries/{delivery}/retry",
        "webhook",
        (403, 403, 403, 403, 403, 404, 401),
    ),
    # beyond API.md: each caller's own in-app notifications
    Route("GET", "/notifications", "none", EVERY_USER),
    Route("POST", "/notifications/read", "none", EVERY_USER, _json({})),
    Route("GET", "/sandbox/clock", "none", EVERYONE),
    Route("POST", "/sandbox/clock/advance", "none", PLATFORM_ONLY, _json({})),
    # money movements: the order's parties and the platform read an order's; the platform
    # reports the provider's answers; the platform (and admins) retry a failed one
    Route("GET", "/orders/{order}/payments", "refunded", (200, 404, 200, 404, 404, 200, 401)),
    Route("GET", "/payments", "none", PLATFORM_ONLY),
    Route(
        "POST",
        "/payments/{payment}/succeeded",
        "refunded",
        PLATFORM_ONLY,
        _json({"provider_reference": "re_matrix"}),
    ),
    Route("POST", "/payments/{payment}/failed", "refunded", PLATFORM_ONLY, _json({"reason": "no"})),
    Route("POST", "/payments/{payment}/retry", "refund_failed", PLATFORM_ONLY),
    # Stripe's events: no bearer token, the Stripe-Signature is the authentication; without
    # FAIRDEAL_STRIPE_WEBHOOK_SECRET (as here) the route is not there (tests/payments).
    Route("POST", "/providers/stripe/webhook", "none", (404,) * 7, _json({})),
    Route("GET", "/healthz", "none", EVERYONE),
    Route("GET", "/readyz", "none", EVERYONE),
    Route("GET", "/metrics", "none", EVERYONE),
]

CASES = [
    pytest.param(route, actor, id=f"{route.method} {route.path} as {actor}")
    for route in ROUTES
    for actor in ACTORS
]


@pytest.mark.parametrize(("route", "actor"), CASES)
def test_access(matrix: Matrix, route: Route, actor: str) -> None:
    expected = route.expected[ACTORS.index(actor)]
    caller = matrix.caller(actor)
    scene = matrix.scene(route.scene, fresh=200 <= expected < 300)
    path = route.path.format(**scene)
    kwargs = route.body(matrix, caller, scene) if route.body else {}
    response = caller.request(route.method, path, **kwargs)
    assert response.status_code == expected, (
        f"{route.method} {path} as {actor}: expected {expected}, got {response.status_code}: "
        f"{response.text[:300]}"
    )
    if expected == 401:
        assert response.json()["code"] == "unauthenticated"
    elif expected == 403:
        assert response.json()["code"] == "forbidden"
    elif expected == 404:
        assert response.json()["code"] == "not_found"


def test_the_table_covers_every_route_the_server_has(matrix: Matrix) -> None:
    """A route added to the server without a row here would escape the matrix."""
    served = {
        (method, path)
        for path, operations in ok(matrix.world.anonymous.get("/openapi.json"))["paths"].items()
        for method in operations
    }
    normalized = {(m.upper(), _template(p)) for m, p in served}
    in_table = {(r.method, _template(_full(r.path))) for r in ROUTES}
    assert normalized == in_table


def _full(path: str) -> str:
    return path if path in ("/healthz", "/readyz", "/metrics") else "/api/v1" + path


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)
