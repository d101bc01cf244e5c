"""Seller and buyer metrics (API.md "Metrics", docs/metrics.md): orders, disputes, rates,
rulings against, refund share, median time to resolution, scam warnings, per reason, and the
policy's flags (serial disputers, sellers far above the norm) that mediators see.

The numbers come from ``MetricsStore`` (SQL over the projected columns of the dispute rows in
``adapters/db/metrics.py``); what they mean and who may read them is decided here."""

from __future__ import annotations

import csv
import io
import json
import statistics
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Protocol

from fairdeal.domain.errors import NotFound
from fairdeal.domain.policy import MetricsThresholds
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.context import Context, NotWired
from fairdeal.services.users import require_role

Side = Literal["seller", "buyer"]
FOUR_PLACES = Decimal("0.0001")
# Who may read any user's metrics (a user may always read their own).
READERS = (Role.PLATFORM, Role.ADMIN, Role.MEDIATOR)


@dataclass(slots=True)
class Counts:
    """One user's raw numbers on one side (as a seller, or as a buyer)."""

    orders: int = 0
    disputes: int = 0
    escalated: int = 0
    closed: int = 0
    ruled_against: int = 0
    refunded: int = 0
    warnings: int = 0
    recent_disputes: int = 0
    # Hours from opening to closing, one per closed dispute.
    resolution_hours: list[float] = field(default_factory=list)
    # reason -> [disputes, ruled against]
    by_reason: dict[str, list[int]] = field(default_factory=dict)

    @property
    def dispute_rate(self) -> Decimal:
        return rate(self.disputes, self.orders)


class MetricsStore(Protocol):
    def counts(
        self,
        side: Side,
        user_ids: list[str] | None,
        since: datetime,
        *,
        breakdown: bool = True,
    ) -> dict[str, Counts]:
        """Counts per user on ``side`` (``user_ids`` None: every user with an order or a
        dispute on that side); ``recent_disputes`` are those opened at or after ``since``.
        Without ``breakdown``, ``by_reason`` and ``resolution_hours`` are left empty: the
        flags and the sellers' norm need neither, and the mediator queue asks on every view."""
        ...

    def flag_counts(
        self, buyer_ids: list[str], seller_ids: list[str], since: datetime
    ) -> tuple[dict[str, Counts], dict[str, Counts]]:
        """What the flags need of these buyers and of these sellers, in one read: each one's
        ``orders``, ``disputes`` and ``recent_disputes`` (the rest left at zero); the buyers'
        counts first. A user with neither orders nor disputes is absent."""
        ...

    def users_of_role(self, role: str) -> list[str]: ...

    def role_of(self, user_id: str) -> str | None: ...


