"""Presentation helpers for the templates: labels, the progress chart, deadlines phrased for
the person reading them, which buttons a solution gets, the refund schedule. No rules are
decided here: what may be done comes from ``allowed_actions``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from fairdeal.domain import scams
from fairdeal.domain.dispute import (
    Action,
    Actor,
    Dispute,
    Role,
    Solution,
    SolutionStatus,
    Status,
)
from fairdeal.domain.money import Money, minimum_claim
from fairdeal.domain.order import Order
from fairdeal.entrypoints.web.i18n import _, ngettext
from fairdeal.services.disputes import DisputeView


def status_label(status: str) -> str:
    return {
        "awaiting_seller_response": _("Waiting for the seller"),
        "negotiating": _("Negotiating"),
        "under_review": _("With a mediator"),
        "awaiting_return": _("Return due"),
        "return_in_transit": _("Return on its way"),
        "closed": _("Closed"),
        "cancelled": _("Cancelled"),
        "awaiting_shipment": _("Not shipped yet"),
        "awaiting_receipt": _("Shipped"),
        "received": _("Received"),
        "completed": _("Completed"),
    }.get(status, status.replace("_", " "))


def kind_label(kind: str) -> str:
    return {"refund_only": _("Refund only"), "return_and_refund": _("Return and refund")}.get(
        kind, kind
    )


def result_label(result: str) -> str:
    return {
        "buyer_favour": _("In the buyer's favour"),
        "seller_favour": _("In the seller's favour"),
        "settled": _("Settled by agreement"),
        "cancelled": _("Cancelled by the buyer"),
    }.get(result, result)


def decided_by_label(decided_by: str) -> str:
    return {
        "agreement": _("an accepted solution"),
        "seller_timeout": _("the seller's silence"),
        "buyer_timeout": _("the buyer's silence"),
        "mediator": _("the mediator's decision"),
        "return_timeout": _("a missed return"),
        "buyer": _("the buyer"),
    }.get(decided_by, decided_by)


def role_label(role: str) -> str:
    return {
        "buyer": _("Buyer"),
        "seller": _("Seller"),
        "mediator": _("Mediator"),
        "admin": _("Admin"),
        "system": _("Fairdeal"),
        "platform": _("Marketplace"),
    }.get(role, role)


def solution_status_label(status: str) -> str:
    return {
        "pending": _("Waiting for an answer"),
        "accepted": _("Accepted"),
        "rejected": _("Rejected"),
        "superseded": _("Replaced by a newer offer"),
        "withdrawn": _("Withdrawn"),
    }.get(status, status)


def condition_label(condition: str) -> str:
    return {
        "as_expected": _("Arrived as expected"),
        "empty": _("The parcel was empty"),
        "different_item": _("A different item was inside"),
        "damaged": _("The item was damaged"),
    }.get(condition, condition)


# --- the progress chart ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    label: str
    state: str  # done | current | todo | skipped


STEP_OF = {
    Status.AWAITING_SELLER_RESPONSE: 0,
    Status.NEGOTIATING: 1,
    Status.UNDER_REVIEW: 2,
    Status.AWAITING_RETURN: 3,
    Status.RETURN_IN_TRANSIT: 3,
    Status.CLOSED: 4,
    Status.CANCELLED: 4,
}


def progress(dispute: Dispute) -> list[Step]:
    """opened -> negotiation -> mediation -> return -> closed, the current step marked; a
    step the dispute went past without needing (no mediation, no return) is 'skipped'."""
    labels = [
        ("opened", _("Opened")),
        ("negotiation", _("Negotiation")),
        ("mediation", _("Mediation")),
        ("return", _("Return")),
        ("closed", _("Cancelled") if dispute.status is Status.CANCELLED else _("Closed")),
    ]
    current = STEP_OF[dispute.status]
    reached = {
        0: True,
        1: dispute.seller_answered_at is not None,
        2: dispute.mediation is not None,
        3: dispute.return_ is not None,
        4: not dispute.is_open,
    }
    steps = []
    for index, (key, label) in enumerate(labels):
        if index == current:
            state = "current"
        elif index < current:
            state = "done" if reached[index] else "skipped"
        else:
            state = "todo"
        steps.append(Step(key, label, state))
    return steps


# --- deadlines ------------------------------------------------------------------------------

_FOR_BUYER = [
    (r"\bbuyer and seller\b", "you and the seller"),
    (r"\bthe buyer does not\b", "you do not"),
    (r"\bthe buyer has not\b", "you have not"),
    (r"\bthe buyer's\b", "your"),
    (r"\bthe buyer\b", "you"),
]
_FOR_SELLER = [
    (r"\bbuyer and seller\b", "you and the buyer"),
    (r"\bthe seller does not\b", "you do not"),
    (r"\bthe seller has not\b", "you have not"),
    (r"\bthe seller's\b", "your"),
    (r"\bthe seller\b", "you"),
]


def for_viewer(text: str, role: Role) -> str:
    """A deadline's explanation (written about 'the buyer' and 'the seller') phrased for the
    party reading it: to the seller, "If the seller does not answer" reads "If you do not
    answer". Staff read it as written."""
    rules = {Role.BUYER: _FOR_BUYER, Role.SELLER: _FOR_SELLER}.get(role)
    if not rules:
        return text
    for pattern, replacement in rules:
        text = re.sub(pattern, _keep_case(replacement), text, flags=re.IGNORECASE)
    return text


