"""Hostile amounts on every API input that takes money: POST /orders (unit_price,
shipping_cost), POST /disputes (amount), solutions (POST and PATCH) and a mediator's decision.
Each bad value answers 422 naming the field, and nothing changes: the dispute keeps its
version, the order list and the ledger stay as they were. Zero is refused where PRODUCT.md
says so (a claim is at least 0.01, or 1 RUB) and accepted where it is allowed (a seller's
"zero refund", a decision of 0)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from databases import BACKENDS, empty_database
from e2e.support import World, ok, running_world
from fairdeal.adapters.db import tables

# Refused everywhere an amount is read (as a bare string, or as a money object's value).
BAD_TEXT = [
    pytest.param("-1.00", id="negative"),
    pytest.param("-0.01", id="negative-cent"),
    pytest.param("-0.00", id="negative-zero"),
    pytest.param("NaN", id="nan"),
    pytest.param("nan", id="nan-lower"),
    pytest.param("sNaN", id="signalling-nan"),
    pytest.param("Infinity", id="infinity"),
    pytest.param("-Infinity", id="minus-infinity"),
    pytest.param("inf", id="inf"),
    pytest.param("1e3", id="exponent"),
    pytest.param("1E-2", id="negative-exponent"),
    pytest.param("10.001", id="three-decimals-in-eur"),
    pytest.param("0.001", id="a-tenth-of-a-cent"),
    pytest.param("10.0000001", id="seven-decimals"),
    pytest.param("9" * 16, id="sixteen-digits"),
    pytest.param("99999999999999999999999999999.00", id="huge"),
    pytest.param("1_000.00", id="underscore"),
    pytest.param("+1.00", id="plus-sign"),
    pytest.param("１２.５０", id="full-width-digits"),
    pytest.param("٣.٠٠", id="arabic-indic-digits"),
    pytest.param("0x10", id="hex"),
    pytest.param(" 1.00", id="leading-space"),
    pytest.param("1.00\n", id="trailing-newline"),
    pytest.param("1,00", id="decimal-comma"),
    pytest.param(".50", id="no-whole-part"),
    pytest.param("1.", id="no-fraction"),
    pytest.param("", id="empty"),
]
# Refused as JSON values that are not decimal strings.
BAD_JSON = [
    pytest.param(12.5, id="json-float"),
    pytest.param(1e3, id="json-float-exponent"),
    pytest.param(10, id="json-integer"),
    pytest.param(True, id="json-true"),
    pytest.param(None, id="json-null"),
    pytest.param([], id="json-list"),
    pytest.param("1" * 40, id="longer-than-32-characters"),
]
BAD = BAD_TEXT + BAD_JSON
BAD_MONEY_OBJECTS = [
    pytest.param({"currency": "EUR", "value": "-1.00"}, id="object-negative"),
    pytest.param({"currency": "EUR", "value": 10.5}, id="object-float"),
    pytest.param({"currency": "EUR", "value": "NaN"}, id="object-nan"),
    pytest.param({"currency": "EUR", "value": "1e1"}, id="object-exponent"),
    pytest.param({"currency": "USD", "value": "1.00"}, id="object-other-currency"),
    pytest.param({"currency": "EUR"}, id="object-without-value"),
    pytest.param({"currency": "EUR", "value": "1.00", "minor": 100}, id="object-extra-field"),
]


@dataclass
class Scene:
    world: World
    negotiating: dict[str, Any]  # a dispute with a seller offer (classic policy)
    under_review: dict[str, Any]  # an escalated dispute, for decisions


@pytest.fixture(scope="module", params=BACKENDS)
def scene(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    folder = tmp_path_factory.mktemp("money")
    url = empty_database(request, Path(folder))
    with running_world(url, Path(folder) / "files", policy="classic") as world:
        negotiating = world.open_dispute()
        negotiating = world.act(
            world.seller,
            negotiating,
            "solutions",
            {"kind": "refund_only", "amount": "5.00"},
            201,
        )
        review = world.open_dispute()
        review = world.act(
            world.seller, review, "solutions", {"kind": "refund_only", "amount": "5.00"}, 201
        )
        review = world.act(world.buyer, review, "escalate")
        assert review["status"] == "under_review"
        yield Scene(world, negotiating, review)


def snapshot(scene: Scene) -> dict[str, Any]:
    """Everything a money input could change: both disputes, the order list, the ledger."""
    w = scene.world
    with w.app.engine.connect() as conn:
        ledger = conn.execute(
            select(func.count(), func.coalesce(func.sum(tables.ledger_entries.c.amount_minor), 0))
        ).one()
        orders = conn.execute(select(func.count()).select_from(tables.orders)).scalar_one()
    disputes = {
        d["id"]: {k: d[k] for k in ("version", "status", "solutions", "mediation", "amount_paid")}
        for d in (w.dispute(scene.negotiating["id"]), w.dispute(scene.under_review["id"]))
    }
    return {"ledger": tuple(ledger), "orders": orders, "disputes": disputes}


def refused_naming(response: Any, field: str) -> None:
    assert response.status_code == 422, f"expected 422, got {response.status_code}: {response.text}"
    body = response.json()
    assert body["code"] in {"validation_error", "amount_out_of_range"}, body
    named = f"{body.get('field') or ''} {body['detail']}"
    assert field in named, f"the refusal does not name {field!r}: {body}"


# --- POST /orders ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("field", ["unit_price", "shipping_cost"])
def test_bad_order_prices_are_refused(scene: Scene, field: str, value: Any) -> None:
    before = snapshot(scene)
    body = scene.world.order_body()
    if field == "unit_price":
        body["items"][0]["unit_price"] = value
    else:
        body["shipping_cost"] = value
    refused_naming(scene.world.platform.post("/orders", body), field)
    assert snapshot(scene) == before


def test_an_order_total_of_zero_or_beyond_any_real_order_is_refused(scene: Scene) -> None:
    before = snapshot(scene)
    free = scene.world.order_body(prices=("0.00",), shipping="0.00")
    refused_naming(scene.world.platform.post("/orders", free), "items")
    # 15 digits each are readable, but 100 items of 100 000 of them would overflow the
    # ledger's 64-bit columns: refused as a total beyond any real order (not a 500).
    huge = scene.world.order_body(prices=("999999999999999.00",) * 100, shipping="0.00")
    for item in huge["items"]:
        item["quantity"] = 100_000
    refused_naming(scene.world.platform.post("/orders", huge), "items")
    assert snapshot(scene) == before


# --- POST /disputes ------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD + BAD_MONEY_OBJECTS)
def test_bad_claims_are_refused(scene: Scene, value: Any) -> None:
    w = scene.world
    order = w.shipped_order()
    body = w.dispute_body(order, amount=value)
    before = snapshot(scene)
    refused_naming(w.buyer.post("/disputes", body), "amount")
    assert snapshot(scene) == before
    assert w.get_order(order["id"])["dispute_ids"] == []


@pytest.mark.parametrize(
    ("currency", "prices", "amount"),
    [
        pytest.param("EUR", ("40.00",), "0.00", id="zero"),
        pytest.param("EUR", ("40.00",), "0", id="zero-whole"),
        pytest.param("EUR", ("40.00",), "40.01", id="above-paid"),
        pytest.param("EUR", ("40.00",), "999999999999999.99", id="huge"),
        pytest.param("RUB", ("500.00",), "0.99", id="under-one-rouble"),
        pytest.param("JPY", ("1200",), "0", id="zero-yen"),
    ],
)
def test_claims_below_the_minimum_or_above_the_price_are_out_of_range(
    scene: Scene, currency: str, prices: tuple[str, ...], amount: str
) -> None:
    w = scene.world
    shipping = "0" if currency == "JPY" else "0.00"
    order = w.shipped_order(currency=currency, prices=prices, shipping=shipping)
    before = snapshot(scene)
    response = w.buyer.post("/disputes", w.dispute_body(order, amount=amount))
    refused_naming(response, "amount")
    assert response.json()["code"] == "amount_out_of_range"
    assert snapshot(scene) == before
    assert w.get_order(order["id"])["dispute_ids"] == []


# --- solutions -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD + BAD_MONEY_OBJECTS)
def test_bad_seller_offers_are_refused(scene: Scene, value: Any) -> None:
    before = snapshot(scene)
    response = scene.world.seller.post(
        f"/disputes/{scene.negotiating['id']}/solutions", {"kind": "refund_only", "amount": value}
    )
    refused_naming(response, "amount")
    assert snapshot(scene) == before


@pytest.mark.parametrize("value", [v for v in BAD + BAD_MONEY_OBJECTS if v.values[0] is not None])
def test_bad_edits_of_the_buyers_solution_are_refused(scene: Scene, value: Any) -> None:
    dispute = scene.negotiating
    buyers = next(s for s in dispute["solutions"] if s["proposed_by"] == "buyer")
    before = snapshot(scene)
    response = scene.world.buyer.patch(
        f"/disputes/{dispute['id']}/solutions/{buyers['id']}", {"amount": value}
    )
    refused_naming(response, "amount")
    assert snapshot(scene) == before


def test_a_zero_refund_offer_is_allowed_and_above_the_price_is_not(scene: Scene) -> None:
    w = scene.world
    dispute = w.open_dispute()
    path = f"/disputes/{dispute['id']}/solutions"
    above = w.seller.post(path, {"kind": "refund_only", "amount": "40.01"})
    refused_naming(above, "amount")
    assert w.dispute(dispute["id"])["version"] == dispute["version"]
    zero = ok(w.seller.post(path, {"kind": "refund_only", "amount": "0.00"}), 201)
    assert zero["solutions"][-1]["amount"] == {"currency": "EUR", "value": "0.00"}


# --- a mediator's decision ----------------------------------------------------------------


@pytest.mark.parametrize("value", BAD + BAD_MONEY_OBJECTS)
def test_bad_decision_amounts_are_refused(scene: Scene, value: Any) -> None:
    before = snapshot(scene)
    response = scene.world.mediator.post(
        f"/disputes/{scene.under_review['id']}/decisions",
        {"solutions": [{"kind": "refund_only", "amount": value}], "rationale": "Half each."},
    )
    refused_naming(response, "amount")
    assert snapshot(scene) == before


def test_a_decision_above_the_price_is_refused_and_zero_is_allowed(scene: Scene) -> None:
    w = scene.world
    path = f"/disputes/{scene.under_review['id']}/decisions"
    before = snapshot(scene)
    too_much = w.mediator.post(
        path, {"solutions": [{"kind": "refund_only", "amount": "40.01"}], "rationale": "No."}
    )
    refused_naming(too_much, "amount")
    assert snapshot(scene) == before
    decided = ok(
        w.mediator.post(
            path, {"solutions": [{"kind": "refund_only", "amount": "0.00"}], "rationale": "None."}
        ),
        201,
    )
    assert decided["mediation"]["decision"]["solutions"][0]["amount"]["value"] == "0.00"
