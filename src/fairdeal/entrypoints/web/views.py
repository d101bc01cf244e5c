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
from fairdeal.domain.dispute.deadlines import Deadline
from fairdeal.domain.dispute.parts import TimelineEntry
from fairdeal.domain.money import Money, minimum_claim
from fairdeal.domain.order import Order
from fairdeal.domain.policy import Policy
from fairdeal.entrypoints.web import i18n
from fairdeal.entrypoints.web.i18n import _, ngettext, pgettext
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
    """A moment in UTC, for the machine-minded (staff tooltips)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def when_text(moment: datetime | None) -> str:
    """A moment as the reader reads it: their language, their time zone, the zone named."""
    if moment is None:
        return ""
    return i18n.when(moment)


# --- solutions ------------------------------------------------------------------------------


def solution_buttons(view: DisputeView, actor: Actor, solution: Solution) -> set[str]:
    """Which of accept / reject / edit this solution offers the viewer: the action must be in
    ``allowed_actions``, and the solution one that the action applies to."""
    allowed = sensible_actions(view.dispute, actor.role, set(view.allowed_actions))
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
    """An amount for the reader's locale: '1 234,50 ₽', '¥1,234.50', '$12.50'."""
    if value is None:
        return ""
    from fairdeal.domain.money import minor_units

    return i18n.format_money(value.minor, value.currency, minor_units(value.currency))


def kind_options() -> list[tuple[str, str]]:
    return [
        ("refund_only", kind_label("refund_only")),
        ("return_and_refund", kind_label("return_and_refund")),
    ]


def warning_text(code: str) -> str:
    """What a scam warning code means for the buyer."""
    return _(scams.WARNING_TEXT.get(code, code.replace("_", " ")))


def N_(text: str) -> str:
    """Marks a text for the catalogue (``make messages``) where it is defined; it is translated
    where it is shown, for the reader of that request."""
    return text


# What to do instead, beside each scam warning on a message.
WARNING_ADVICE: dict[str, str] = {
    scams.PAY_OUTSIDE_PLATFORM: N_(
        "Do not send or accept money outside Fairdeal: ask for a refund solution in this "
        "dispute, and never share card numbers or payment accounts in messages."
    ),
    scams.CLOSE_FOR_PROMISE: N_(
        "Keep the dispute open until the refund or the replacement has arrived: ask the seller "
        "to propose it as a solution, which you can accept here."
    ),
    scams.FEEDBACK_PRESSURE: N_(
        "Do not trade reviews for money: a refund is decided in this dispute, and your review "
        "should say what really happened."
    ),
    scams.TOKEN_PRICE_REORDER: N_(
        "Do not place a new order to get the item: ask for a replacement or a refund as a "
        "solution in this dispute."
    ),
    scams.CHANGE_REASON_NOT_NEEDED: N_(
        "Keep the reason that describes the real problem: change it only if it was chosen "
        "by mistake, never because the seller asks."
    ),
    scams.RETURN_OUTSIDE_SOLUTION: N_(
        "Send the item back only under an accepted return solution, with its label and "
        "address, so that the refund is tied to the delivery."
    ),
}


def warning_advice(code: str) -> str:
    """What the buyer should do instead of what a warned message asks."""
    advice = WARNING_ADVICE.get(code)
    return _(advice) if advice else ""


def scam_warning_count(dispute: Dispute) -> int:
    """How many scam warnings the messages of a dispute raised (a marker for mediators)."""
    return sum(len(m.warnings) for m in dispute.messages)


def minimum(currency: str) -> str:
    return money(minimum_claim(currency))


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


# --- the engine's words, said to people (translated here, by stable codes) -------------------


