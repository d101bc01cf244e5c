"""The web pages without a browser (fastapi TestClient): login and sessions, CSRF, who may
see what, and the settings the pages refuse to start without. Fast; runs everywhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from fairdeal.adapters.db import tables
from fairdeal.bootstrap import App, bootstrap
from fairdeal.config import Settings
from fairdeal.demo import DEMO_PASSWORD, DemoAccounts
from fairdeal.domain.dispute import Role
from fairdeal.entrypoints.api.app import create_app
from fairdeal.entrypoints.web import WebConfigError
from fairdeal.entrypoints.web.sessions import COOKIE, SessionSigner
from fairdeal.entrypoints.web.views import for_viewer, refusal
from fairdeal.services import disputes, orders
from webpages import TestClient, csrf_token, log_in, submit_login


def set_cookie_header(response: object) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return next(h for h in headers if h.startswith(f"{COOKIE}="))


# --- login and sessions -------------------------------------------------------------------


def test_login_sets_a_signed_httponly_lax_cookie_with_a_new_nonce(client: TestClient) -> None:
    first = client.get("/login")
    anonymous = client.cookies[COOKIE]
    assert (
        "HttpOnly" in set_cookie_header(first)
        and "samesite=lax" in set_cookie_header(first).lower()
    )
    assert "Secure" not in set_cookie_header(first)  # plain http here
    response = submit_login(client, "alice")
    assert response.status_code == 303 and response.headers["location"] == "/orders"
    cookie = set_cookie_header(response)
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.cookies[COOKIE] != anonymous
    # Rotation: the nonce changed, so the token of the page before the login is dead.
    stale = csrf_token(first.text)
    refused = client.post("/disputes/x/messages", data={"csrf_token": stale, "body": "hi"})
    assert refused.status_code == 403
    assert client.get("/orders").status_code == 200


def test_the_cookie_is_secure_over_https(world: tuple[App, DemoAccounts]) -> None:
    with TestClient(create_app(world[0]), base_url="https://testserver") as http:
        response = submit_login(http, "alice")
        assert "Secure" in set_cookie_header(response)


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client: TestClient) -> None:
    wrong = submit_login(client, "alice", "not-the-password")
    unknown = submit_login(client, "nobody")
    assert wrong.status_code == unknown.status_code == 422
    assert "do not match an account" in wrong.text and "do not match an account" in unknown.text
    assert client.get("/orders", follow_redirects=False).status_code == 303


def test_pages_need_a_login_and_come_back_after_it(client: TestClient) -> None:
    response = client.get("/disputes", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/disputes"
    page = client.get(response.headers["location"])
    response = client.post(
        "/login",
        data={
            "email": "alice@demo.test",
            "password": DEMO_PASSWORD,
            "next": "/disputes",
            "csrf_token": csrf_token(page.text),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/disputes"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_the_next_parameter_stays_on_this_site(client: TestClient, target: str) -> None:
    response = submit_login(client, "alice", next=target)
    assert response.headers["location"] == "/orders"


def test_logout_clears_the_session(client: TestClient) -> None:
    log_in(client, "alice")
    page = client.get("/orders")
    response = client.post(
        "/logout", data={"csrf_token": csrf_token(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert f'{COOKIE}=""' in set_cookie_header(response) or "Max-Age=0" in set_cookie_header(
        response
    )
    assert client.get("/orders", follow_redirects=False).status_code == 303


def test_a_disabled_users_session_stops_working(
    world: tuple[App, DemoAccounts], client: TestClient
) -> None:
    app, accounts = world
    log_in(client, "bob")
    assert client.get("/orders").status_code == 200
    bob = accounts.actors["bob"].user_id
    with app.engine.begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.id == bob).values(disabled=True))
    try:
        assert client.get("/orders", follow_redirects=False).status_code == 303
        assert submit_login(client, "bob").status_code == 403
    finally:
        with app.engine.begin() as conn:
            conn.execute(
                update(tables.users).where(tables.users.c.id == bob).values(disabled=False)
            )


def test_a_forged_or_expired_cookie_is_no_session() -> None:
    signer = SessionSigner(b"k" * 32, timedelta(hours=12))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    value = signer.dumps(signer.new("usr_1", now))
    assert signer.loads(value, now) is not None
    body, signature = value.split(".")
    assert signer.loads(f"{body}.{'0' * len(signature)}", now) is None
    other = SessionSigner(b"x" * 32, timedelta(hours=12))
    assert other.loads(value, now) is None
    assert signer.loads(value, now + timedelta(hours=13)) is None
    assert signer.loads("garbage", now) is None
    assert signer.new("usr_1", now).nonce != signer.new("usr_1", now).nonce


# --- CSRF ---------------------------------------------------------------------------------


def test_every_post_without_a_valid_token_is_refused(
    world: tuple[App, DemoAccounts], client: TestClient
) -> None:
    app, accounts = world
    dispute_id = accounts.dispute_ids["negotiating"]
    log_in(client, "alice")
    page = client.get(f"/disputes/{dispute_id}")
    before = len(
        disputes.get_dispute(app.ctx, accounts.actors["alice"], dispute_id).dispute.messages
    )
    url = f"/disputes/{dispute_id}/messages"
    assert client.post(url, data={"body": "no token"}).status_code == 403
    assert client.post(url, data={"body": "bad", "csrf_token": "0" * 64}).status_code == 403
    with TestClient(create_app(app)) as other:  # another visitor's token is not this session's
        other_token = csrf_token(other.get("/login").text)
    assert client.post(url, data={"body": "x", "csrf_token": other_token}).status_code == 403
    after = disputes.get_dispute(app.ctx, accounts.actors["alice"], dispute_id).dispute.messages
    assert len(after) == before
    # htmx sends the token as a header; that counts.
    sent = client.post(
        url,
        data={"body": "Sent with htmx."},
        headers={"X-CSRF-Token": csrf_token(page.text), "HX-Request": "true"},
    )
    assert sent.status_code == 200 and "Sent with htmx." in sent.text
    assert "<html" not in sent.text  # htmx gets the messages part only


def test_the_login_form_itself_needs_its_token(client: TestClient) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": "alice@demo.test", "password": DEMO_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403


# --- who sees what ------------------------------------------------------------------------


def test_a_buyer_cannot_open_another_buyers_dispute_or_its_files(
    world: tuple[App, DemoAccounts], client: TestClient
) -> None:
    app, accounts = world
    bobs = accounts.dispute_ids["under_review"]
    log_in(client, "alice")
    assert client.get(f"/disputes/{bobs}").status_code == 404
    photo = disputes.get_dispute(app.ctx, accounts.actors["bob"], bobs).dispute.evidence[0].file_id
    assert client.get(f"/files/{photo}").status_code == 404
    page = client.get("/orders")
    refused = client.post(
        f"/disputes/{bobs}/messages", data={"body": "hello", "csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 404


@pytest.mark.parametrize(
    ("handle", "path", "status"),
    [
        ("alice", "/admin", 403),
        ("alice", "/mediator", 403),
        ("sam", "/orders/x/dispute", 403),
        ("maya", "/admin", 403),
        ("ada", "/admin", 200),
        ("maya", "/mediator", 200),
    ],
)
def test_pages_are_for_their_roles(client: TestClient, handle: str, path: str, status: int) -> None:
    log_in(client, handle)
    assert client.get(path).status_code == status


def test_the_open_dispute_form_refuses_with_the_apis_rules(
    world: tuple[App, DemoAccounts], client: TestClient
) -> None:
    app, accounts = world
    log_in(client, "alice")
    orders_page = client.get("/orders")
    order_path = re.search(r'href="(/orders/[^"]+/dispute)"', orders_page.text)
    assert order_path
    order_id = order_path.group(1).split("/")[2]
    before = orders.get_order(app.ctx, accounts.actors["alice"], order_id).dispute_ids
    form = client.get(order_path.group(1))
    response = client.post(
        order_path.group(1),
        data={
            "csrf_token": csrf_token(form.text),
            "reason": "damaged",
            "desired_outcome": "refund_only",
            "amount": "12,50",
            "description": "Broken.",
        },
    )
    assert response.status_code == 422
    assert 'id="open-amount-error"' in response.text
    assert "is not a plain decimal amount" in response.text
    assert orders.get_order(app.ctx, accounts.actors["alice"], order_id).dispute_ids == before


def test_the_mediators_make_final_form_runs_the_rules(
    world: tuple[App, DemoAccounts], client: TestClient
) -> None:
    """The workbench's "Make final" form reaches the domain (a decision that does not exist is
    refused there: the page again, 422), for staff only."""
    _, accounts = world
    dispute_id = accounts.dispute_ids["under_review"]
    url = f"/disputes/{dispute_id}/decision/dec_missing/finalize"
    log_in(client, "maya")
    page = client.get(f"/disputes/{dispute_id}")
    refused = client.post(url, data={"csrf_token": csrf_token(page.text), "solution_index": "0"})
    assert refused.status_code == 422 and f'action="/disputes/{dispute_id}/' in refused.text
    client.cookies.clear()
    log_in(client, "bob")
    page = client.get(f"/disputes/{dispute_id}")
    assert client.post(url, data={"csrf_token": csrf_token(page.text)}).status_code == 403


def test_pages_carry_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


# --- settings -----------------------------------------------------------------------------


def test_outside_sandbox_mode_the_secret_key_is_required(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    app = bootstrap(Settings(database_url=url, storage_dir=str(tmp_path / "files")))
    try:
        with pytest.raises(WebConfigError, match="FAIRDEAL_SECRET_KEY"):
            create_app(app)
        app.settings.secret_key = "short"
        with pytest.raises(WebConfigError, match="at least 32"):
            create_app(app)
        app.settings.secret_key = "web-test-key-0123456789abcdefghijklmnop"
        assert create_app(app) is not None
    finally:
        app.engine.dispose()


def test_in_sandbox_mode_each_process_gets_its_own_random_key(
    world: tuple[App, DemoAccounts],
) -> None:
    first = create_app(world[0]).state.web.signer.secret
    second = create_app(world[0]).state.web.signer.secret
    assert first != second and len(first) == 32


# --- deadlines phrased for the reader -----------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            Role.BUYER,
            "If the seller does not answer by then, the dispute closes in your favour on your solution.",
        ),
        (
            Role.SELLER,
            "If you do not answer by then, the dispute closes in the buyer's favour on the buyer's solution.",
        ),
        (
            Role.MEDIATOR,
            "If the seller does not answer by then, the dispute closes in the buyer's favour on the buyer's solution.",
        ),
    ],
)
def test_a_deadline_is_phrased_for_the_reader(role: Role, expected: str) -> None:
    text = "If the seller does not answer by then, the dispute closes in the buyer's favour on the buyer's solution."
    assert for_viewer(text, role) == expected


def test_the_other_deadlines_read_well_for_each_party() -> None:
    assert (
        for_viewer(
            "If buyer and seller have not agreed by then, a mediator takes over.", Role.SELLER
        )
        == "If you and the buyer have not agreed by then, a mediator takes over."
    )
    assert for_viewer(
        "If the buyer has not shipped the return with a tracking number by then, the dispute"
        " closes in the seller's favour with no refund.",
        Role.BUYER,
    ).startswith("If you have not shipped the return")
    assert (
        for_viewer(
            "If the seller does not confirm the returned parcel by then, the refund is paid to the buyer.",
            Role.BUYER,
        )
        == "If the seller does not confirm the returned parcel by then, the refund is paid to you."
    )


def test_a_refusal_reads_as_a_sentence_with_local_times_and_no_ids() -> None:
    shown = refusal(
        "'Item not received' can be opened from 2026-12-24T05:14:20.057959+00:00, 10 days"
        " after the order shipped"
    )
    assert '<time datetime="2026-12-24T05:14:20Z" data-local>24 Dec 2026, 05:14 UTC</time>' in shown
    assert shown.endswith("shipped.")
    closed = refusal("item ord_1_item_1 had a dispute that closed (dsp_01ab); a closed dispute")
    assert "dsp_" not in closed and closed.startswith("Item ")
    assert str(refusal("<script>")) == "&lt;script&gt;."
