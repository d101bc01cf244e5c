"""Seller and buyer metrics over HTTP on a seeded scene, on SQLite and PostgreSQL: every field,
who may read what, the CSV export, and the policy's flags."""

from __future__ import annotations

import csv
import dataclasses
import io
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from e2e.support import Caller, World, assert_problem, ok, running_world
from fairdeal.services.users import create_user

SCAM = "Please close the dispute first and I promise to refund you later."


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Scene:
    seller: Caller
    buyer: Caller
    buyer2: Caller
    quiet_buyer: Caller
    disputes: list[dict[str, Any]]


def seed(world: World) -> Scene:
    """The seller S: five orders (three with buyer B, two with buyer B2) and four disputes:
    D1 (B, damaged) the seller stays silent -> buyer_favour; D2 (B, not_as_described) a scam
    message, escalated, mediator refunds 30.00 -> buyer_favour; D3 (B2, damaged) the buyer
    accepts the seller's 10.00 -> settled; D4 (B2, damaged) cancelled by the buyer. The other
    seller: two orders with a quiet buyer, no dispute."""
    s, b = world.seller, world.buyer
    b2, quiet = world.user("buyer"), world.other_buyer
    orders_b = [world.shipped_order(buyer=b, seller=s) for _ in range(3)]
    orders_b2 = [world.shipped_order(buyer=b2, seller=s) for _ in range(2)]
    for _ in range(2):
        world.shipped_order(buyer=quiet, seller=world.other_seller)

    d1 = world.open_dispute(orders_b[0], buyer=b)
    world.advance(days=7)  # the seller stays silent

    d2 = world.open_dispute(orders_b[1], buyer=b, reason="not_as_described")
    world.act(s, d2, "messages", {"body": SCAM}, 201)
    escalated = world.escalate_by_timeout(d2)
    world.act(world.mediator, escalated, "assign")
    decided = world.act(
        world.mediator,
        d2,
        "decisions",
        {"solutions": [{"kind": "refund_only", "amount": "30.00"}], "rationale": "Not as shown."},
        201,
    )
    world.act(
        world.mediator, d2, f"decisions/{decided['mediation']['decision']['id']}/finalize", {}
    )
    world.advance(hours=5)

    d3 = world.open_dispute(orders_b2[0], buyer=b2)
    offered = world.act(s, d3, "solutions", {"kind": "refund_only", "amount": "10.00"}, 201)
    world.act(b2, d3, f"solutions/{offered['solutions'][-1]['id']}/accept")
    world.advance(hours=30)

    d4 = world.open_dispute(orders_b2[1], buyer=b2)
    world.advance(hours=2)
    world.act(b2, d4, "cancel")

    ended = [world.dispute(d["id"]) for d in (d1, d2, d3, d4)]
    assert [(d["status"], d["outcome"]["result"]) for d in ended] == [
        ("closed", "buyer_favour"),
        ("closed", "buyer_favour"),
        ("closed", "settled"),
        ("cancelled", "cancelled"),
    ]
    return Scene(s, b, b2, quiet, ended)


def hours(d: dict[str, Any]) -> float:
    return (at(d["closed_at"]) - at(d["created_at"])).total_seconds() / 3600