def warning_text_for(code: str) -> str:
    """A scam warning in the reader's language (the API keeps scams.WARNING_TEXT)."""
    texts = {
        scams.PAY_OUTSIDE_PLATFORM: _(
            "Money paid or refunded outside Fairdeal is not protected: only a solution accepted"
            " in the dispute moves money, and refunds go to your original payment method."
        ),
        scams.CLOSE_FOR_PROMISE: _(
            "Agreements in messages have no force: only an accepted solution moves money, and"
            " a closed dispute cannot be opened again for the same item."
        ),
        scams.TOKEN_PRICE_REORDER: _(
            "A new order for a token price is protected only up to that price: if the promise"
            " is broken you can claim back cents, and this dispute will be lost."
        ),
        scams.CHANGE_REASON_NOT_NEEDED: _(
            "Changing the reason to “not needed” says the seller did nothing wrong: such"
            " disputes are usually lost and you may have to pay to ship the item back."
        ),
    }
    return texts.get(code) or warning_text(code)


@dataclass(frozen=True, slots=True)
class DeadlineWords:
    """A deadline said to one reader: whether it is their move, what to do (or that there is
    nothing to do), and exactly what the clock does to them when it runs out."""

    mine: bool
    move: str
    silence: str


def _other(role: str) -> str:
    return "seller" if role == "buyer" else "buyer"


def deadline_words(
    deadline: Deadline, dispute: Dispute, role: Role, allowed: set[Action] | None = None
) -> DeadlineWords:
    """What silence does to *this* reader, from the deadline's kind and ``on_expiry`` (the
    same table the clock runs, domain/dispute/deadlines.py), never from its English text."""
    at = when_text(deadline.due_at)
    allowed = allowed or set()
    kind = deadline.kind
    if role in (Role.MEDIATOR, Role.ADMIN):
        return _staff_words(deadline, at)
    me = role.value
    if kind == "seller_response":
        if me == "seller":
            return DeadlineWords(
                True,
                _("It is your move: answer the buyer — accept, or make a counter-offer."),
                _(
                    "If you do not answer by %(when)s, the dispute closes in the buyer's favour"
                    " on the buyer's solution."
                )
                % {"when": at},
            )
        return DeadlineWords(
            False,
            _("Nothing to do now: the seller has to answer."),
            _(
                "If the seller does not answer by %(when)s, the dispute closes in your favour"
                " on your solution."
            )
            % {"when": at},
        )
    if kind == "negotiation":
        # The reader's move when the other side's newest pending offer is newer than the
        # reader's own newest one: after a counter-offer the ball is with the other side.
        theirs = [
            s.updated_at
            for s in dispute.solutions
            if s.status is SolutionStatus.PENDING and s.proposed_by.value == _other(me)
        ]
        mine = [s.updated_at for s in dispute.solutions if s.proposed_by.value == me]
        waiting_on_me = (
            Action.ACCEPT_SOLUTION in allowed
            and bool(theirs)
            and (not mine or max(theirs) > max(mine))
        )
        silence = _("Nothing is lost if you do not agree: a mediator takes over on %(when)s.") % {
            "when": at
        }
        if waiting_on_me:
            move = (
                _(
                    "It is your move: accept the seller's offer, make your own, or wait for the mediator."
                )
                if me == "buyer"
                else _(
                    "It is your move: accept the buyer's solution, make a counter-offer, or wait for the mediator."
                )
            )
            return DeadlineWords(True, move, silence)
        return DeadlineWords(
            False,
            _("Nothing to do now: the seller has your offer.")
            if me == "buyer"
            else _("Nothing to do now: the buyer has your offer."),
            silence,
        )
    if kind == "buyer_answer":
        if me == "buyer":
            return DeadlineWords(
                True,
                _("It is your move: accept or reject the seller's offer."),
                _("If you do not answer by %(when)s, the dispute closes on the seller's offer.")
                % {"when": at},
            )
        return DeadlineWords(
            False,
            _("Nothing to do now: the buyer has your offer."),
            _("If the buyer does not answer by %(when)s, the dispute closes on your offer.")
            % {"when": at},
        )
    if kind == "evidence_request":
        if deadline.party == me:
            return DeadlineWords(
                True,
                _("It is your move: send the evidence the mediator asked for."),
                (
                    _(
                        "If it does not arrive by %(when)s, the dispute closes in the seller's favour."
                    )
                    if me == "buyer"
                    else _(
                        "If it does not arrive by %(when)s, the dispute closes in the buyer's"
                        " favour."
                    )
                )
                % {"when": at},
            )
        return DeadlineWords(
            False,
            _("Nothing to do now: the mediator asked the seller for evidence.")
            if deadline.party == "seller"
            else _("Nothing to do now: the mediator asked the buyer for evidence."),
            _("If it does not arrive by %(when)s, the dispute closes in your favour.")
            % {"when": at},
        )
    if kind == "decision_response":
        return _decision_words(dispute, me, at)
    if kind == "mediator_review":
        return DeadlineWords(
            False,
            _("Nothing to do now: a mediator is reviewing the case."),
            _("The mediator aims to decide by %(when)s. You can still add evidence and messages.")
            % {"when": at},
        )
    if kind == "return_shipment":
        if me == "buyer":
            return DeadlineWords(
                True,
                _("It is your move: ship the item back and enter the tracking number."),
                _(
                    "If no tracking number is entered by %(when)s, the dispute closes in the"
                    " seller's favour with no refund."
                )
                % {"when": at},
            )
        return DeadlineWords(
            False,
            _("Nothing to do now: the buyer ships the item back."),
            _(
                "If no tracking number is entered by %(when)s, the dispute closes in your"
                " favour with no refund."
            )
            % {"when": at},
        )
    if kind == "return_confirmation":
        if me == "seller":
            return DeadlineWords(
                True,
                _("It is your move: confirm what arrived in the returned parcel."),
                _("If you do not confirm by %(when)s, the refund is paid to the buyer.")
                % {"when": at},
            )
        return DeadlineWords(
            False,
            _("Nothing to do now: the seller confirms the returned parcel."),
            _("If the seller does not confirm by %(when)s, your refund is paid then.")
            % {"when": at},
        )
    return DeadlineWords(False, "", "")