def _keep_case(replacement: str) -> Callable[[re.Match[str]], str]:
    """The replacement, capitalised where the words it replaces began the sentence."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0)[0].isupper():
            return replacement[0].upper() + replacement[1:]
        return replacement

    return replace


def concerns(party: str, role: Role) -> bool:
    """Whether a deadline's party is the viewer (who has to act)."""
    return party == role.value or (party == "both" and role in (Role.BUYER, Role.SELLER))


def duration(span: timedelta) -> str:
    """A rough, readable length: '3 days 4 hours', '5 hours 10 minutes', '2 minutes'."""
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours and len(parts) < 2:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if not days and len(parts) < 2 and (minutes or not parts):
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts)


def iso(moment: datetime | None) -> str:
    """The machine-readable time of a <time datetime>: UTC, whole seconds, with a Z."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def utc_text(moment: datetime | None) -> str:
    """The fallback text inside <time>, replaced by the local time in the browser."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


# --- solutions ------------------------------------------------------------------------------


def solution_buttons(view: DisputeView, actor: Actor, solution: Solution) -> set[str]:
    """Which of accept / reject / edit this solution offers the viewer: the action must be in
    ``allowed_actions``, and the solution one that the action applies to."""
    allowed = set(view.allowed_actions)
    live = solution.status in (SolutionStatus.PENDING, SolutionStatus.REJECTED)
    mine = solution.author_id == actor.user_id and solution.proposed_by is actor.role
    theirs = solution.proposed_by in (Role.BUYER, Role.SELLER) and (
        solution.proposed_by is not actor.role
    )
    buttons = set()
    if live and theirs and Action.ACCEPT_SOLUTION in allowed:
        buttons.add("accept")
    if theirs and solution.status is SolutionStatus.PENDING and Action.REJECT_SOLUTION in allowed:
        buttons.add("reject")
    if live and mine and Action.EDIT_SOLUTION in allowed:
        buttons.add("edit")
    return buttons


def visible_solutions(dispute: Dispute) -> list[Solution]:
    """Live solutions first (side by side), then the ones that no longer apply."""
    live = [
        s
        for s in dispute.solutions
        if s.status in (SolutionStatus.PENDING, SolutionStatus.REJECTED)
    ]
    settled = [s for s in dispute.solutions if s not in live]
    return live + settled


# --- the refund schedule --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleStep:
    label: str
    at: datetime | None
    state: str  # done | current | todo


def refund_schedule(dispute: Dispute, now: datetime) -> list[ScheduleStep]:
    """initiated -> submitted to the bank -> confirmed, as the refund's money movement stands
    (docs/payments.md): confirmed only when the payment provider says so."""
    refund = dispute.refund
    if refund is None:
        return []
    completed = refund.status == "completed"
    failed = refund.status == "failed"
    submitted = completed or refund.status == "processing"
    last = _("Money back on the original payment method (expected by)")
    if completed:
        last = _("Confirmed by the payment provider")
    elif failed:
        last = _("The payment provider refused the refund: our team retries it or settles it")
    return [
        ScheduleStep(_("Refund initiated"), refund.initiated_at, "done"),
        ScheduleStep(
            _("Submitted to the bank"),
            None,
            "done" if completed else ("current" if submitted else "todo"),
        ),
        ScheduleStep(
            last,
            refund.completed_at or refund.expected_by,
            "done" if completed else ("current" if failed else "todo"),
        ),
    ]


def money(value: Money | None) -> str:
    return "" if value is None else str(value)


def kind_options() -> list[tuple[str, str]]:
    return [
        ("refund_only", kind_label("refund_only")),
        ("return_and_refund", kind_label("return_and_refund")),
    ]


def warning_text(code: str) -> str:
    """What a scam warning code means for the buyer."""
    return scams.WARNING_TEXT.get(code, code.replace("_", " "))


def minimum(currency: str) -> str:
    return str(minimum_claim(currency))


def sentence(text: str) -> str:
    """A rule's refusal as a sentence: capital first letter, full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:\+00:00|Z)")
_DISPUTE_ID = re.compile(r"\s*\((?:dsp_\w+)\)|\s+dsp_\w+")


def refusal(text: str, order: Order | None = None) -> Markup:
    """A rule's refusal for people: as a sentence, its UTC timestamps as <time> elements
    (shown in local time), item ids as the items' titles, dispute ids left out (the page
    links the dispute instead)."""
    text = sentence(text)
    if order is not None:
        for item in order.items:
            text = text.replace(f"item {item.id}", f"“{item.title}”").replace(item.id, item.title)
    text = _DISPUTE_ID.sub("", text)
    parts = []
    last = 0
    for match in _ISO_TIME.finditer(text):
        parts.append(escape(text[last : match.start()]))
        moment = datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
        parts.append(
            Markup('<time datetime="{}" data-local>{}</time>').format(iso(moment), utc_text(moment))
        )
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
