"""The access matrix beyond tests/e2e/test_access_matrix.py: evidence files for their owner,
the parties of the disputes they are attached to and nobody else (API and web), the event feed
and webhook deliveries for the platform only, and every web page by role -- another buyer's
dispute, seller pages as a buyer, mediator and admin pages as a party, anonymous visitors sent
to the login page. Every cell is exact: 100% denial where it must deny."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from e2e.support import World, ok
from fairdeal.services import orders
from security.support import HANDLES, Site
from webpages import csrf_token, submit_login

# --- API: files ---------------------------------------------------------------------------


def test_an_unattached_file_is_its_owners_alone(world: World) -> None:
    world.open_dispute()  # buyer and seller are parties of a dispute with each other
    photo = world.upload(world.buyer)["id"]  # ... but this photo is attached to nothing
    expected = {
        "buyer": 200,
        "seller": 404,
        "other_buyer": 404,
        "other_seller": 404,
        "platform": 404,
        "mediator": 200,  # staff read every file (docs/security.md)
        "anonymous": 401,
    }
    got = {who: getattr(world, who).get(f"/files/{photo}").status_code for who in expected}
    assert got == expected


def test_a_file_is_visible_to_the_parties_of_its_own_dispute_only(world: World) -> None:
    dispute = world.open_dispute()
    photo = dispute["evidence"][0]["file_id"]
    # The same buyer has a dispute with another seller: that seller does not see this photo.
    world.open_dispute(world.shipped_order(seller=world.other_seller))
    expected = {
        "buyer": 200,
        "seller": 200,
        "other_seller": 404,
        "other_buyer": 404,
        "platform": 404,
        "mediator": 200,
        "anonymous": 401,
    }
    got = {who: getattr(world, who).get(f"/files/{photo}").status_code for who in expected}
    assert got == expected


def test_removed_evidence_is_no_longer_the_other_partys_to_see(world: World) -> None:
    dispute = world.open_dispute()
    extra = world.upload(world.buyer)["id"]
    added = world.act(world.buyer, dispute, "evidence", {"file_id": extra}, 201)
    evidence = next(e for e in added["evidence"] if e["file_id"] == extra)
    assert world.seller.get(f"/files/{extra}").status_code == 200
    ok(world.buyer.delete(f"/disputes/{dispute['id']}/evidence/{evidence['id']}"))
    assert world.seller.get(f"/files/{extra}").status_code == 404
    assert world.buyer.get(f"/files/{extra}").status_code == 200


def test_guessed_file_ids_are_not_found(world: World) -> None:
    real = world.upload(world.buyer)["id"]
    for guess in (real[:-1] + ("0" if real[-1] != "0" else "1"), "file_%2e%2e%2fx", "%2e%2e", "*"):
        assert world.seller.get(f"/files/{guess}").status_code in (404, 422)


# --- API: events and webhook deliveries --------------------------------------------------


@pytest.mark.parametrize("query", ["", "?after=0", "?after=0&limit=100", "?cursor=0"])
def test_the_event_feed_is_the_platforms_only(world: World, query: str) -> None:
    world.open_dispute()
    assert world.platform.get(f"/events{query}").status_code == 200
    for who in ("buyer", "seller", "mediator"):
        response = getattr(world, who).get(f"/events{query}")
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert world.anonymous.get(f"/events{query}").status_code == 401


def test_webhook_deliveries_are_the_platforms_only(world: World) -> None:
    endpoint = ok(
        world.platform.post(
            "/webhook-endpoints", {"url": "https://hooks.example.test/fd", "events": ["*"]}
        ),
        201,
    )
    path = f"/webhook-endpoints/{endpoint['id']}/deliveries"
    assert world.platform.get(path).status_code == 200
    for who in ("buyer", "seller", "other_buyer", "mediator"):
        assert getattr(world, who).get(path).status_code == 403
    assert world.anonymous.get(path).status_code == 401
    assert world.platform.get("/webhook-endpoints/whe_nope/deliveries").status_code == 404


# --- web pages ------------------------------------------------------------------------------

LOGIN = "login"  # a 303 to /login?next=...


def _web_cases(site: Site) -> list[tuple[str, dict[str, Any]]]:
    """(path, {handle or "anonymous": status}) for every page, on the demo's world: alice and
    sam negotiate; bob and sam are under review; bob and sue closed; alice's headphones order
    has no dispute yet."""
    a = site.accounts
    negotiating, review, closed = (
        a.dispute_ids[k] for k in ("negotiating", "under_review", "closed")
    )
    view = site.app.ctx
    from fairdeal.services import disputes as ds

    alices_photo = (
        ds.get_dispute(view, site.actor("alice"), negotiating).dispute.evidence[0].file_id
    )
    bobs_photo = ds.get_dispute(view, site.actor("bob"), review).dispute.evidence[0].file_id
    headphones = next(
        o.id
        for o in orders.list_orders(view, site.actor("alice"), after=None, limit=100)
        if o.items[0].title == "Headphones"
    )
    both = {"maya": 200, "ada": 200}
    return [
        ("/orders", {"alice": 200, "bob": 200, "sam": 200, "sue": 200, "maya": 403, "ada": 403}),
        # staff have the queue instead of an inbox: sent on to it
        ("/disputes", {**dict.fromkeys(HANDLES, 200), "maya": 303, "ada": 303}),
        (f"/disputes/{negotiating}", {"alice": 200, "sam": 200, "bob": 404, "sue": 404, **both}),
        (f"/disputes/{review}", {"bob": 200, "sam": 200, "alice": 404, "sue": 404, **both}),
        (f"/disputes/{closed}", {"bob": 200, "sue": 200, "alice": 404, "sam": 404, **both}),
        (
            f"/orders/{headphones}/dispute",
            {"alice": 200, "bob": 404, "sam": 403, "sue": 403, "maya": 403, "ada": 403},
        ),
        (
            f"/orders/{headphones}/dispute/reason?reason=damaged",
            {"alice": 200, "bob": 404, "sam": 403, "sue": 403, "maya": 403, "ada": 403},
        ),
        ("/mediator", {"alice": 403, "bob": 403, "sam": 403, "sue": 403, **both}),
        ("/admin", {"alice": 403, "bob": 403, "sam": 403, "sue": 403, "maya": 403, "ada": 200}),
        (f"/files/{alices_photo}", {"alice": 200, "sam": 200, "bob": 404, "sue": 404, **both}),
        (f"/files/{bobs_photo}", {"bob": 200, "sam": 200, "alice": 404, "sue": 404, **both}),
    ]


def test_every_page_answers_each_role_exactly(site: Site) -> None:
    cases = _web_cases(site)
    wrong = []
    with site.client() as anonymous:
        for path, _expected in cases:
            response = anonymous.get(path)
            if response.status_code != 303 or not response.headers["location"].startswith(
                "/login?next="
            ):
                wrong.append(("anonymous", path, response.status_code))
    for handle in HANDLES:
        with site.client() as http:
            assert submit_login(http, handle).status_code == 303
            for path, expected in cases:
                status = http.get(path).status_code
                if status != expected[handle]:
                    wrong.append((handle, path, f"{status}, expected {expected[handle]}"))
    assert wrong == [], wrong


@pytest.mark.parametrize(
    ("handle", "path", "data", "status"),
    [
        ("alice", "/disputes/{review}/messages", {"body": "hi"}, 404),  # bob's dispute
        ("sue", "/disputes/{negotiating}/messages", {"body": "hi"}, 404),  # another seller
        ("alice", "/orders/{headphones}/extend", {"days": "5"}, 403),  # a seller's form
        ("alice", "/disputes/{negotiating}/notes", {"body": "mine"}, 403),  # staff only
        ("sam", "/disputes/{review}/assign", {}, 403),
        ("bob", "/disputes/{review}/decision", {"rationale": "me", "kind_0": "refund_only"}, 403),
        ("alice", "/admin/clock", {"days": "30"}, 403),
        ("maya", "/admin/clock", {"days": "30"}, 403),
    ],
)
def test_forms_of_other_roles_and_other_peoples_disputes_are_refused(
    site: Site, handle: str, path: str, data: dict[str, str], status: int
) -> None:
    cases = dict(_web_cases(site))
    ids = {
        "review": site.dispute("under_review"),
        "negotiating": site.dispute("negotiating"),
        "headphones": next(p.split("/")[2] for p in cases if p.endswith("/dispute")),
    }
    target = path.format(**ids)
    from fairdeal.services import disputes as ds

    def state() -> Any:
        admin = site.actor("ada")
        return [
            ds.get_dispute(site.app.ctx, admin, d).dispute.version
            for d in (ids["review"], ids["negotiating"])
        ]

    before, clock = state(), site.app.ctx.clock.now()
    with site.client() as http:
        submit_login(http, handle)
        token = csrf_token(http.get("/", follow_redirects=True).text)
        response = http.post(target, data={**data, "csrf_token": token})
    assert response.status_code == status, response.text[:300]
    assert state() == before
    assert site.app.ctx.clock.now() - clock < timedelta(days=1)  # the clock did not jump


def test_anonymous_posts_change_nothing(site: Site) -> None:
    dispute = site.dispute("negotiating")
    with site.client() as http:
        token = csrf_token(http.get("/login").text)  # an anonymous session's own token
        response = http.post(
            f"/disputes/{dispute}/messages", data={"body": "x", "csrf_token": token}
        )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