def _decision_words(dispute: Dispute, me: str, at: str) -> DeadlineWords:
    decision = dispute.mediation.decision if dispute.mediation else None
    responses = decision.responses if decision else {}
    mine = responses.get(me)
    theirs = responses.get(_other(me))
    if mine is not None and mine.response == "accepted":
        if theirs is not None and theirs.response == "accepted":
            return DeadlineWords(
                False,
                _("Both parties accepted the decision."),
                _("The dispute closes on the accepted terms on %(when)s.") % {"when": at},
            )
        return DeadlineWords(
            False,
            _("You accepted the decision. Nothing to do now."),
            (
                _(
                    "The seller may still challenge it with new evidence until %(when)s. If the"
                    " seller does not, the dispute closes then on the accepted terms."
                )
                if me == "buyer"
                else _(
                    "The buyer may still challenge it with new evidence until %(when)s. If the"
                    " buyer does not, the dispute closes then on the accepted terms."
                )
            )
            % {"when": at},
        )
    if mine is not None:
        return DeadlineWords(
            False,
            _("Your answer is recorded. Nothing to do now."),
            _("Unless the mediator changes it, the decision becomes final on %(when)s.")
            % {"when": at},
        )
    return DeadlineWords(
        True,
        _("It is your move: accept the decision, or challenge it with new evidence."),
        _("If you do nothing, the decision becomes final on %(when)s.") % {"when": at},
    )


def _staff_words(deadline: Deadline, at: str) -> DeadlineWords:
    party = {
        "buyer": _("the buyer"),
        "seller": _("the seller"),
        "both": _("both parties"),
        "mediator": _("the mediator"),
    }.get(deadline.party, deadline.party)
    happens = {
        "close_for_buyer": _("the dispute closes in the buyer's favour"),
        "close_for_seller": _("the dispute closes in the seller's favour"),
        "close_on_seller_solution": _("the dispute closes on the seller's offer"),
        "escalate": _("a mediator takes over"),
        "decision_final": _("the decision becomes final"),
        "flag_overdue": _("the case is flagged overdue"),
        "execute_refund": _("the refund is paid to the buyer"),
    }.get(deadline.on_expiry, deadline.on_expiry)
    return DeadlineWords(
        deadline.party == "mediator",
        _("Waiting for %(party)s.") % {"party": party},
        _("On %(when)s %(what)s.") % {"when": at, "what": happens},
    )


