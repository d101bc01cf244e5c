"""Abuse limits per user and per client IP on opening disputes, messages and uploads, in the
API and in the web pages: 429 rate_limited with Retry-After, nothing done; configurable
through Settings (FAIRDEAL_RATE_LIMIT_*). Login's limits and lockout: test_sessions.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.support import Caller, World, assert_problem, ok, png_bytes, running_app
from fairdeal.config import Settings
from security.support import Site
from webpages import csrf_token, submit_login


@pytest.fixture
def limited(world: World, db_url: str, tmp_path: Path) -> Iterator[Any]:
    """Another API process on the same database with small allowances: 2 a minute per user
    and 3 per address for each action (the writes limit off, so that only these count)."""
    limits = {
        f"rate_limit_{action}_per{scope}_minute": n
        for action in ("disputes", "messages", "uploads")
        for scope, n in (("", 2), ("_ip_per", 3))
    }
    with running_app(db_url, tmp_path / "limited-files", **limits) as (_, http):
        yield http


def upload(caller: Caller) -> Any:
    return caller.post("/files", files={"file": ("p.png", png_bytes(), "image/png")})


def refused(response: Any) -> int:
    body = assert_problem(response, 429, "rate_limited")
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 60, wait
    return wait if body else 0


def test_uploads_are_limited_per_user_and_per_address(world: World, limited: Any) -> None:
    buyer, seller = Caller(limited, world.buyer.token), Caller(limited, world.seller.token)
    files_before = len(list(world.storage_dir.parent.rglob("limited-files/*/*")))
    ok(upload(buyer), 201)
    ok(upload(buyer), 201)
    refused(upload(buyer))  # the buyer's own allowance (2) is spent
    ok(upload(seller), 201)  # the seller has theirs, but the address (3) is now spent:
    response = upload(seller)
    refused(response)
    assert "network address" in response.json()["detail"]
    stored = len(list(world.storage_dir.parent.rglob("limited-files/*/*")))
    assert stored - files_before == 3


def test_opening_disputes_is_limited_per_user(world: World, limited: Any) -> None:
    buyer = Caller(limited, world.buyer.token)
    orders = [world.shipped_order() for _ in range(3)]
    bodies = [world.dispute_body(order) for order in orders]  # photos uploaded by the world
    ok(buyer.post("/disputes", bodies[0]), 201)
    ok(buyer.post("/disputes", bodies[1]), 201)
    refused(buyer.post("/disputes", bodies[2]))
    assert world.get_order(orders[2]["id"])["dispute_ids"] == []
    other = Caller(limited, world.other_buyer.token)
    mine = world.shipped_order(buyer=world.other_buyer)
    ok(other.post("/disputes", world.dispute_body(mine, buyer=world.other_buyer)), 201)


def test_messages_are_limited_per_user(world: World, limited: Any) -> None:
    dispute = world.open_dispute()
    path = f"/disputes/{dispute['id']}/messages"
    seller = Caller(limited, world.seller.token)
    ok(seller.post(path, {"body": "one"}), 201)
    ok(seller.post(path, {"body": "two"}), 201)
    refused(seller.post(path, {"body": "three"}))
    assert [m["body"] for m in world.dispute(dispute["id"])["messages"]] == ["one", "two"]
    ok(Caller(limited, world.buyer.token).post(path, {"body": "the buyer's own"}), 201)


def test_the_defaults_follow_the_writes_limit_and_can_be_set_one_by_one() -> None:
    defaults = Settings().action_limits()
    assert defaults == {
        "login": (10, 60),
        "disputes": (30, 300),
        "messages": (120, 1200),
        "uploads": (120, 1200),
    }
    assert set(Settings(rate_limit_writes_per_minute=0).action_limits().values()) == {(0, 0)}
    chosen = Settings(rate_limit_messages_per_minute=5, rate_limit_uploads_per_ip_per_minute=0)
    assert chosen.action_limits()["messages"] == (5, 1200)
    assert chosen.action_limits()["uploads"] == (120, 0)


# --- the web pages ---------------------------------------------------------------------------


def test_web_messages_are_limited_per_user(site: Site) -> None:
    dispute = site.dispute("negotiating")
    with site.client(rate_limit_messages_per_minute=1) as http:
        submit_login(http, "alice")
        page = http.get(f"/disputes/{dispute}")
        token = csrf_token(page.text)
        sent = http.post(f"/disputes/{dispute}/messages", data={"csrf_token": token, "body": "a"})
        assert sent.status_code == 303
        again = http.post(f"/disputes/{dispute}/messages", data={"csrf_token": token, "body": "b"})
        assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1
        assert "Too many attempts" in again.text
    bodies = [m.body for m in _messages(site, dispute)]
    assert bodies.count("a") == 1 and "b" not in bodies


def _messages(site: Site, dispute_id: str) -> list[Any]:
    from fairdeal.services import disputes

    return disputes.get_dispute(site.app.ctx, site.actor("alice"), dispute_id).dispute.messages


def test_web_uploads_are_limited_per_address(site: Site) -> None:
    dispute = site.dispute("negotiating")
    with site.client(rate_limit_uploads_per_ip_per_minute=1) as http:
        submit_login(http, "alice")
        token = csrf_token(http.get(f"/disputes/{dispute}").text)
        photo = {"file": ("p.png", png_bytes(), "image/png")}
        first = http.post(f"/disputes/{dispute}/evidence", data={"csrf_token": token}, files=photo)
        assert first.status_code in (200, 303), first.text[:300]
        second = http.post(f"/disputes/{dispute}/evidence", data={"csrf_token": token}, files=photo)
        assert second.status_code == 429
