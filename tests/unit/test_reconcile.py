"""``reconcile``: Fairdeal's movements against a provider's records, every kind of mismatch."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fairdeal.domain.money import Money
from fairdeal.services.payments import ProviderRecord
from fairdeal.services.reconcile import KINDS, Mismatch, collect, reconcile

PI = "pi_1"


@dataclass(frozen=True)
class Movement:
    id: str
    status: str
    amount: Money
    payment_reference: str = PI
    provider_reference: str | None = None
    kind: str = "refund"


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def record(
    reference: str, movement_id: str | None, minor: int, status: str = "succeeded"
) -> ProviderRecord:
    return ProviderRecord(reference, movement_id, usd(minor), status)


def kinds(found: list[Mismatch]) -> list[tuple[str, str | None]]:
    return [(m.kind, m.movement_id) for m in found]


def test_everything_matching_is_no_mismatch() -> None:
    movements = [
        Movement("mov_a", "succeeded", usd(1000), provider_reference="re_a"),
        Movement("mov_b", "submitted", usd(500)),  # accepted, not confirmed yet
        Movement("mov_c", "pending", usd(300)),  # not asked yet
        Movement("mov_d", "failed", usd(200)),  # refused before anything was made
        Movement("mov_e", "failed", usd(100), provider_reference="re_e"),
    ]
    records = {
        PI: [
            record("re_a", "mov_a", 1000),
            record("re_b", "mov_b", 500),
            record("re_e", "mov_e", 100, status="failed"),
        ]
    }

    assert reconcile(movements, records) == []


def test_a_confirmed_movement_the_provider_does_not_hold_is_missing() -> None:
    found = reconcile([Movement("mov_a", "succeeded", usd(1000))], {PI: []})

    assert found == [
        Mismatch(
            "missing_at_provider",
            PI,
            "mov_a",
            (),
            "1000 USD succeeded at Fairdeal, nothing at the provider",
        )
    ]


def test_a_submitted_movement_the_provider_does_not_hold_is_missing() -> None:
    found = reconcile([Movement("mov_a", "submitted", usd(1000))], {PI: []})

    assert kinds(found) == [("missing_at_provider", "mov_a")]


def test_a_movement_held_twice_is_a_duplicate() -> None:
    found = reconcile(
        [Movement("mov_a", "succeeded", usd(1000), provider_reference="re_1")],
        {PI: [record("re_1", "mov_a", 1000), record("re_2", "mov_a", 1000)]},
    )

    assert kinds(found) == [("duplicate_at_provider", "mov_a")]
    assert found[0].provider_references == ("re_1", "re_2")
    assert "2 records at the provider (2000 USD minor units in all)" in found[0].detail


def test_another_amount_or_currency_is_a_wrong_amount() -> None:
    found = reconcile(
        [
            Movement("mov_a", "succeeded", usd(1000)),
            Movement("mov_b", "succeeded", usd(500)),
        ],
        {
            PI: [
                record("re_a", "mov_a", 1200),
                ProviderRecord("re_b", "mov_b", Money(500, "EUR"), "succeeded"),
            ]
        },
    )

    assert [(m.kind, m.movement_id, m.detail) for m in found] == [
        ("wrong_amount", "mov_a", "1200 USD at the provider, 1000 USD at Fairdeal"),
        ("wrong_amount", "mov_b", "500 EUR at the provider, 500 USD at Fairdeal"),
    ]


def test_records_no_movement_accounts_for_are_unknown_at_fairdeal() -> None:
    found = reconcile(
        [Movement("mov_a", "succeeded", usd(1000))],
        {
            PI: [
                record("re_a", "mov_a", 1000),
                record("re_dash", None, 700),  # made in the provider's dashboard
                record("re_x", "mov_gone", 300),  # an id Fairdeal does not have
            ]
        },
    )

    assert kinds(found) == [("unknown_at_fairdeal", None), ("unknown_at_fairdeal", "mov_gone")]
    assert found[0].detail == "700 USD succeeded at the provider, no Fairdeal movement id"
    assert found[1].provider_references == ("re_x",)


def test_a_record_is_matched_only_on_its_own_payment() -> None:
    """The same movement id on another payment is not this movement's refund."""
    found = reconcile(
        [Movement("mov_a", "succeeded", usd(1000))],
        {PI: [], "pi_2": [record("re_a", "mov_a", 1000)]},
    )

    assert kinds(found) == [("missing_at_provider", "mov_a"), ("unknown_at_fairdeal", "mov_a")]


@pytest.mark.parametrize(
    ("fairdeal", "provider"),
    [
        ("succeeded", "failed"),
        ("succeeded", "pending"),
        ("failed", "succeeded"),
        ("failed", "pending"),
        ("pending", "succeeded"),
        ("pending", "pending"),
    ],
)
def test_contradicting_statuses_differ(fairdeal: str, provider: str) -> None:
    found = reconcile(
        [Movement("mov_a", fairdeal, usd(1000))],
        {PI: [record("re_a", "mov_a", 1000, status=provider)]},
    )

    assert kinds(found) == [("status_differs", "mov_a")]
    assert found[0].detail == f"{fairdeal} at Fairdeal, {provider} at the provider"


@pytest.mark.parametrize("provider", ["pending", "succeeded", "failed"])
def test_a_submitted_movement_waits_for_its_confirmation(provider: str) -> None:
    found = reconcile(
        [Movement("mov_a", "submitted", usd(1000))],
        {PI: [record("re_a", "mov_a", 1000, status=provider)]},
    )

    assert found == []


def test_another_recorded_reference_differs() -> None:
    found = reconcile(
        [Movement("mov_a", "succeeded", usd(1000), provider_reference="re_old")],
        {PI: [record("re_a", "mov_a", 1000)]},
    )

    assert kinds(found) == [("reference_differs", "mov_a")]
    assert found[0].detail == "Fairdeal recorded re_old, the provider holds re_a"


def test_every_kind_can_be_reported_at_once() -> None:
    movements = [
        Movement("mov_missing", "succeeded", usd(100)),
        Movement("mov_double", "succeeded", usd(200)),
        Movement("mov_amount", "succeeded", usd(300)),
        Movement("mov_status", "failed", usd(400)),
        Movement("mov_ref", "succeeded", usd(500), provider_reference="re_other"),
    ]
    records = {
        PI: [
            record("re_d1", "mov_double", 200),
            record("re_d2", "mov_double", 200),
            record("re_am", "mov_amount", 301),
            record("re_st", "mov_status", 400),
            record("re_rf", "mov_ref", 500),
            record("re_unknown", None, 50),
        ]
    }

    assert {m.kind for m in reconcile(movements, records)} == set(KINDS)


def test_collect_asks_once_per_payment() -> None:
    asked: list[str] = []

    def records(reference: str) -> list[ProviderRecord]:
        asked.append(reference)
        return [record(f"re_{reference}", None, 1)]

    got = collect(
        records,
        [
            Movement("m1", "succeeded", usd(1), payment_reference="pi_b"),
            Movement("m2", "succeeded", usd(1), payment_reference="pi_a"),
            Movement("m3", "succeeded", usd(1), payment_reference="pi_b"),
        ],
    )

    assert asked == ["pi_a", "pi_b"]
    assert set(got) == {"pi_a", "pi_b"}


def test_a_mismatch_reads_as_one_line() -> None:
    line = Mismatch("wrong_amount", PI, "mov_a", ("re_a",), "1200 USD at the provider").line()

    assert line.startswith("wrong_amount ")
    assert "pi_1  movement mov_a  provider re_a: 1200 USD at the provider" in line
    assert "\n" not in line