def rate(part: int, whole: int) -> Decimal:
    if whole <= 0:
        return Decimal("0.0000")
    return (Decimal(part) / Decimal(whole)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def against(side: Side) -> str:
    """The outcome that goes against this side."""
    return "buyer_favour" if side == "seller" else "seller_favour"


@dataclass(frozen=True, slots=True)
class UserMetrics:
    user_id: str
    side: Side
    counts: Counts
    flagged: bool
    flags: tuple[str, ...]

    @property
    def dispute_rate(self) -> Decimal:
        return self.counts.dispute_rate

    @property
    def median_resolution_hours(self) -> float | None:
        hours = self.counts.resolution_hours
        return round(statistics.median(hours), 1) if hours else None

    def as_json(self) -> dict[str, object]:
        c = self.counts
        return {
            "user_id": self.user_id,
            "orders": c.orders,
            "disputes": c.disputes,
            "dispute_rate": str(self.dispute_rate),
            "escalated": c.escalated,
            "escalation_rate": str(rate(c.escalated, c.disputes)),
            "ruled_against": c.ruled_against,
            "refund_share": str(rate(c.refunded, c.closed)),
            "median_resolution_hours": self.median_resolution_hours,
            "warnings_received": c.warnings,
            "by_reason": {
                reason: {"disputes": n, "ruled_against": ruled}
                for reason, (n, ruled) in sorted(c.by_reason.items())
            },
            "flagged": self.flagged,
        }


def _store(ctx: Context) -> MetricsStore:
    if ctx.metrics is None:
        raise NotWired("the context has no metrics port")
    return ctx.metrics


def median_seller_rate(counts: Iterable[Counts], limits: MetricsThresholds) -> Decimal:
    """The platform's norm: the median dispute rate of sellers with at least ``min_orders``."""
    rates = [c.dispute_rate for c in counts if c.orders >= limits.min_orders]
    return Decimal(statistics.median(rates)) if rates else Decimal(0)


def flags(side: Side, c: Counts, limits: MetricsThresholds, norm: Decimal) -> tuple[str, ...]:
    found: list[str] = []
    dispute_rate = c.dispute_rate
    if side == "buyer":
        if c.recent_disputes >= limits.serial_disputer_disputes or (
            c.orders >= limits.min_orders and dispute_rate >= limits.serial_disputer_rate
        ):
            found.append("serial_disputer")
    elif c.orders >= limits.min_orders and dispute_rate >= max(
        limits.seller_rate_multiple * norm, limits.seller_rate_floor
    ):
        found.append("seller_above_norm")
    return tuple(found)


# How long a process reuses the sellers' norm for the flags on the mediator's lists (a flag
# may lag by this much: docs/metrics.md). The norm reads every seller's orders and disputes;
# computed on every view of the queue it was most of the queue's CPU, in PostgreSQL and here
# (docs/performance.md, "Web pages"). Monotonic seconds: a moved test clock changes nothing.
NORM_MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class _KnownNorm:
    limits: MetricsThresholds
    norm: Decimal
    expires: float


class SellerNormCache:
    """The sellers' norm per metrics store (one per application), each kept for
    ``NORM_MAX_AGE_SECONDS``; a store that is gone takes its entry with it."""

    def __init__(self, max_age: float = NORM_MAX_AGE_SECONDS) -> None:
        self.max_age = max_age
        self._known: weakref.WeakKeyDictionary[MetricsStore, _KnownNorm] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()  # the pages' thread pool shares it

    def norm(self, store: MetricsStore, limits: MetricsThresholds, since: datetime) -> Decimal:
        now = time.monotonic()
        with self._lock:
            known = self._known.get(store)
        if known is not None and known.limits == limits and now < known.expires:
            return known.norm
        # Two threads may both compute it once it expired: the same answer, no harm.
        every_seller = store.counts("seller", None, since, breakdown=False)
        norm = median_seller_rate(every_seller.values(), limits)
        with self._lock:
            self._known[store] = _KnownNorm(limits, norm, now + self.max_age)
        return norm


seller_norms = SellerNormCache()


def _recent_since(ctx: Context) -> datetime:
    """Where the serial-disputer window starts: disputes opened since then are recent."""
    return ctx.clock.now() - timedelta(days=ctx.policy.metrics.serial_disputer_window_days)


def _compute(
    ctx: Context,
    side: Side,
    user_ids: list[str] | None,
    *,
    breakdown: bool = True,
    recent_norm: bool = False,
) -> dict[str, UserMetrics]:
    """Each user's metrics and flags; ``breakdown=False`` leaves out the per-reason counts
    and the resolution times (``dispute_flags`` needs only the flags). ``recent_norm``: the
    sellers' norm may be up to ``NORM_MAX_AGE_SECONDS`` old, and only the requested sellers'
    counts are read."""
    store = _store(ctx)
    limits = ctx.policy.metrics
    since = _recent_since(ctx)
    if side == "seller" and recent_norm and user_ids is not None:
        norm = seller_norms.norm(store, limits, since)
        found = store.counts(side, user_ids, since, breakdown=breakdown)
    elif side == "seller":
        # A seller's flag compares them with the norm of every seller: every seller's counts
        # are read for it, and the requested sellers' are among them (one query, not two).
        found = store.counts(side, None, since, breakdown=breakdown)
        norm = median_seller_rate(found.values(), limits)
    else:
        found, norm = store.counts(side, user_ids, since, breakdown=breakdown), Decimal(0)
    result = {}
    for user_id in user_ids if user_ids is not None else sorted(found):
        c = found.get(user_id, Counts())
        raised = flags(side, c, limits, norm)
        result[user_id] = UserMetrics(user_id, side, c, bool(raised), raised)
    return result


def user_metrics(ctx: Context, actor: Actor, side: Side, user_id: str) -> UserMetrics:
    """One seller's or buyer's metrics: to the platform and staff, and to that user."""
    own = actor.user_id == user_id and actor.role.value == side
    if not own and actor.role not in READERS:
        raise NotFound(f"{side} {user_id} not found")
    if _store(ctx).role_of(user_id) != side:
        raise NotFound(f"{side} {user_id} not found")
    return _compute(ctx, side, [user_id])[user_id]


def all_sellers(ctx: Context, actor: Actor) -> list[UserMetrics]:
    """Every seller (with orders or not), for the CSV export and the admin page."""
    require_role(actor, Role.PLATFORM, Role.ADMIN, to="export every seller's metrics")
    sellers = _store(ctx).users_of_role("seller")
    return list(_compute(ctx, "seller", sellers).values())


class Parties(Protocol):
    """A dispute as the flags need it: a ``Dispute``, or a list row's ``DisputeSummary``."""

    @property
    def id(self) -> str: ...
    @property
    def buyer_id(self) -> str: ...
    @property
    def seller_id(self) -> str: ...


def dispute_flags(ctx: Context, disputes: Iterable[Parties]) -> Mapping[str, tuple[str, ...]]:
    """For mediators: each dispute's flags (its buyer a serial disputer, its seller far above
    the norm), by dispute id. Empty where nothing is flagged. The sellers' norm is this
    process's from the last minute at most (``SellerNormCache``): the queue asks on every
    view."""
    rows = list(disputes)
    if not rows or ctx.metrics is None:
        return {}
    store, limits, since = ctx.metrics, ctx.policy.metrics, _recent_since(ctx)
    norm = seller_norms.norm(store, limits, since)
    # The buyers' and the sellers' counts in one read: the queue asks on every view, and
    # two transactions of two statements each were a fifth of its CPU (docs/performance.md,
    # "Web pages").
    buyers, sellers = store.flag_counts(
        sorted({d.buyer_id for d in rows}), sorted({d.seller_id for d in rows}), since
    )
    none = Counts()
    both = {
        d.id: flags("buyer", buyers.get(d.buyer_id, none), limits, norm)
        + flags("seller", sellers.get(d.seller_id, none), limits, norm)
        for d in rows
    }
    return {dispute_id: raised for dispute_id, raised in both.items() if raised}


CSV_FIELDS = (
    "user_id",
    "orders",
    "disputes",
    "dispute_rate",
    "escalated",
    "escalation_rate",
    "ruled_against",
    "refund_share",
    "median_resolution_hours",
    "warnings_received",
    "by_reason",
    "flagged",
)


def to_csv(rows: Iterable[UserMetrics]) -> str:
    """One line per user with the fields of the JSON answer; ``by_reason`` as JSON in its
    cell, ``flagged`` as true/false, an empty median where nothing closed."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for metric in rows:
        row = metric.as_json()
        median = row["median_resolution_hours"]
        writer.writerow(
            {
                **row,
                "by_reason": json.dumps(row["by_reason"], sort_keys=True),
                "flagged": "true" if row["flagged"] else "false",
                "median_resolution_hours": "" if median is None else median,
            }
        )
    return out.getvalue()


def flagged_buyers(ctx: Context, actor: Actor) -> list[UserMetrics]:
    """The buyers the policy flags as serial disputers (staff)."""
    require_role(actor, *READERS, to="see flagged buyers")
    return [m for m in _compute(ctx, "buyer", None).values() if m.flagged]