def outcome_text(dispute: Dispute) -> str:
    """The outcome's explanation in the reader's language, from its codes (the API keeps the
    engine's English ``explanation`` and ``rule``)."""
    o = dispute.outcome
    if o is None:
        return ""
    amount = money(o.refund)
    kind = kind_label(o.solution_kind.value).lower() if o.solution_kind else ""
    by = o.decided_by.value
    if by == "agreement":
        return _("The parties agreed: %(kind)s, %(amount)s.") % {"kind": kind, "amount": amount}
    if by == "seller_timeout":
        return _(
            "The seller did not answer in time, so the dispute closed on the buyer's solution:"
            " %(amount)s."
        ) % {"amount": amount}
    if by == "buyer_timeout":
        return _(
            "The buyer did not answer the seller's offer in time, so the offer took effect:"
            " %(amount)s."
        ) % {"amount": amount}
    if by == "return_timeout":
        return _("The return was not shipped with a tracking number in time, so no refund is due.")
    if by == "buyer":
        return _("The buyer cancelled the dispute.")
    if "evidence_request" in o.rule:
        if o.result.value == "buyer_favour":
            return _(
                "The seller did not provide the evidence the mediator asked for, so the"
                " dispute closed in the buyer's favour: %(amount)s."
            ) % {"amount": amount}
        return _(
            "The buyer did not provide the evidence the mediator asked for, so the dispute"
            " closed in the seller's favour with no refund."
        )
    if "return_confirm" in o.rule:
        return _(
            "The buyer shipped the return and the seller did not confirm it in time, so the"
            " refund was paid: %(amount)s."
        ) % {"amount": amount}
    if o.refund.minor == 0:
        return _("The mediator decided: no refund.")
    return _("The mediator decided: %(kind)s, %(amount)s.") % {"kind": kind, "amount": amount}


def timeline_text(entry: TimelineEntry) -> str:
    """A timeline entry in the reader's language, by its type; the English summary (which
    the API shows) where a type carries words typed by a person or the policy."""
    if i18n.current().language == i18n.DEFAULT:
        return entry.summary
    who = role_label(entry.actor_role.value)
    texts = {
        "dispute.opened": _("The buyer opened the dispute."),
        "dispute.edited": _("The buyer changed the dispute."),
        "dispute.escalated": _("The dispute went to a mediator."),
        "dispute.cancelled": _("The buyer cancelled the dispute."),
        "dispute.reopened": _("The buyer reopened the dispute."),
        "dispute.closed": _("The dispute closed."),
        "solution.proposed": _("%(who)s made an offer.") % {"who": who},
        "solution.edited": _("%(who)s changed an offer.") % {"who": who},
        "solution.accepted": _("%(who)s accepted an offer.") % {"who": who},
        "solution.rejected": _("%(who)s rejected an offer.") % {"who": who},
        "evidence.added": _("%(who)s added evidence.") % {"who": who},
        "evidence.removed": _("%(who)s removed evidence.") % {"who": who},
        "message.posted": _("%(who)s sent a message.") % {"who": who},
        "mediation.assigned": _("A mediator took the case."),
        "mediation.overdue": _("The mediator's review target passed."),
        "evidence.requested": _("The mediator asked for evidence."),
        "evidence_request.fulfilled": _("The requested evidence was provided."),
        "decision.proposed": _("The mediator proposed a decision."),
        "decision.accepted": _("%(who)s accepted the mediator's decision.") % {"who": who},
        "decision.rejected": _("%(who)s rejected the mediator's decision.") % {"who": who},
        "decision.challenged": _("%(who)s challenged the mediator's decision with new evidence.")
        % {"who": who},
        "decision.final": _("The mediator's decision became final."),
        "deadline.expired": _("A deadline passed."),
        "return.required": _("The item is to be shipped back to the seller."),
        "return.shipped": _("The buyer shipped the return."),
        "return.received": _("The seller received the return."),
        "refund.scheduled": _("The refund was scheduled."),
        "refund.completed": _("The refund was completed."),
        "policy.warning": _("The rules warned the buyer about the chosen reason."),
    }
    return texts.get(entry.type, entry.summary)


