"""The metrics' pure parts: the policy's [metrics] thresholds and the flag rules."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from fairdeal.domain.errors import PolicyError
from fairdeal.domain.policy import MetricsThresholds, Policy
from fairdeal.services.metrics import (
    Counts,
    SellerNormCache,
    Side,
    flags,
    median_seller_rate,
    rate,
)


def preset(**metrics: Any) -> dict[str, Any]:
    text = resources.files("fairdeal.policies").joinpath("standard.toml").read_text()
    data = tomllib.loads(text)
    data["metrics"] = {**data["metrics"], **metrics}
    return data


def test_the_presets_carry_their_thresholds() -> None:
    limits = Policy.from_mapping(preset()).metrics
    assert limits.serial_disputer_disputes == 5 and limits.min_orders == 5
    assert limits.serial_disputer_rate == Decimal("0.30")
    assert limits.seller_rate_multiple == Decimal("3")


def test_a_policy_without_metrics_gets_the_defaults() -> None:
    data = preset()
    del data["metrics"]
    assert Policy.from_mapping(data).metrics == MetricsThresholds()


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("serial_disputer_rate", 0.3, "must be a non-negative decimal string"),
        ("serial_disputer_rate", "-1", "must be a non-negative decimal string"),
        ("seller_rate_multiple", "three", "must be a non-negative decimal string"),
        ("min_orders", 0, "must be a positive integer"),
    ],
)
def test_a_broken_threshold_is_refused_naming_it(key: str, value: object, problem: str) -> None:
    with pytest.raises(PolicyError, match=f"metrics.{key} {problem}"):
        Policy.from_mapping(preset(**{key: value}), source="p.toml")


def test_rates_have_four_places_and_zero_orders_is_zero() -> None:
    assert rate(1, 40) == Decimal("0.0250") and str(rate(1, 40)) == "0.0250"
    assert str(rate(2, 3)) == "0.6667"
    assert str(rate(3, 0)) == "0.0000"


def test_a_buyer_is_a_serial_disputer_by_count_or_by_rate() -> None:
    limits = MetricsThresholds()
    assert flags("buyer", Counts(orders=1, disputes=5, recent_disputes=5), limits, Decimal(0))
    assert not flags("buyer", Counts(orders=50, disputes=5, recent_disputes=4), limits, Decimal(0))
    assert flags("buyer", Counts(orders=5, disputes=2, recent_disputes=0), limits, Decimal(0)) == (
        "serial_disputer",
    )
    # Below min_orders the rate alone does not flag.
    assert not flags("buyer", Counts(orders=4, disputes=3, recent_disputes=3), limits, Decimal(0))


def test_a_seller_is_flagged_far_above_the_median_and_the_floor() -> None:
    limits = MetricsThresholds()
    sellers = [Counts(orders=10, disputes=n) for n in (0, 1, 1, 2)] + [Counts(orders=2, disputes=2)]
    norm = median_seller_rate(sellers, limits)  # the small seller is not counted
    assert norm == Decimal("0.1")
    assert flags("seller", Counts(orders=10, disputes=3), limits, norm) == ("seller_above_norm",)
    assert not flags("seller", Counts(orders=10, disputes=2), limits, norm)
    # With a median of zero, the floor decides.
    assert not flags("seller", Counts(orders=100, disputes=4), limits, Decimal(0))
    assert flags("seller", Counts(orders=100, disputes=5), limits, Decimal(0))


class _CountingStore:
    """Every seller's counts, and how many times they were asked for."""

    def __init__(self, sellers: dict[str, Counts]) -> None:
        self.sellers, self.asked = sellers, 0

    def counts(
        self, side: Side, user_ids: list[str] | None, since: datetime, *, breakdown: bool = True
    ) -> dict[str, Counts]:
        self.asked += 1
        return dict(self.sellers)

    def flag_counts(
        self, buyer_ids: list[str], seller_ids: list[str], since: datetime
    ) -> tuple[dict[str, Counts], dict[str, Counts]]:
        return {}, {s: c for s, c in self.sellers.items() if s in seller_ids}

    def users_of_role(self, role: str) -> list[str]:
        return sorted(self.sellers)

    def role_of(self, user_id: str) -> str | None:
        return "seller" if user_id in self.sellers else None


def test_the_sellers_norm_is_read_once_per_max_age_and_per_thresholds() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    limits = MetricsThresholds()
    store = _CountingStore({f"s{n}": Counts(orders=10, disputes=n) for n in (0, 1, 1, 2)})
    cache = SellerNormCache(max_age=60)
    assert cache.norm(store, limits, since) == Decimal("0.1")
    store.sellers["s9"] = Counts(orders=10, disputes=9)  # within the minute: not seen yet
    assert cache.norm(store, limits, since) == Decimal("0.1")
    assert store.asked == 1
    # Other thresholds are another norm; an expired one is read again.
    assert cache.norm(store, MetricsThresholds(min_orders=20), since) == Decimal(0)
    assert store.asked == 2
    expired = SellerNormCache(max_age=0)
    expired.norm(store, limits, since)
    expired.norm(store, limits, since)
    assert store.asked == 4
