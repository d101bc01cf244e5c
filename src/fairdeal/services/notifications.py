"""Notifications through a transactional outbox: email, in-app notifications, reminders and
signed webhooks.

Every domain event is already written in the same transaction as the change (the ``events``
table is the outbox). The relay, run by ``fairdeal worker``, works in three steps, each its
own short transaction:

1. ``fan_out``: publish the feed (so relay order is feed order), then take the events after
   the relay's cursor and turn each into *deliveries* (one row per email recipient and per
   subscribed webhook endpoint), in-app notifications and the dispute's reminder schedule,
   and move the cursor -- all in one transaction, so an event is fanned out exactly once.
2. ``emit_due_reminders``: a reminder whose time has come becomes a ``deadline.reminder``
   event (once per dispute, deadline kind and due time: the schedule's key), unless the party
   acted meanwhile (the deadline moved or went away). The event is fanned out like any other.
3. ``send_due``: claim due deliveries under a lease (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL), send them one by one, and mark each sent right after sending it. A worker
   killed between the two resends that one message, with the same id, after the lease.

Delivery is at least once; every message carries a stable id (the event id for webhooks, the
event id and recipient for email) so that receivers can drop duplicates."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol

from fairdeal.domain.dispute import Dispute
from fairdeal.domain.errors import NotFound, ValidationError
from fairdeal.domain.events import (
    EVENT_CLASSES,
    EVENT_TYPES,
    DeadlineReminded,
    DecisionAnswered,
    DecisionProposed,
    DisputeCancelled,
    DisputeClosed,
    DisputeEdited,
    DisputeEscalated,
    DisputeOpened,
    DisputeReopened,
    DomainEvent,
    EvidenceAdded,
    EvidenceRemoved,
    EvidenceRequested,
    MediatorAssigned,
    MessagePosted,
    PaymentFailed,
    PaymentRequested,
    PaymentSucceeded,
    PayoutFailed,
    RefundCompleted,
    RefundFailed,
    RefundScheduled,
    ReturnReceived,
    ReturnRequired,
    ReturnShipped,
    ReviewOverdue,
    SolutionAccepted,
    SolutionProposed,
    SolutionRejected,
    WebhookEndpointDisabled,
)
from fairdeal.domain.order import Order
from fairdeal.domain.roles import Actor, Role
from fairdeal.services.email_context import email_context
from fairdeal.services.ports import Clock, IdGenerator, StoredEvent, Transaction, User

log = logging.getLogger("fairdeal.notifications")

RELAY = "notifications"
# The deadlines that decide against a party when they pass, and so earn a reminder.
REMINDED_KINDS = frozenset(
    {
        "seller_response",
        "buyer_answer",
        "evidence_request",
        "decision_response",
        "return_shipment",
        "return_confirmation",
    }
)
# After the n-th failed attempt the next one waits about RETRY_DELAYS[n - 1] (the last one
# repeating), with jitter, until the first attempt is GIVE_UP_AFTER old: then it has failed.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
JITTER = 0.1
GIVE_UP_AFTER = timedelta(days=3)
# An endpoint whose deliveries failed for this long, with no success in between, is disabled.
DISABLE_AFTER = timedelta(days=3)


# --- what the relay reads and writes ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    owner_id: str
    url: str
    events: list[str]
    secret: str
    status: str  # active | disabled
    created_at: datetime
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    previous_secret: str | None = None  # still signing, until previous_secret_until
    previous_secret_until: datetime | None = None

    def wants(self, event_type: str) -> bool:
        return self.status == "active" and ("*" in self.events or event_type in self.events)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    event_id: str
    event_type: str
    channel: str  # email | webhook
    target: str  # user id | endpoint id
    address: str  # email address | URL
    message_id: str
    payload: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery row: as claimed for sending, or as listed to the platform."""

    seq: int
    event_id: str
    event_type: str
    channel: str
    target: str
    address: str
    message_id: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    first_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    last_status_code: int | None = None
    claim: str | None = None
    secret: str | None = None  # the endpoint's, for a claimed webhook
    endpoint_status: str | None = None


@dataclass(frozen=True, slots=True)
class NewNotification:
    id: str
    user_id: str
    event_id: str
    event_type: str
    dispute_id: str | None
    title: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    event_id: str
    event_type: str
    dispute_id: str | None
    title: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reminder:
    dispute_id: str
    kind: str
    due_at: datetime
    party: str
    remind_at: datetime
    status: str  # scheduled | sent | cancelled | skipped