# The policy's reason texts are translated by the reason's code and field (msgctxt
# "reason:<code>:<field>", extracted from the TOML files by fairdeal.i18n_extract).
def reason_text(code: str, field: str, english: str | None) -> str:
    if not english:
        return english or ""
    return pgettext(f"reason:{code}:{field}", english)


# --- the rule book, for people ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    anchor: str
    title: str
    text: str


def policy_rules(policy: Policy) -> list[Rule]:
    """Every clock of the policy and what it does, in plain words (anchors are the deadline
    kinds, so a deadline on a dispute page links to its own rule)."""
    d = policy.deadlines

    def days(n: int) -> str:
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}

    rules = [
        Rule(
            "seller_response",
            _("The seller answers"),
            _(
                "The seller has %(days)s from the opening of a dispute to answer: accept the"
                " buyer's solution or make a counter-offer. If the seller does not answer, the"
                " dispute closes in the buyer's favour on the buyer's solution."
            )
            % {"days": days(d.seller_response_days)},
        ),
        Rule(
            "negotiation",
            _("Buyer and seller negotiate"),
            _(
                "Buyer and seller have %(days)s from the opening to agree. An offer is only"
                " binding once the other side accepts it on the dispute page. If they have not"
                " agreed by then, nothing is lost: a mediator takes over."
            )
            % {"days": days(d.negotiation_days)},
        ),
    ]
    if policy.mediation.manual_escalation:
        rules.append(
            Rule(
                "escalation",
                _("Asking for a mediator"),
                _(
                    "Once the seller has answered, either party may press “Escalate to a"
                    " mediator” at any time."
                ),
            )
        )
    else:
        rules.append(
            Rule(
                "escalation",
                _("Why there is no “Escalate” button"),
                _(
                    "Under these rules a mediator steps in on their own when the negotiation"
                    " time runs out, or straight away when a returned parcel is disputed. You"
                    " do not need to ask."
                ),
            )
        )
    if d.buyer_answer_days is not None:
        rules.append(
            Rule(
                "buyer_answer",
                _("The buyer answers an offer"),
                _(
                    "After a seller's counter-offer, the buyer has %(days)s to accept or reject"
                    " it. If the buyer does neither, the dispute closes on the seller's offer."
                )
                % {"days": days(d.buyer_answer_days)},
            )
        )
    rules += [
        Rule(
            "mediator_review",
            _("The mediator reviews"),
            _(
                "A mediator aims to decide within %(days)s of taking over. Both parties can"
                " still add evidence and messages while the mediator works."
            )
            % {"days": days(d.mediator_review_days)},
        ),
        Rule(
            "evidence_request",
            _("Evidence the mediator asks for"),
            _(
                "When the mediator asks one party for evidence, that party has %(days)s to"
                " provide it. If it does not arrive, the dispute closes in the other party's"
                " favour."
            )
            % {"days": days(d.evidence_request_days)},
        ),
        Rule(
            "decision_response",
            _("The mediator's decision"),
            _(
                "Both parties have %(days)s to accept the mediator's decision or challenge it"
                " with new evidence. Accepting does not close the dispute at once: the other"
                " party may still challenge until the time runs out. Unchallenged, the"
                " decision becomes final and the dispute closes on its terms."
            )
            % {"days": days(d.decision_response_days)},
        ),
        Rule(
            "return_shipment",
            _("Sending the item back"),
            _(
                "When a return is required, the buyer has %(days)s to ship the item back and"
                " enter the tracking number. Without a tracking number in time, the dispute"
                " closes in the seller's favour with no refund."
            )
            % {"days": days(d.return_ship_days)},
        ),
        Rule(
            "return_confirmation",
            _("Confirming the returned parcel"),
            _(
                "The seller has %(days)s after the return was shipped to confirm what"
                " arrived. If the seller does not confirm, the refund is paid to the buyer."
            )
            % {"days": days(d.return_confirm_days)},
        ),
        Rule(
            "refund",
            _("The refund"),
            _(
                "A refund goes to the original payment method only and arrives within"
                " %(days)s business days."
            )
            % {"days": d.refund_business_days},
        ),
        Rule(
            "cancel",
            _("Cancelling a dispute"),
            _(
                "The buyer may cancel an open dispute. Cancelling is not losing: while buyer"
                " protection lasts, the buyer can reopen it. After protection ends it cannot"
                " be reopened. Never cancel because the seller asks you to: a promise made in"
                " messages has no force."
            ),
        ),
        Rule(
            "protection",
            _("Buyer protection"),
            _(
                "A dispute about a parcel that has not arrived can be opened %(wait)s after"
                " the order shipped. After receipt, disputes are possible for another"
                " %(grace)s; the seller is paid only after that."
            )
            % {"wait": days(d.not_received_wait_days), "grace": days(d.post_receipt_grace_days)},
        ),
    ]
    return rules