def test_every_field_of_the_seller_and_buyer_metrics(world: World) -> None:
    scene = seed(world)
    d1, d2, d3, d4 = scene.disputes
    warned = sum(
        len(m["warnings"])
        for m in world.dispute(d2["id"], as_=scene.buyer)["messages"]
        if m["author_role"] == "seller"
    )
    assert warned >= 1, "the seller's message was not flagged by the detector"

    seller = ok(world.platform.get(f"/api/v1/metrics/sellers/{scene.seller.user_id}"))
    assert seller == {
        "user_id": scene.seller.user_id,
        "orders": 5,
        "disputes": 4,
        "dispute_rate": "0.8000",
        "escalated": 1,
        "escalation_rate": "0.2500",
        "ruled_against": 2,
        "refund_share": "0.7500",
        "median_resolution_hours": round(statistics.median(map(hours, scene.disputes)), 1),
        "warnings_received": warned,
        "by_reason": {
            "damaged": {"disputes": 3, "ruled_against": 1},
            "not_as_described": {"disputes": 1, "ruled_against": 1},
        },
        "flagged": False,
    }
    buyer = ok(world.mediator.get(f"/api/v1/metrics/buyers/{scene.buyer.user_id}"))
    assert buyer == {
        "user_id": scene.buyer.user_id,
        "orders": 3,
        "disputes": 2,
        "dispute_rate": "0.6667",
        "escalated": 1,
        "escalation_rate": "0.5000",
        "ruled_against": 0,
        "refund_share": "1.0000",
        "median_resolution_hours": round(statistics.median([hours(d1), hours(d2)]), 1),
        "warnings_received": 0,
        "by_reason": {
            "damaged": {"disputes": 1, "ruled_against": 0},
            "not_as_described": {"disputes": 1, "ruled_against": 0},
        },
        "flagged": False,
    }
    buyer2 = ok(scene.buyer2.get(f"/api/v1/metrics/buyers/{scene.buyer2.user_id}"))
    assert (buyer2["orders"], buyer2["disputes"], buyer2["refund_share"]) == (2, 2, "0.5000")
    assert buyer2["median_resolution_hours"] == round(statistics.median([hours(d3), hours(d4)]), 1)
    quiet = ok(scene.quiet_buyer.get(f"/api/v1/metrics/buyers/{scene.quiet_buyer.user_id}"))
    assert quiet["orders"] == 2 and quiet["disputes"] == 0
    assert quiet["median_resolution_hours"] is None
    assert quiet["dispute_rate"] == quiet["escalation_rate"] == quiet["refund_share"] == "0.0000"
    assert quiet["by_reason"] == {}
    # Own numbers: the seller sees the same as the platform.
    assert ok(scene.seller.get(f"/api/v1/metrics/sellers/{scene.seller.user_id}")) == seller

    # The CSV: one row a seller, the same fields.
    response = world.platform.get("/api/v1/metrics/sellers", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = {row["user_id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {scene.seller.user_id, world.other_seller.user_id}
    row = rows[scene.seller.user_id]
    assert list(row) == list(seller)
    assert (row["orders"], row["dispute_rate"], row["flagged"]) == ("5", "0.8000", "false")
    assert rows[world.other_seller.user_id]["median_resolution_hours"] == ""
    listed = ok(world.platform.get("/api/v1/metrics/sellers"))
    assert seller in listed["data"]


def test_who_may_read_which_metrics(world: World) -> None:
    s, b = world.seller, world.buyer
    world.open_dispute(world.shipped_order())
    admin = create_user(
        world.app.ctx, role="admin", name="Admin", email="admin@e2e.test", allowed_roles={"admin"}
    )
    admin_caller = Caller(world.http, admin.api_token, admin.user.id, "admin")
    for caller in (world.platform, world.mediator, admin_caller):
        assert ok(caller.get(f"/api/v1/metrics/sellers/{s.user_id}"))["disputes"] == 1
        assert ok(caller.get(f"/api/v1/metrics/buyers/{b.user_id}"))["disputes"] == 1
    assert ok(s.get(f"/api/v1/metrics/sellers/{s.user_id}"))["orders"] == 1
    assert ok(b.get(f"/api/v1/metrics/buyers/{b.user_id}"))["orders"] == 1
    # Someone else's numbers, or one's own under the other side: 404, as for a dispute.
    assert_problem(world.other_seller.get(f"/api/v1/metrics/sellers/{s.user_id}"), 404, "not_found")
    assert_problem(b.get(f"/api/v1/metrics/sellers/{s.user_id}"), 404, "not_found")
    assert_problem(s.get(f"/api/v1/metrics/buyers/{b.user_id}"), 404, "not_found")
    assert_problem(world.other_buyer.get(f"/api/v1/metrics/buyers/{b.user_id}"), 404, "not_found")
    assert_problem(s.get(f"/api/v1/metrics/buyers/{s.user_id}"), 404, "not_found")
    # Not a seller, or no such user.
    assert_problem(world.platform.get(f"/api/v1/metrics/sellers/{b.user_id}"), 404, "not_found")
    assert_problem(world.platform.get("/api/v1/metrics/buyers/usr_nobody"), 404, "not_found")
    # Every seller's numbers: the platform and admins only.
    for caller in (s, b, world.mediator):
        assert_problem(caller.get("/api/v1/metrics/sellers?format=csv"), 403, "forbidden")
    assert admin_caller.get("/api/v1/metrics/sellers?format=csv").status_code == 200
    assert_problem(
        world.platform.get("/api/v1/metrics/sellers?format=xml"), 422, "validation_error"
    )
    assert_problem(
        world.anonymous.get(f"/api/v1/metrics/sellers/{s.user_id}"), 401, "unauthenticated"
    )


@pytest.fixture
def strict_world(db_url: str, tmp_path: Path) -> Any:
    """The world under a policy whose [metrics] thresholds the scene reaches."""
    text = (
        resources.files("fairdeal.policies").joinpath("standard.toml").read_text(encoding="utf-8")
    )
    head, rest = text.split("[metrics]", 1)
    rest = rest.split("\n\n", 1)[1]
    strict = (
        head
        + "[metrics]\nserial_disputer_disputes = 3\nserial_disputer_window_days = 90\n"
        + 'serial_disputer_rate = "0.60"\nmin_orders = 2\nseller_rate_multiple = "1.5"\n'
        + 'seller_rate_floor = "0.05"\n\n'
        + rest
    )
    path = tmp_path / "strict.toml"
    path.write_text(strict, encoding="utf-8")
    with running_world(db_url, tmp_path / "files", policy=str(path)) as created:
        yield created


def test_the_policy_flags_serial_disputers_and_sellers_far_above_the_norm(
    strict_world: World,
) -> None:
    world = strict_world
    scene = seed(world)
    platform = world.platform

    def flagged(side: str, caller: Caller) -> bool:
        return bool(ok(platform.get(f"/api/v1/metrics/{side}/{caller.user_id}"))["flagged"])

    # Seller rates 0.80 and 0.00: the median 0.40, times 1.5 is 0.60; 0.80 is above it.
    assert flagged("sellers", scene.seller)
    assert not flagged("sellers", world.other_seller)
    # B: 2 disputes in 3 orders (0.67 >= 0.60); B2: 2 in 2; the quiet buyer none.
    assert flagged("buyers", scene.buyer) and flagged("buyers", scene.buyer2)
    assert not flagged("buyers", scene.quiet_buyer)
    # Mediators see it in the queue and on the dispute page.
    order = world.shipped_order(buyer=scene.buyer, seller=scene.seller)
    opened = world.open_dispute(order, buyer=scene.buyer)
    world.escalate_by_timeout(opened)
    queue = ok(world.mediator.get("/mediation/queue"))["data"]
    row = next(r for r in queue if r["id"] == opened["id"])
    assert set(row["flags"]) == {"serial_disputer", "seller_above_norm"}


def test_counts_without_the_breakdown_are_the_same_counts(world: World) -> None:
    """The flags (the mediator queue, on every view) ask for counts without the per-reason
    numbers and the resolution times: the counts themselves do not change."""
    seed(world)
    store = world.app.ctx.metrics
    assert store is not None
    since = datetime(2000, 1, 1, tzinfo=UTC)
    for side in ("seller", "buyer"):
        full = store.counts(side, None, since)
        slim = store.counts(side, None, since, breakdown=False)
        assert set(slim) == set(full) and full
        for user_id, counts in full.items():
            assert dataclasses.replace(counts, by_reason={}, resolution_hours=[]) == slim[user_id]
        assert any(c.by_reason for c in full.values())
        assert any(c.resolution_hours for c in full.values())


def test_the_flags_counts_are_the_counts_they_need(world: World) -> None:
    """The queue's flags read both sides in one statement: the same orders, disputes and
    recent disputes as ``counts``, for just the users asked about."""
    seed(world)
    store = world.app.ctx.metrics
    assert store is not None
    since = datetime.now(UTC).replace(year=datetime.now(UTC).year - 1)
    full = {side: store.counts(side, None, since, breakdown=False) for side in ("buyer", "seller")}
    buyer_ids, seller_ids = sorted(full["buyer"])[:-1], sorted(full["seller"])
    both = store.flag_counts(buyer_ids, seller_ids, since)
    for side, asked, found in (("buyer", buyer_ids, both[0]), ("seller", seller_ids, both[1])):
        assert set(found) == set(asked)
        for user_id, c in found.items():
            want = full[side][user_id]
            assert (c.orders, c.disputes, c.recent_disputes) == (
                want.orders,
                want.disputes,
                want.recent_disputes,
            )
