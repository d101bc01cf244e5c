"""What every use case needs, and the one way to run a command against a dispute or an order:
load, ask the domain, save, in one unit of work, retried a bounded number of times when
someone else changed the same aggregate in between."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from fairdeal.domain.dispute import Dispute
from fairdeal.domain.errors import NotFound, VersionConflict
from fairdeal.domain.events import DomainEvent
from fairdeal.domain.order import Order
from fairdeal.domain.policy import Policy
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.access import LockoutPolicy
from fairdeal.services.ports import (
    AuditChains,
    Clock,
    ContentInspector,
    FileStorage,
    HolidayCalendar,
    IdGenerator,
    SecurityStore,
    SettableClock,
    UnitOfWork,
    UnitOfWorkFactory,
)

if TYPE_CHECKING:
    # A service of its own (the outbox relay, email, webhooks) that the context carries.
    from fairdeal.services.metrics import MetricsStore
    from fairdeal.services.notifications import Notifier
    from fairdeal.services.payments import Payments

T = TypeVar("T")

# A stale write is retried this many times before the caller sees a version conflict.
MAX_ATTEMPTS = 4


class NotWired(RuntimeError):
    """A use case needs a port that this context was built without (``bootstrap`` wires
    every one; a test's context wires the ones its use cases need)."""


@dataclass
class Context:
    """Everything a use case depends on, and the one way it gets it: every service function
    takes the context first. ``fairdeal.bootstrap`` builds it from adapters, tests from the
    fakes in ``tests/fakes.py``."""

    uow: UnitOfWorkFactory
    clock: Clock
    policy: Policy
    policies: Mapping[str, Policy]
    holidays: HolidayCalendar
    ids: IdGenerator
    # Called with the events each successful commit wrote (metrics, notifications hook).
    on_commit: list[Callable[[list[DomainEvent]], None]] = field(default_factory=list)
    # The ports only some use cases need: left out, those use cases raise NotWired.
    storage: FileStorage | None = None
    inspector: ContentInspector | None = None
    security: SecurityStore | None = None
    audit: AuditChains | None = None
    notifier: Notifier | None = None
    metrics: MetricsStore | None = None
    # The payment gateways (FAIRDEAL_PAYMENTS); left out, movements wait as pending.
    payments: Payments | None = None
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)

    @property
    def file_storage(self) -> FileStorage:
        return _wired(self.storage, "storage")

    @property
    def content_inspector(self) -> ContentInspector:
        return _wired(self.inspector, "inspector")

    @property
    def security_store(self) -> SecurityStore:
        return _wired(self.security, "security")

    @property
    def audit_chains(self) -> AuditChains:
        return _wired(self.audit, "audit")

    @property
    def settable_clock(self) -> SettableClock:
        """The clock, when it can be moved (the sandbox's, or a test's)."""
        if not callable(getattr(self.clock, "advance_to", None)):
            raise NotWired("this context's clock cannot be moved (sandbox mode is off)")
        clock: SettableClock = self.clock  # type: ignore[assignment]
        return clock

    def provider_for(self, kind: str) -> str:
        """The name of the provider that will move a refund's or payout's money."""
        if self.payments is None:
            return "sandbox"
        return self.payments.gateway_for(kind).name

    def is_holiday_for(self, country: str) -> Callable[[date], bool]:
        return lambda day: self.holidays.is_holiday(country, day)

    def committed(self, uow: UnitOfWork) -> None:
        events = uow.published()
        for listener in self.on_commit:
            listener(events)


def _wired(port: T | None, name: str) -> T:
    if port is None:
        raise NotWired(f"the context has no {name} port")
    return port


def can_see_order(actor: Actor, order: Order) -> bool:
    if actor.role is Role.BUYER:
        return order.buyer_id == actor.user_id
    if actor.role is Role.SELLER:
        return order.seller_id == actor.user_id
    return actor.role in (Role.PLATFORM, Role.ADMIN, Role.MEDIATOR)


def can_see_dispute(actor: Actor, dispute: Dispute) -> bool:
    if actor.role is Role.BUYER:
        return dispute.buyer_id == actor.user_id
    if actor.role is Role.SELLER:
        return dispute.seller_id == actor.user_id
    return actor.role in (Role.PLATFORM, Role.ADMIN, Role.MEDIATOR)


def load_order(uow: UnitOfWork, actor: Actor, order_id: str) -> Order:
    """The order if the actor may see it; NotFound otherwise, so that a stranger cannot tell
    an order that exists from one that does not."""
    order = uow.orders.get(order_id)
    if order is None or not can_see_order(actor, order):
        raise NotFound(f"order {order_id} not found")
    return order


def load_dispute(uow: UnitOfWork, actor: Actor, dispute_id: str) -> Dispute:
    dispute = uow.disputes.get(dispute_id)
    if dispute is None or not can_see_dispute(actor, dispute):
        raise NotFound(f"dispute {dispute_id} not found")
    return dispute


def retrying(action: Callable[[], T]) -> T:
    """Run ``action`` (a whole unit of work) again when its optimistic write went stale."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return action()
        except VersionConflict:
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def sync_order(
    dispute: Dispute,
    order: Order,
    now: datetime,
    provider: str = "sandbox",
    payout_provider: str | None = None,
) -> None:
    """Carry a dispute's change over to its order: which items are under dispute, and the money
    its end moves (exactly once: ledger entries and money movements for ``provider``)."""
    order.track_dispute(dispute.id, dispute.item_ids, dispute.item_state)
    settlement = dispute.take_settlement()
    if settlement is not None:
        order.settle_dispute(
            dispute_id=dispute.id,
            amount_paid=settlement.amount_paid,
            refund=settlement.refund,
            now=now,
            provider=provider,
            payout_provider=payout_provider,
            refund_expected_by=dispute.refund.expected_by if dispute.refund else None,
        )
