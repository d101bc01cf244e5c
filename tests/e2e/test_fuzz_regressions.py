"""What the fuzzers found, pinned down: each test is a request a fuzzer sent that the server
answered wrongly, with the answer it must give. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from e2e.support import World, assert_problem, ok


@pytest.mark.parametrize(
    "path",
    ["/disputes/{dispute}/messages", "/disputes/{dispute}/notes", "/disputes/{dispute}/solutions"],
)
def test_a_nul_character_in_a_body_is_refused_not_a_server_error(world: World, path: str) -> None:
    """Schemathesis (stateful, on PostgreSQL) posted a message whose body held U+0000: the
    JSONB column refused it and the API answered 500. Now 422 on both databases, nothing kept."""
    dispute = world.open_dispute()
    caller = world.mediator if path.endswith("notes") else world.buyer
    body = {"body": "Look\x00here"}
    if path.endswith("solutions"):
        body = {"kind": "refund_only", "amount": "1.00", "comment": "a\x00b"}
    problem = assert_problem(
        caller.post(path.format(dispute=dispute["id"]), body), 422, "validation_error"
    )
    assert "U+0000" in problem["detail"]
    after = world.dispute(dispute["id"], as_=world.mediator)
    assert after["version"] == dispute["version"]
    assert after["messages"] == dispute["messages"]


def test_nul_characters_anywhere_in_a_body_are_refused(world: World) -> None:
    """Nested strings and keys too: an order's item title, a user's name."""
    body = world.order_body()
    body["items"][0]["title"] = "Mug\x00"
    problem = assert_problem(world.platform.post("/orders", body), 422, "validation_error")
    assert "items.0.title" in problem["detail"]
    user = {"role": "buyer", "name": "Eve\x00", "email": "eve@e2e.test"}
    assert_problem(world.platform.post("/users", user), 422, "validation_error")
    raw = json.dumps({"role": "buyer", "name": "Eve", "email": "e@e2e.test", "x\u0000": 1})
    assert_problem(world.platform.post_raw("/users", raw.encode()), 422, "validation_error")
    assert ok(world.platform.get("/orders"))["data"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/disputes/dsp%00x",
        "/orders/ord%00x",
        "/disputes?cursor=a%00b",
        "/orders?cursor=a%00b",
        "/events?after=1%00",
        "/files/f%00",
    ],
)
def test_a_nul_character_in_a_path_or_query_parameter_is_refused(world: World, path: str) -> None:
    """On PostgreSQL a lookup by an id with U+0000 raised in the driver (500)."""
    problem = assert_problem(world.platform.get(path), 422, "validation_error")
    assert "U+0000" in problem["detail"]


def test_a_nul_character_in_a_write_path_is_refused_before_anything_runs(world: World) -> None:
    order = world.order()
    ship = {"carrier": "DHL", "tracking_number": "JD1", "protection_days": 30}
    assert_problem(
        world.seller.post(f"/orders/{order['id']}%00/ship", ship), 422, "validation_error"
    )
    assert world.get_order(order["id"])["status"] == "awaiting_shipment"
