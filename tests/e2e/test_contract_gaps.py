"""Where the server and API.md disagreed (issue 15, "Contract gaps"), each on SQLite and
PostgreSQL: timestamps with `Z` in event data and in refusals, a hidden reason refused as
`reason_not_allowed`, the event feed's `has_more`, duplicate JSON member names refused,
bounded refusals of large bodies, and the clock's advance listing every deadline that fell
due in it while a worker fires deadlines beside it."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from e2e.support import World, assert_problem, ok
from fairdeal.services.deadlines import fire_due

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _times(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if LOOKS_LIKE_TIME.match(value) else []
    if isinstance(value, dict):
        return [t for item in value.values() for t in _times(item)]
    if isinstance(value, list):
        return [t for item in value for t in _times(item)]
    return []


def test_event_data_writes_timestamps_with_z(world: World) -> None:
    dispute = world.open_dispute()
    offered = world.act(
        world.seller, dispute, "solutions", {"kind": "refund_only", "amount": "5.00"}, 201
    )
    world.act(world.buyer, dispute, f"solutions/{offered['solutions'][-1]['id']}/reject")
    world.advance(days=8)  # escalated: the event carries the review deadline
    events = world.events()
    moments = [t for event in events for t in _times(event["data"])]
    assert moments, events  # the escalation names its review deadline
    assert all(RFC3339_Z.match(t) for t in moments), [t for t in moments if "+" in t]
    assert "+00:00" not in json.dumps(events)


def test_a_refusal_names_its_moment_with_z(world: World) -> None:
    order = world.shipped_order()
    refused = assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, reason="not_received")),
        422,
        "not_eligible",
    )
    assert "+00:00" not in refused["detail"]
    assert re.search(r"\d{2}:\d{2}:\d{2}(\.\d+)?Z", refused["detail"]), refused["detail"]


def test_a_reason_hidden_for_the_category_is_not_allowed(world: World) -> None:
    body = world.order_body()
    body["items"][0]["category"] = "digital"  # digital goods hide the shipping reasons
    order = ok(world.platform.post("/orders", body), 201)
    world.ship(order)
    refused = assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, reason="damaged")),
        422,
        "reason_not_allowed",
    )
    assert refused["field"] == "reason" and "digital" in refused["detail"]
    # A reason no catalogue knows stays a validation error.
    assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, reason="bored_of_it")),
        422,
        "validation_error",
    )


def test_the_event_feed_says_when_a_reader_has_caught_up(world: World) -> None:
    world.open_dispute()
    world.open_dispute()
    everything = world.events()
    assert len(everything) >= 4
    seen: list[str] = []
    cursor = "0"
    while True:
        page = ok(world.platform.get("/events", params={"after": cursor, "limit": 2}))
        assert page["next_cursor"] is not None  # where to poll next, always
        seen.extend(e["id"] for e in page["data"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
        assert len(page["data"]) == 2
    assert seen == [e["id"] for e in everything]
    # Caught up: an empty page, still with its cursor, and nothing more.
    tail = ok(world.platform.get("/events", params={"after": cursor, "limit": 2}))
    assert tail == {"data": [], "next_cursor": cursor, "has_more": False}
    # A page that ends exactly at the feed's end says so too.
    exact = ok(world.platform.get("/events", params={"after": "0", "limit": len(everything)}))
    assert exact["has_more"] is False and len(exact["data"]) == len(everything)
    short = ok(world.platform.get("/events", params={"after": "0", "limit": len(everything) - 1}))
    assert short["has_more"] is True


def test_duplicate_member_names_are_refused(world: World) -> None:
    dispute = world.open_dispute()
    refused = assert_problem(
        world.buyer.post_raw(
            f"/disputes/{dispute['id']}/messages", b'{"body": "first", "body": "second"}'
        ),
        422,
        "validation_error",
    )
    assert "twice" in refused["detail"] and refused["field"] == "body"
    # Nested, in an amount object of a solution.
    nested = (
        b'{"kind": "refund_only", "amount": {"currency": "EUR", "value": "1.00", "value": "40.00"}}'
    )
    assert_problem(
        world.seller.post_raw(f"/disputes/{dispute['id']}/solutions", nested),
        422,
        "validation_error",
    )
    assert world.dispute(dispute["id"])["messages"] == []
    assert len(world.dispute(dispute["id"])["solutions"]) == 1  # the buyer's own only


def test_large_and_wide_bodies_are_refused_with_a_small_answer(world: World) -> None:
    dispute = world.open_dispute()
    path = f"/disputes/{dispute['id']}/messages"
    # Over the size bound: refused from its Content-Length, unread.
    huge = b'{"body": "x", ' + b", ".join(b'"k%d": 1' % i for i in range(200_000)) + b"}"
    assert len(huge) > 1024 * 1024
    refused = world.buyer.post_raw(path, huge)
    assert_problem(refused, 413, "file_too_large")
    assert len(refused.content) < 1000
    # Under it, but an object wider than any request of the API: refused while parsing.
    wide = b'{"body": "x", ' + b", ".join(b'"k%d": 1' % i for i in range(20_000)) + b"}"
    assert len(wide) < 1024 * 1024
    refused = world.buyer.post_raw(path, wide)
    assert_problem(refused, 422, "validation_error")
    assert len(refused.content) < 1000
    # A few unknown fields: each is named, at most 10 of them, and the rest counted.
    some = {"body": "x", **{f"extra{i}": 1 for i in range(50)}}
    refused = world.buyer.post_raw(path, json.dumps(some).encode())
    body = assert_problem(refused, 422, "validation_error")
    assert len(body["errors"]) == 10 and "40 more" in body["detail"]
    # Nesting deeper than any request: refused, not a recursion error.
    deep = b'{"body": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_problem(world.buyer.post_raw(path, deep), 422, "validation_error")
    assert world.dispute(dispute["id"])["messages"] == []


def test_the_advance_lists_deadlines_a_worker_fires_beside_it(world: World) -> None:
    """A worker loop fires due deadlines as fast as it can while the platform advances the
    clock: the answer still lists each deadline that fell due in the advance."""
    opened = [world.open_dispute() for _ in range(3)]
    stop = threading.Event()
    worker_fired: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while not stop.is_set():
                worker_fired.extend(f.id for f in fire_due(world.app.ctx))
        except BaseException as error:  # reported below; a dead worker proves nothing
            errors.append(error)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        answers = [world.advance(days=8) for _ in range(2)]
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    listed = {f["dispute_id"] for f in answers[0]["fired"] if f["kind"] == "seller_response"}
    assert listed == {d["id"] for d in opened}, (answers, worker_fired)
    assert not set(worker_fired) & listed
    for dispute in opened:
        assert world.dispute(dispute["id"])["status"] == "closed"