class Outbox(Protocol):
    """The relay's tables, and read-only snapshots of what it notifies about."""

    def publish(self) -> None: ...
    def lock_cursor(self, name: str) -> int | None:
        """The cursor's position, locked for this transaction; None when another worker
        holds it (PostgreSQL) -- that worker is fanning out right now."""
        ...

    def move_cursor(self, name: str, position: int, now: datetime) -> None: ...
    def events_after(self, position: int, limit: int) -> list[StoredEvent]: ...
    def disputes(self, ids: Sequence[str]) -> dict[str, Dispute]: ...
    def orders(self, ids: Sequence[str]) -> dict[str, Order]: ...
    def users(self, ids: Sequence[str]) -> dict[str, User]: ...
    def append_event(self, event: DomainEvent) -> str: ...

    def active_endpoints(self) -> list[Endpoint]: ...
    def add_endpoint(self, endpoint: Endpoint) -> None: ...
    def endpoint(self, endpoint_id: str) -> Endpoint | None: ...
    def endpoints_of(self, owner_id: str) -> list[Endpoint]: ...
    def endpoint_succeeded(self, endpoint_id: str) -> None: ...
    def endpoint_failed(self, endpoint_id: str, now: datetime) -> datetime | None:
        """Record a failure; returns since when the endpoint has been failing (None if it is
        gone or disabled)."""
        ...

    def disable_endpoint(self, endpoint_id: str, now: datetime) -> None:
        """Disable it and fail its pending deliveries."""
        ...

    def add_deliveries(self, rows: Sequence[NewDelivery], now: datetime) -> None: ...
    def claim_deliveries(
        self, now: datetime, limit: int, lease_until: datetime, claim: str
    ) -> list[Delivery]: ...
    def release(self, claim: str, seqs: Sequence[int], now: datetime) -> None: ...
    def record_attempt(
        self,
        delivery: Delivery,
        *,
        status: str,
        next_attempt_at: datetime,
        now: datetime,
        error: str | None,
        status_code: int | None,
    ) -> bool:
        """Mark the claimed delivery; False when the claim was lost (the lease ran out)."""
        ...

    def deliveries_of(self, target: str, after: int | None, limit: int) -> list[Delivery]: ...
    # Endpoint management (services/webhook_endpoints.py).
    def save_endpoint(self, endpoint: Endpoint) -> None: ...
    def delete_endpoint(self, endpoint_id: str) -> None: ...
    def delivery(self, target: str, seq: int) -> Delivery | None: ...
    def requeue_delivery(self, seq: int, now: datetime) -> None: ...

    def add_notifications(self, rows: Sequence[NewNotification]) -> None: ...
    def notifications_of(
        self, user_id: str, *, unread_only: bool, after: str | None, limit: int
    ) -> list[Notification]: ...
    def mark_read(self, user_id: str, ids: Sequence[str] | None, now: datetime) -> int: ...

    def schedule_reminders(self, dispute_id: str, wanted: Sequence[Reminder]) -> None:
        """Add the reminders not yet scheduled (the key ignores repeats) and cancel this
        dispute's scheduled ones that are no longer wanted."""
        ...

    def claim_reminders(self, now: datetime, limit: int) -> list[Reminder]: ...
    def settle_reminder(self, reminder: Reminder, status: str, event_id: str | None) -> None: ...


class NotificationUnitOfWork(Transaction, Protocol):
    """One transaction over the outbox; leaving it without ``commit`` rolls back."""

    @property
    def outbox(self) -> Outbox: ...
    def __enter__(self) -> NotificationUnitOfWork: ...


class NotificationUnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> NotificationUnitOfWork: ...


# --- the outside world ------------------------------------------------------------------------