def reason_title(dispute: Dispute) -> str:
    """The dispute's reason as its title in the reader's language (never the code)."""
    reason = dispute.policy.catalogue(dispute.category).get(dispute.reason)
    if reason is None:
        reason = dispute.policy.reasons.get(dispute.reason)
    if reason is None:
        return dispute.reason.replace("_", " ")
    return reason_text(reason.code, "title", reason.title)


def deadline_kind_label(kind: str) -> str:
    return {
        "seller_response": _("the seller's time to answer"),
        "negotiation": _("the negotiation time"),
        "buyer_answer": _("the buyer's time to answer an offer"),
        "evidence_request": _("an evidence request"),
        "decision_response": _("the time to answer a decision"),
        "mediator_review": _("the mediator's review target"),
        "return_shipment": _("the time to ship the return"),
        "return_confirmation": _("the seller's time to confirm the return"),
        "refund_completion": _("the refund's completion"),
    }.get(kind, kind.replace("_", " "))


def decision_status_label(status: str) -> str:
    return {
        "proposed": _("proposed"),
        "challenged": _("challenged"),
        "final": _("final"),
        "replaced": _("replaced"),
    }.get(status, status)


def response_label(response: str) -> str:
    return {
        "accepted": _("accepted"),
        "rejected": _("rejected"),
        "challenged": _("challenged with new evidence"),
    }.get(response, response)


def accepted_decision(dispute: Dispute, role: Role) -> bool:
    """Whether this reader accepted the mediator's decision now on the table."""
    decision = dispute.mediation.decision if dispute.mediation else None
    if decision is None or decision.status != "proposed":
        return False
    response = decision.responses.get(role.value)
    return response is not None and response.response == "accepted"


# Actions the engine still allows but that no longer make sense to offer once a mediator's
# decision is on the table (answer the decision instead) or once the reader accepted it.
_AFTER_DECISION = {Action.ACCEPT_SOLUTION, Action.REJECT_SOLUTION}
_AFTER_ACCEPTING = {
    Action.EDIT_SOLUTION,
    Action.PROPOSE_SOLUTION,
    Action.EDIT_DISPUTE,
    Action.CANCEL,
    Action.ACCEPT_DECISION,
    Action.REJECT_DECISION,
}


def sensible_actions(dispute: Dispute, role: Role, allowed: set[Action]) -> set[Action]:
    """What the page offers: ``allowed_actions`` less what would only confuse now."""
    shown = set(allowed)
    decision = dispute.mediation.decision if dispute.mediation else None
    if decision is not None and decision.status == "proposed" and role in (Role.BUYER, Role.SELLER):
        shown -= _AFTER_DECISION
        if accepted_decision(dispute, role):
            shown -= _AFTER_ACCEPTING
    return shown


def status_text(dispute: Dispute, role: Role) -> str:
    """The status badge, with the accepted-decision state spelled out."""
    if accepted_decision(dispute, role):
        return _("Decision accepted — waiting for the other party")
    return status_label(dispute.status.value)