class DeliveryError(Exception):
    """A send that did not succeed. ``permanent`` ones are not retried."""

    def __init__(
        self, message: str, *, permanent: bool = False, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.permanent, self.status_code = permanent, status_code


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    language: str


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    to_address: str
    to_name: str
    subject: str
    text: str
    html: str
    message_id: str
    headers: dict[str, str]


class EmailRenderer(Protocol):
    def render(
        self,
        template: str,
        language: str | None,
        context: Mapping[str, Any],
        *,
        time_zone: str | None = None,
    ) -> RenderedEmail | None:
        """The email of this template (``<event>.<role>``) in the recipient's language (English
        when none or an unknown one) and time zone (UTC when none); None when there is no such
        template (nothing to send)."""
        ...


class MailSession(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


class Mailer(Protocol):
    def session(self) -> AbstractContextManager[MailSession]: ...


class WebhookSession(Protocol):
    def deliver(self, url: str, secret: str, message_id: str, body: bytes) -> int:
        """POST the signed body; the status code of a 2xx answer, else DeliveryError."""
        ...


class WebhookSender(Protocol):
    def check_url(self, url: str) -> None:
        """Raise ValidationError for a URL that may not be a webhook target."""
        ...

    def session(self) -> AbstractContextManager[WebhookSession]: ...


def _real_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Notifier:
    """What the relay and the notification use cases need (wired in bootstrap)."""

    uow: NotificationUnitOfWorkFactory
    clock: Clock  # the product's clock (the sandbox's in sandbox mode): reminders
    renderer: EmailRenderer
    mailer: Mailer
    webhooks: WebhookSender
    ids: IdGenerator
    public_url: str = "http://127.0.0.1:8000"
    mail_domain: str = "fairdeal.invalid"
    # Deliveries are scheduled on the real clock: receivers live in real time.
    wall_clock: Callable[[], datetime] = _real_now
    lease: timedelta = timedelta(minutes=5)
    batch_size: int = 50
    jitter: Callable[[], float] = random.random
    # Called after each message is sent and before it is marked sent (tests, metrics).
    after_send: list[Callable[[Delivery], None]] = field(default_factory=list)


# --- step 1: fan-out --------------------------------------------------------------------------


def fan_out(n: Notifier, *, limit: int = 200) -> int:
    """Fan the next events of the feed out into deliveries, in-app notifications and the
    reminder schedule. Returns how many events were fanned out."""
    with n.uow() as uow:
        uow.outbox.publish()
        uow.commit()
    with n.uow() as uow:
        box = uow.outbox
        position = box.lock_cursor(RELAY)
        if position is None:
            return 0
        events = box.events_after(position, limit)
        if not events:
            return 0
        _fan_out_events(n, box, events)
        box.move_cursor(RELAY, events[-1].seq, n.wall_clock())
        uow.commit()
    return len(events)


def _fan_out_events(n: Notifier, box: Outbox, events: list[StoredEvent]) -> None:
    dispute_ids = sorted({str(e.data["dispute_id"]) for e in events if "dispute_id" in e.data})
    disputes = box.disputes(dispute_ids)
    orders = box.orders(sorted({d.order_id for d in disputes.values()}))
    user_ids: set[str] = set()
    for d in disputes.values():
        user_ids.update({d.buyer_id, d.seller_id})
        if d.mediation is not None and d.mediation.mediator_id:
            user_ids.add(d.mediation.mediator_id)
    users = box.users(sorted(user_ids))
    endpoints = box.active_endpoints()
    now = n.wall_clock()
    deliveries: list[NewDelivery] = []
    notes: list[NewNotification] = []
    rescheduled: set[str] = set()
    for event in events:
        body = event_body(event)
        for endpoint in endpoints:
            if endpoint.wants(event.type):
                deliveries.append(
                    NewDelivery(
                        event.id, event.type, "webhook", endpoint.id, endpoint.url, event.id, body
                    )
                )
        dispute = disputes.get(str(event.data.get("dispute_id", "")))
        if dispute is None:
            continue
        order = orders.get(dispute.order_id)
        heard = audience(event, dispute)
        for role in sorted(heard.in_app | heard.emails.keys()):
            user = users.get(_user_id(dispute, role) or "")
            if user is None:
                continue
            template = heard.emails.get(role)
            rendered = None
            if template is not None:
                context = email_context(n.public_url, event, dispute, order, user, role)
                rendered = n.renderer.render(
                    f"{template}.{role}", user.language, context, time_zone=user.time_zone
                )
            if rendered is not None and user.email:
                deliveries.append(
                    NewDelivery(
                        event.id,
                        event.type,
                        "email",
                        user.id,
                        user.email,
                        f"<{event.id}.{user.id}@{n.mail_domain}>",
                        _email_payload(rendered, user, event, dispute),
                    )
                )
            if role in heard.in_app:
                notes.append(
                    NewNotification(
                        n.ids.new("ntf"),
                        user.id,
                        event.id,
                        event.type,
                        dispute.id,
                        (rendered.subject if rendered else heard.title)[:300],
                        event.created_at,
                    )
                )
        if dispute.id not in rescheduled:
            rescheduled.add(dispute.id)
            box.schedule_reminders(dispute.id, wanted_reminders(dispute, event.created_at))
    if deliveries:
        box.add_deliveries(deliveries, now)
    if notes:
        box.add_notifications(notes)


def event_body(event: StoredEvent) -> str:
    """The webhook body: the event exactly as ``GET /api/v1/events`` shows it."""
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "created_at": _ts(event.created_at),
            "data": event.data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _email_payload(rendered: RenderedEmail, user: User, event: StoredEvent, d: Dispute) -> str:
    return json.dumps(
        {
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "to_name": user.name,
            "language": rendered.language,
            "headers": {
                "X-Fairdeal-Event": event.type,
                "X-Fairdeal-Event-Id": event.id,
                "X-Fairdeal-Dispute": d.id,
                # When it happened on the product's clock (the sandbox's in sandbox mode), so a
                # sandbox email is dated in the sandbox's time like the dispute it describes.
                "Date": format_datetime(event.created_at.astimezone(UTC), usegmt=True),
            },
        },
        ensure_ascii=False,
    )


def _user_id(dispute: Dispute, role: str) -> str | None:
    if role == "buyer":
        return dispute.buyer_id
    if role == "seller":
        return dispute.seller_id
    if role == "mediator" and dispute.mediation is not None:
        return dispute.mediation.mediator_id
    return None


def _other(role: str) -> str:
    return "seller" if role == "buyer" else "buyer"


# --- who hears of what ------------------------------------------------------------------------

PARTIES = frozenset({"buyer", "seller"})


@dataclass(frozen=True, slots=True)
class Happening:
    """One dispute event as the audience rules see it: who acted (a role, None where no one
    did) and who is on the case (the parties, and the mediator once one is assigned)."""

    data: Mapping[str, Any]
    by: str | None
    on_case: frozenset[str]


Recipients = Callable[[Happening], Iterable[str]]
Author = Callable[[Happening], str | None]


def _to(*roles: str) -> Recipients:
    return lambda _: roles


def _nobody(_: Happening) -> frozenset[str]:
    return frozenset()


def _everyone_on_case(h: Happening) -> frozenset[str]:
    return h.on_case


def _the_other_party(h: Happening) -> set[str]:
    return {_other(h.by)} if h.by in PARTIES else set()


def _readers_of_message(h: Happening) -> set[str]:
    if h.by not in PARTIES:
        return set(PARTIES)
    return {_other(h.by)} | (h.on_case & {"mediator"})


def _the_requested_party(h: Happening) -> list[str]:
    return [str(h.data.get("party"))]


def _the_mediator_if_challenged(h: Happening) -> frozenset[str]:
    return h.on_case & {"mediator"} if h.data.get("response") == "challenged" else frozenset()


def _the_reminded_parties(h: Happening) -> list[str]:
    parties = h.data.get("parties")
    return [str(p) for p in parties] if isinstance(parties, list) else []


def _the_actor(h: Happening) -> str | None:
    return h.by


def _the_mediator(_: Happening) -> str | None:
    """A mediator's action even when an admin took it: the case's mediator is not told."""
    return "mediator"


def _no_author(_: Happening) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Notice:
    """How the relay tells of one kind of event: the in-app title; who gets an email (by
    role), with the template named after the event's type unless ``template`` says; whose
    action it is (the author does not see it in-app, everyone else on the case does)."""

    title: str
    emails: Recipients = _nobody
    author: Author = _no_author
    template: str | None = None
    # A reminder is for the parties it reminds, not for everyone on the case.
    in_app_for_emailed_only: bool = False


UPDATED = "The dispute was updated"
# Who hears of what, by event class: a new event class without a line here is shown in-app
# to everyone on its case under its type name, and emailed to no one.
NOTICES: dict[type[DomainEvent], Notice] = {
    DisputeOpened: Notice("A dispute was opened", _to("seller", "buyer"), _the_actor),
    DisputeEdited: Notice(UPDATED),
    SolutionProposed: Notice("A new solution was proposed", _the_other_party, _the_actor),
    # Whoever proposed the solution hears that the other party answered it.
    SolutionAccepted: Notice("A solution was accepted", _the_other_party, _the_actor),
    SolutionRejected: Notice("A solution was rejected", _the_other_party, _the_actor),
    MessagePosted: Notice("New message", _readers_of_message, _the_actor),
    EvidenceAdded: Notice("New evidence", author=_the_actor),
    EvidenceRemoved: Notice(UPDATED),
    DisputeEscalated: Notice("The dispute went to a mediator", _everyone_on_case),
    MediatorAssigned: Notice(UPDATED),
    EvidenceRequested: Notice(
        "The mediator asked for evidence", _the_requested_party, _the_mediator
    ),
    DecisionProposed: Notice("The mediator proposed a decision", _everyone_on_case, _the_mediator),
    DecisionAnswered: Notice(UPDATED, _the_mediator_if_challenged, template="decision.challenged"),
    ReviewOverdue: Notice(UPDATED),
    ReturnRequired: Notice(UPDATED, _to("buyer", "seller"), template="return.due"),
    DisputeClosed: Notice("The dispute is closed", _everyone_on_case),
    DisputeCancelled: Notice("The buyer cancelled the dispute", _to("seller"), _the_actor),
    DisputeReopened: Notice("The buyer reopened the dispute", _to("seller"), _the_actor),
    ReturnShipped: Notice("The return was shipped", _to("seller"), _the_actor),
    ReturnReceived: Notice("The return arrived", _to("buyer"), _the_actor),
    RefundScheduled: Notice("Refund scheduled", _to("buyer")),
    RefundCompleted: Notice("Refund completed", _to("buyer")),
    RefundFailed: Notice("The refund failed", _to("buyer")),
    PayoutFailed: Notice("The payout to the seller failed", _to("seller")),
    # A money movement's own events are the marketplace's (webhooks, /events): the parties
    # hear of their money through refund.* and payout.failed.
    PaymentRequested: Notice("Payment requested", in_app_for_emailed_only=True),
    PaymentSucceeded: Notice("Payment confirmed", in_app_for_emailed_only=True),
    PaymentFailed: Notice("Payment failed", in_app_for_emailed_only=True),
    DeadlineReminded: Notice(
        "Reminder: a deadline is near", _the_reminded_parties, in_app_for_emailed_only=True
    ),
}
_CLASSES_BY_NAME = {cls.__name__: cls for cls in EVENT_CLASSES}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who hears of one event: emails as role -> template, and the roles whose in-app list
    shows it under ``title``."""

    emails: dict[str, str]
    in_app: frozenset[str]
    title: str


def audience(event: StoredEvent, dispute: Dispute) -> Audience:
    """Emails go to whoever the event asks to act, or whose case it decides; the in-app list
    shows every event to the people on the case but its author."""
    on_case = set(PARTIES)
    if dispute.mediation is not None and dispute.mediation.mediator_id:
        on_case.add("mediator")
    if event.event_class is None:
        cls, by = _class_and_actor_of_unrecorded_event(event, dispute)
    else:
        cls, by = _CLASSES_BY_NAME.get(event.event_class), event.by
    notice = NOTICES.get(cls) if cls is not None else None
    if notice is None:
        notice = Notice(event.type)
    happening = Happening(event.data, by.value if by else None, frozenset(on_case))
    template = notice.template or event.type
    emails = {role: template for role in notice.emails(happening)}
    if notice.in_app_for_emailed_only:
        in_app = frozenset(emails)
    else:
        in_app = frozenset(on_case - {notice.author(happening) or ""})
    return Audience(emails, in_app, f"{notice.title} (dispute {dispute.id})")


def _class_and_actor_of_unrecorded_event(
    event: StoredEvent, dispute: Dispute
) -> tuple[type[DomainEvent] | None, Role | None]:
    """For an event stored before its class and actor were recorded (migration 0010): the
    class whose payload keys the data has (the most specific, as several classes share a
    type), and the actor found by reloading the dispute and searching it, as the relay did
    before."""
    fitting = [
        cls
        for cls in EVENT_CLASSES
        if cls.type == event.type and _payload_keys(cls) <= event.data.keys()
    ]
    cls = max(fitting, key=lambda c: len(_payload_keys(c)), default=None)
    wanted = {name: event.data.get(name) for name in ("solution_id", "message_id", "evidence_id")}
    solution_author = next(
        (s.proposed_by for s in dispute.solutions if s.id == wanted["solution_id"]), None
    )
    by: Role | None = None
    if cls in (DisputeOpened, DisputeCancelled, DisputeReopened, ReturnShipped):
        by = Role.BUYER
    elif cls is ReturnReceived:
        by = Role.SELLER
    elif cls is SolutionProposed:
        by = solution_author
    elif cls in (SolutionAccepted, SolutionRejected) and solution_author in _PARTY_ROLES:
        by = Role(_other(solution_author.value))
    elif cls is MessagePosted:
        by = next((m.author_role for m in dispute.messages if m.id == wanted["message_id"]), None)
    elif cls is EvidenceAdded:
        by = next((e.added_by for e in dispute.evidence if e.id == wanted["evidence_id"]), None)
    return cls, by


_PARTY_ROLES = (Role.BUYER, Role.SELLER)


def _payload_keys(cls: type[DomainEvent]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} - DomainEvent._ENVELOPE


# --- reminders --------------------------------------------------------------------------------


def wanted_reminders(dispute: Dispute, seen_at: datetime) -> list[Reminder]:
    """The reminders this dispute's deadlines call for. A deadline that already falls within
    the reminder window when first seen gets none: the email that set it names it."""
    if not dispute.is_open:
        return []
    hours = timedelta(hours=dispute.policy.deadlines.reminder_hours)
    wanted = []
    for deadline in dispute.pending_deadlines():
        if deadline.kind not in REMINDED_KINDS or not deadline.fires:
            continue
        remind_at = deadline.due_at - hours
        status = "scheduled" if remind_at > seen_at else "skipped"
        wanted.append(
            Reminder(dispute.id, deadline.kind, deadline.due_at, deadline.party, remind_at, status)
        )
    return wanted


def emit_due_reminders(n: Notifier, *, limit: int = 200) -> int:
    """Turn the reminders that fell due into ``deadline.reminder`` events (in the same
    transaction as the schedule's row is settled: each at most once). Returns how many."""
    now = n.clock.now()
    emitted = 0
    with n.uow() as uow:
        box = uow.outbox
        due = box.claim_reminders(now, limit)
        if not due:
            return 0
        disputes = box.disputes(sorted({r.dispute_id for r in due}))
        for reminder in due:
            dispute = disputes.get(reminder.dispute_id)
            deadline = _still_pending(dispute, reminder, now)
            if dispute is None or deadline is None:
                box.settle_reminder(reminder, "cancelled", None)  # they acted, or it passed
                continue
            parties = _parties_to_remind(dispute, reminder)
            if not parties:
                box.settle_reminder(reminder, "cancelled", None)
                continue
            event_id = box.append_event(
                DeadlineReminded(
                    now,
                    reminder.kind,
                    reminder.due_at,
                    reminder.party,
                    parties,
                    deadline[0],
                    deadline[1],
                    dispute_id=dispute.id,
                    order_id=dispute.order_id,
                    status=dispute.status.value,
                )
            )
            box.settle_reminder(reminder, "sent", event_id)
            emitted += 1
        uow.commit()
    return emitted


def _still_pending(
    dispute: Dispute | None, reminder: Reminder, now: datetime
) -> tuple[str, str] | None:
    if dispute is None or not dispute.is_open or reminder.due_at <= now:
        return None
    for deadline in dispute.pending_deadlines():
        if deadline.kind == reminder.kind and deadline.due_at == reminder.due_at:
            return deadline.on_expiry, deadline.explanation
    return None


def _parties_to_remind(dispute: Dispute, reminder: Reminder) -> list[str]:
    if reminder.party != "both":
        return [reminder.party]
    parties = ["buyer", "seller"]
    decision = dispute.mediation.decision if dispute.mediation else None
    if reminder.kind == "decision_response" and decision is not None:
        # A party that already answered the decision has acted.
        parties = [p for p in parties if p not in decision.responses]
    return parties


# --- step 3: sending --------------------------------------------------------------------------


def send_due(n: Notifier, *, limit: int | None = None) -> int:
    """Claim the deliveries due now, send them, mark each right after it is sent. Returns
    how many were claimed (sent, failed, or handed back for later)."""
    now = n.wall_clock()
    claim = secrets.token_hex(8)
    with n.uow() as uow:
        claimed = uow.outbox.claim_deliveries(now, limit or n.batch_size, now + n.lease, claim)
        uow.commit()
    if not claimed:
        return 0
    # Stop well inside the lease: past it another worker may claim (and send) these too.
    stop_at = now + n.lease / 2
    with _Sessions(n.mailer, n.webhooks) as sessions:
        for index, delivery in enumerate(claimed):
            if index and n.wall_clock() > stop_at:
                rest = [d.seq for d in claimed[index:]]
                with n.uow() as uow:
                    uow.outbox.release(claim, rest, n.wall_clock())
                    uow.commit()
                break
            _send_one(n, delivery, sessions)
    return len(claimed)


class _Sessions:
    """The batch's SMTP session and HTTP client, each opened at its first use (and the SMTP
    one again after an error), all closed at the end of the batch."""

    def __init__(self, mailer: Mailer, webhooks: WebhookSender) -> None:
        self.mailer, self.webhooks = mailer, webhooks
        self.mail: tuple[AbstractContextManager[MailSession], MailSession] | None = None
        self.http: tuple[AbstractContextManager[WebhookSession], WebhookSession] | None = None

    def __enter__(self) -> _Sessions:
        return self

    def send_email(self, email: OutgoingEmail) -> None:
        if self.mail is None:
            opened = self.mailer.session()
            self.mail = (opened, opened.__enter__())
        try:
            self.mail[1].send(email)
        except DeliveryError:
            self._close_mail()
            raise

    def deliver(self, url: str, secret: str, message_id: str, body: bytes) -> int:
        if self.http is None:
            opened = self.webhooks.session()
            self.http = (opened, opened.__enter__())
        return self.http[1].deliver(url, secret, message_id, body)

    def _close_mail(self) -> None:
        mail, self.mail = self.mail, None
        if mail is not None:
            try:
                mail[0].__exit__(None, None, None)
            except Exception:  # a session that broke cannot be closed politely
                log.debug("closing the mail session failed", exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self._close_mail()
        http, self.http = self.http, None
        if http is not None:
            http[0].__exit__(None, None, None)


def _send_one(n: Notifier, delivery: Delivery, sessions: _Sessions) -> None:
    error: DeliveryError | None = None
    status_code: int | None = None
    try:
        if delivery.channel == "email":
            sessions.send_email(_outgoing(delivery))
        else:
            if delivery.endpoint_status != "active" or delivery.secret is None:
                raise DeliveryError("the endpoint is disabled", permanent=True)
            status_code = sessions.deliver(
                delivery.address, delivery.secret, delivery.message_id, delivery.payload.encode()
            )
    except DeliveryError as failed:
        error = failed
        status_code = failed.status_code
    except Exception as failed:  # a bug in a sender must not stop the others
        log.exception("sending delivery %s failed unexpectedly", delivery.seq)
        error = DeliveryError(f"{type(failed).__name__}: {failed}")
    if error is None:
        for hook in n.after_send:
            hook(delivery)
    now = n.wall_clock()
    with n.uow() as uow:
        box = uow.outbox
        if error is None:
            box.record_attempt(
                delivery,
                status="sent",
                next_attempt_at=delivery.next_attempt_at,
                now=now,
                error=None,
                status_code=status_code,
            )
            if delivery.channel == "webhook":
                box.endpoint_succeeded(delivery.target)
        else:
            first = delivery.first_attempt_at or now
            gave_up = error.permanent or now - first >= GIVE_UP_AFTER
            box.record_attempt(
                delivery,
                status="failed" if gave_up else "pending",
                next_attempt_at=now + retry_delay(delivery.attempts, n.jitter()),
                now=now,
                error=str(error)[:2000],
                status_code=status_code,
            )
            if delivery.channel == "webhook" and delivery.endpoint_status == "active":
                _endpoint_failed(n, box, delivery, now)
        uow.commit()
    if error is not None:
        log.info(
            "%s delivery %s (%s) failed on attempt %d: %s",
            delivery.channel,
            delivery.seq,
            delivery.event_type,
            delivery.attempts,
            error,
        )


def _endpoint_failed(n: Notifier, box: Outbox, delivery: Delivery, now: datetime) -> None:
    since = box.endpoint_failed(delivery.target, now)
    if since is None or now - since < DISABLE_AFTER:
        return
    box.disable_endpoint(delivery.target, now)
    box.append_event(
        WebhookEndpointDisabled(
            n.clock.now(),
            endpoint_id=delivery.target,
            url=delivery.address,
            failing_since=_ts(since),
            disabled_at=_ts(now),
            reason=f"every delivery failed for {DISABLE_AFTER.days} days",
        )
    )
    log.warning("webhook endpoint %s disabled after failing since %s", delivery.target, since)


def retry_delay(attempts: int, jitter: float) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt; ``jitter`` in [0, 1)
    spreads it by +-10% so that retries of many deliveries do not arrive together."""
    base = RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]
    return base * (1 - JITTER + 2 * JITTER * jitter)


def _outgoing(delivery: Delivery) -> OutgoingEmail:
    parts = json.loads(delivery.payload)
    return OutgoingEmail(
        to_address=delivery.address,
        to_name=str(parts.get("to_name", "")),
        subject=str(parts["subject"]),
        text=str(parts["text"]),
        html=str(parts["html"]),
        message_id=delivery.message_id,
        headers={str(k): str(v) for k, v in dict(parts.get("headers", {})).items()},
    )


def relay_step(n: Notifier) -> int:
    """One round of the relay: fan out, emit due reminders, send. Returns the work done
    (0: nothing was waiting)."""
    return fan_out(n) + emit_due_reminders(n) + send_due(n)


def relay_until_idle(n: Notifier, *, rounds: int = 10_000) -> int:
    """Relay until nothing is waiting now (tests, ``worker --once``)."""
    total = 0
    for _ in range(rounds):
        done = relay_step(n)
        if not done:
            break
        total += done
    return total


# --- the platform's webhook endpoints ---------------------------------------------------------


def new_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def subscribed_events(events: Sequence[str]) -> list[str]:
    """The event types an endpoint asks for, each once, in the order given; refused when
    empty or naming an unknown type (``*`` is every type)."""
    wanted = list(dict.fromkeys(str(e) for e in events))
    if not wanted:
        raise ValidationError("events must name at least one event type, or '*'", field="events")
    unknown = [e for e in wanted if e != "*" and e not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            f"unknown event type(s): {', '.join(unknown)}; see API.md for the types",
            field="events",
        )
    return wanted


def create_endpoint(n: Notifier, actor: Actor, *, url: str, events: Sequence[str]) -> Endpoint:
    """Register a webhook endpoint for the platform; its secret is returned here."""
    _require_platform(actor)
    url = url.strip()
    n.webhooks.check_url(url)
    wanted = subscribed_events(events)
    endpoint = Endpoint(
        id=n.ids.new("whe"),
        owner_id=actor.user_id,
        url=url,
        events=wanted,
        secret=new_secret(),
        status="active",
        created_at=n.clock.now(),
    )
    with n.uow() as uow:
        uow.outbox.add_endpoint(endpoint)
        uow.commit()
    return endpoint


def get_endpoint(n: Notifier, actor: Actor, endpoint_id: str) -> Endpoint:
    _require_platform(actor)
    with n.uow(write=False) as uow:
        endpoint = uow.outbox.endpoint(endpoint_id)
    if endpoint is None or (actor.role is Role.PLATFORM and endpoint.owner_id != actor.user_id):
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return endpoint


def list_endpoints(n: Notifier, actor: Actor) -> list[Endpoint]:
    _require_platform(actor)
    with n.uow(write=False) as uow:
        return uow.outbox.endpoints_of(actor.user_id)


def endpoint_deliveries(
    n: Notifier, actor: Actor, endpoint_id: str, *, after: int | None, limit: int
) -> list[Delivery]:
    endpoint = get_endpoint(n, actor, endpoint_id)
    with n.uow(write=False) as uow:
        return uow.outbox.deliveries_of(endpoint.id, after, limit)


def _require_platform(actor: Actor) -> None:
    from fairdeal.domain.errors import Forbidden

    if actor.role not in (Role.PLATFORM, Role.ADMIN):
        raise Forbidden("only the platform manages webhook endpoints")


# --- in-app notifications ---------------------------------------------------------------------


def list_notifications(
    n: Notifier, actor: Actor, *, unread_only: bool, after: str | None, limit: int
) -> list[Notification]:
    with n.uow(write=False) as uow:
        return uow.outbox.notifications_of(
            actor.user_id, unread_only=unread_only, after=after, limit=limit
        )


def mark_read(n: Notifier, actor: Actor, ids: Sequence[str] | None) -> int:
    """Mark the caller's notifications read: these, or all of them (``ids`` None)."""
    with n.uow() as uow:
        marked = uow.outbox.mark_read(actor.user_id, ids, n.clock.now())
        uow.commit()
    return marked
