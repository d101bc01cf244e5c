"""The engine's states and texts said to people, in their language: labels for the codes, money
and moments for the reader's locale and time zone, what a deadline does to the person reading
it, the outcome's explanation and the timeline. Shared by the web pages (``entrypoints/web/
views.py``) and the emails (``adapters/notifications/render.py``), so a buyer reads the same
words on the dispute page and in their inbox. The API keeps the engine's English."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fairdeal import i18n
from fairdeal.domain.dispute import Action, Dispute, Role, SolutionStatus
from fairdeal.domain.dispute.deadlines import Deadline
from fairdeal.domain.dispute.parts import TimelineEntry
from fairdeal.domain.money import Money, minor_units
from fairdeal.domain.policy import Policy
from fairdeal.i18n import _, ngettext, pgettext


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


def condition_label(condition: str) -> str:
    return {
        "as_expected": _("Arrived as expected"),
        "empty": _("The parcel was empty"),
        "different_item": _("A different item was inside"),
        "damaged": _("The item was damaged"),
    }.get(condition, condition)


def when_text(moment: datetime | None) -> str:
    """A moment as the reader reads it: their language, their time zone, the zone named."""
    if moment is None:
        return ""
    return i18n.when(moment)


def money(value: Money | None) -> str:
    """An amount for the reader's locale: '1 234,50 ₽', '¥1,234.50', '$12.50'."""
    if value is None:
        return ""
    return i18n.format_money(value.minor, value.currency, minor_units(value.currency))


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
    if role in (Role.MEDIATOR, Role.ADMIN):
        return _staff_words(deadline, at)
    if deadline.kind == "decision_response":
        return _decision_words(dispute, role.value, at)
    words = _WORDS_BY_KIND.get(deadline.kind)
    if words is None:
        return DeadlineWords(False, "", "")
    return words(deadline, dispute, role.value, at, allowed)


def _seller_response_words(
    deadline: Deadline, dispute: Dispute, me: str, at: str, allowed: set[Action]
) -> DeadlineWords:
    """The seller's first answer to the opened dispute."""
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


def _negotiation_words(
    deadline: Deadline, dispute: Dispute, me: str, at: str, allowed: set[Action]
) -> DeadlineWords:
    """Both sides offering: silence hands the case to a mediator."""
    # The reader's move when the other side's newest pending offer is newer than the
    # reader's own newest one: after a counter-offer the ball is with the other side.
    theirs = [
        s.updated_at
        for s in dispute.solutions
        if s.status is SolutionStatus.PENDING and s.proposed_by.value == _other(me)
    ]
    mine = [s.updated_at for s in dispute.solutions if s.proposed_by.value == me]
    waiting_on_me = (
        Action.ACCEPT_SOLUTION in allowed and bool(theirs) and (not mine or max(theirs) > max(mine))
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


def _buyer_answer_words(
    deadline: Deadline, dispute: Dispute, me: str, at: str, allowed: set[Action]
) -> DeadlineWords:
    """The buyer's answer to the seller's offer."""
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


def _evidence_request_words(
    deadline: Deadline, dispute: Dispute, me: str, at: str, allowed: set[Action]
) -> DeadlineWords:
    """Evidence a mediator asked one party for."""
    if deadline.party == me:
        return DeadlineWords(
            True,
            _("It is your move: send the evidence the mediator asked for."),
            (
                _("If it does not arrive by %(when)s, the dispute closes in the seller's favour.")
                if me == "buyer"
                else _(
                    "If it does not arrive by %(when)s, the dispute closes in the buyer's favour."
                )
            )
            % {"when": at},
        )
    return DeadlineWords(
        False,
        _("Nothing to do now: the mediator asked the seller for evidence.")
        if deadline.party == "seller"
        else _("Nothing to do now: the mediator asked the buyer for evidence."),
        _("If it does not arrive by %(when)s, the dispute closes in your favour.") % {"when": at},
    )


def _mediator_review_words(
    deadline: Deadline, dispute: Dispute, me: str, at: str, allowed: set[Action]
) -> DeadlineWords:
    """A mediator reviewing the case: nothing for the parties to do."""
    return DeadlineWords(
        False,
        _("Nothing to do now: a mediator is reviewing the case."),
        _("The mediator aims to decide by %(when)s. You can still add evidence and messages.")
        % {"when": at},
    )


def _return_shipment_words(
    deadline: Deadline, dispute: Dispute, me: str, at: str, allowed: set[Action]
) -> DeadlineWords:
    """The buyer shipping the item back."""
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


def _return_confirmation_words(
    deadline: Deadline, dispute: Dispute, me: str, at: str, allowed: set[Action]
) -> DeadlineWords:
    """The seller confirming the returned parcel."""
    if me == "seller":
        return DeadlineWords(
            True,
            _("It is your move: confirm what arrived in the returned parcel."),
            _("If you do not confirm by %(when)s, the refund is paid to the buyer.") % {"when": at},
        )
    return DeadlineWords(
        False,
        _("Nothing to do now: the seller confirms the returned parcel."),
        _("If the seller does not confirm by %(when)s, your refund is paid then.") % {"when": at},
    )


_WORDS_BY_KIND: dict[str, Callable[[Deadline, Dispute, str, str, set[Action]], DeadlineWords]] = {
    "seller_response": _seller_response_words,
    "negotiation": _negotiation_words,
    "buyer_answer": _buyer_answer_words,
    "evidence_request": _evidence_request_words,
    "mediator_review": _mediator_review_words,
    "return_shipment": _return_shipment_words,
    "return_confirmation": _return_confirmation_words,
}


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


def timeline_text(entry: TimelineEntry, dispute: Dispute | None = None) -> str:
    """A timeline entry in the reader's language, saying as much as the English summary (which
    the API shows): the amounts, who, which solution, the reason, the deadline. The entry keeps
    only its English summary, so the details are read back from it (the engine writes each
    type's summary in one fixed shape, domain/dispute/); a shape not recognised falls back to
    the sentence of the type. Words a person typed (a request's text) stay as typed."""
    if i18n.current().language == i18n.DEFAULT:
        return entry.summary
    who = role_label(entry.actor_role.value)
    detailed = _timeline_details(entry, dispute, who)
    if detailed is not None:
        return detailed
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
        "decision.rejected": _(
            "%(who)s rejected the mediator's decision without new evidence; the decision stands."
        )
        % {"who": who},
        "decision.challenged": _(
            "%(who)s challenged the mediator's decision with new evidence; it goes back to the"
            " mediator."
        )
        % {"who": who},
        "decision.final": _("The mediator's decision became final."),
        "deadline.expired": _("A deadline passed."),
        "return.required": _("The item is to be shipped back to the seller."),
        "return.shipped": _("The buyer shipped the return."),
        "return.received": _("The seller received the return."),
        "refund.scheduled": _("The refund was scheduled."),
        "refund.completed": _("The refund was completed."),
        "refund.failed": _("The payment provider refused the refund."),
        "policy.warning": _("The rules warned the buyer about the chosen reason."),
    }
    return texts.get(entry.type, entry.summary)


# A solution as the engine's summaries describe it (domain/dispute/checks.py: describe), and
# the mediator's decision of one or more of them.
_SOLUTION = (
    r"(?P<kind>refund only|return and refund), (?P<value>\d+(?:\.\d+)?) (?P<currency>[A-Z]{3})"
)
_DECISION = re.compile(
    r"^Mediator (?P<verb>proposed a decision|replaced the decision): (?P<rest>.*)\.$"
)
_SOLUTIONS_IN_TEXT = re.compile(_SOLUTION)


def _amount(match: re.Match[str]) -> str:
    return money(Money.of(match["value"], match["currency"]))


def _solution_words(match: re.Match[str]) -> str:
    """ "refund only, 12.00 EUR" in the reader's words."""
    kind = "refund_only" if match["kind"] == "refund only" else "return_and_refund"
    return _("%(kind)s, %(amount)s") % {"kind": kind_label(kind).lower(), "amount": _amount(match)}


def _timeline_details(entry: TimelineEntry, dispute: Dispute | None, who: str) -> str | None:
    """The entry said with its details, or None when its type has none or its summary is not
    in the shape the engine writes."""
    summary = entry.summary
    if entry.type == "deadline.expired":
        return _expired_words(summary)
    if entry.type == "dispute.escalated":
        return _escalation_words(summary, who)
    if entry.type == "decision.proposed":
        return _decision_words_of(summary)
    if entry.type == "return.received":
        return _received_words(summary)
    if dispute is not None and entry.type == "dispute.closed" and dispute.outcome is not None:
        return outcome_text(dispute)
    if dispute is not None and entry.type == "policy.warning":
        return _policy_words(dispute, "warning", summary)
    if dispute is not None and entry.type == "dispute.edited":
        return _edit_words(summary, dispute)
    shape = _SHAPES.get(entry.type)
    found = shape[0].match(summary) if shape else None
    if shape is None or found is None:
        return None
    return shape[1](found, who, dispute)


def _decision_words_of(summary: str) -> str | None:
    found = _DECISION.match(summary)
    if found is None:
        return None
    options = _(" or ").join(_solution_words(m) for m in _SOLUTIONS_IN_TEXT.finditer(found["rest"]))
    if found["verb"] == "replaced the decision":
        return _("The mediator replaced the decision: %(options)s.") % {"options": options}
    return _("The mediator proposed a decision: %(options)s.") % {"options": options}


def _return_days(found: re.Match[str]) -> str:
    days = int(found["days"])
    return ngettext(
        "The buyer ships the item back within %(n)d day with a tracking number; the refund"
        " follows the seller's confirmation.",
        "The buyer ships the item back within %(n)d days with a tracking number; the refund"
        " follows the seller's confirmation.",
        days,
    ) % {"n": days}


def _evidence_asked(found: re.Match[str]) -> str:
    asked = (
        _("The mediator asked the buyer for evidence: “%(text)s”")
        if found["party"] == "buyer"
        else _("The mediator asked the seller for evidence: “%(text)s”")
    )
    return asked % {"text": found["text"]}


def _final_decision(found: re.Match[str]) -> str:
    solution = _solution_words(found)
    if found["how"] == "became final unchallenged":
        return _("No one challenged the mediator's decision, so it became final: %(solution)s.") % {
            "solution": solution
        }
    return _("The mediator made the decision final: %(solution)s.") % {"solution": solution}


def _opened(found: re.Match[str], dispute: Dispute | None) -> str:
    title = found["title"] if dispute is None else _policy_words(dispute, "title", found["title"])
    return _("The buyer opened a dispute: %(reason)s.") % {"reason": title}


Sayer = Callable[[re.Match[str], str, Dispute | None], str]
_AMOUNT_AT = r"(?P<value>\d+(?:\.\d+)?) (?P<currency>[A-Z]{3})"
# Each type whose summary carries details: the shape the engine writes it in (domain/dispute/,
# ``_log``) and how the reader's language says it, from the summary's parts and who acted.
_SHAPES: dict[str, tuple[re.Pattern[str], Sayer]] = {
    "solution.proposed": (
        re.compile(rf"^(?:Buyer|Seller) offered a new solution: {_SOLUTION}\.$"),
        lambda m, who, _d: (
            _("%(who)s offered: %(solution)s.") % {"who": who, "solution": _solution_words(m)}
        ),
    ),
    "solution.edited": (
        re.compile(rf"^Solution changed: {_SOLUTION}\.$"),
        lambda m, who, _d: (
            _("%(who)s changed the offer: %(solution)s.")
            % {"who": who, "solution": _solution_words(m)}
        ),
    ),
    "solution.accepted": (
        re.compile(rf"^(?:Buyer|Seller) accepted: {_SOLUTION}\.$"),
        lambda m, who, _d: (
            _("%(who)s accepted: %(solution)s.") % {"who": who, "solution": _solution_words(m)}
        ),
    ),
    "solution.rejected": (
        re.compile(rf"^(?:Buyer|Seller) rejected: {_SOLUTION}\.$"),
        lambda m, who, _d: (
            _("%(who)s rejected: %(solution)s.") % {"who": who, "solution": _solution_words(m)}
        ),
    ),
    "decision.final": (
        re.compile(
            r"^The mediator's decision (?P<how>became final unchallenged|was made final by the"
            rf" mediator): {_SOLUTION}\.$"
        ),
        lambda m, _who, _d: _final_decision(m),
    ),
    "refund.scheduled": (
        re.compile(rf"^Refund of {_AMOUNT_AT} to the original payment method scheduled\.$"),
        lambda m, _who, _d: (
            _("A refund of %(amount)s to the original payment method was scheduled.")
            % {"amount": _amount(m)}
        ),
    ),
    "refund.completed": (
        re.compile(rf"^Refund of {_AMOUNT_AT} completed\.$"),
        lambda m, _who, _d: _("The refund of %(amount)s was completed.") % {"amount": _amount(m)},
    ),
    "refund.failed": (
        re.compile(rf"^The payment provider refused the refund of {_AMOUNT_AT}"),
        lambda m, _who, _d: (
            _(
                "The payment provider refused the refund of %(amount)s; the money stays set aside"
                " for the buyer."
            )
            % {"amount": _amount(m)}
        ),
    ),
    "return.required": (
        re.compile(r"^The buyer ships the item back within (?P<days>\d+) days"),
        lambda m, _who, _d: _return_days(m),
    ),
    "return.shipped": (
        re.compile(r"^Buyer shipped the return \((?P<tracking>.*)\)\.$"),
        lambda m, _who, _d: (
            _("The buyer shipped the return (%(tracking)s).") % {"tracking": m["tracking"]}
        ),
    ),
    "evidence.requested": (
        re.compile(
            r"^Mediator asked the (?P<party>buyer|seller) for evidence: (?P<text>.*)$", re.DOTALL
        ),
        lambda m, _who, _d: _evidence_asked(m),
    ),
    "dispute.opened": (
        re.compile(r"^Buyer opened a dispute: (?P<title>.*)\.$", re.DOTALL),
        lambda m, _who, d: _opened(m, d),
    ),
}


def _policy_words(dispute: Dispute, field: str, english: str) -> str:
    """A reason's title or warning as the policy wrote it, translated by the reason it is of."""
    for code, reason in dispute.policy.reasons.items():
        if getattr(reason, field, None) == english:
            return reason_text(code, field, english)
    return english


_REASON_CHANGE = re.compile(r"reason \S+ -> (?P<code>[\w-]+)")


def _edit_words(summary: str, dispute: Dispute) -> str | None:
    """ "Buyer changed reason a -> b, description." said with the new reason's title."""
    if not summary.startswith("Buyer changed "):
        return None
    changed = _REASON_CHANGE.search(summary)
    described = summary.rstrip(".").endswith("description")
    if changed is None:
        return _("The buyer changed the description.") if described else None
    title = reason_title_of(dispute, changed["code"])
    if described:
        return _("The buyer changed the reason to “%(reason)s” and the description.") % {
            "reason": title
        }
    return _("The buyer changed the reason to “%(reason)s”.") % {"reason": title}


def _expired_words(summary: str) -> str | None:
    return {
        "The seller did not answer in time.": _("The seller did not answer in time."),
        "The buyer did not answer the seller's offer.": _(
            "The buyer did not answer the seller's offer in time."
        ),
        "The buyer did not provide the requested evidence.": _(
            "The buyer did not provide the evidence the mediator asked for in time."
        ),
        "The seller did not provide the requested evidence.": _(
            "The seller did not provide the evidence the mediator asked for in time."
        ),
        "No one challenged the mediator's decision.": _(
            "No one challenged the mediator's decision in time."
        ),
        "The buyer did not ship the return in time.": _(
            "The buyer did not ship the return in time."
        ),
        "The seller did not confirm the return in time.": _(
            "The seller did not confirm the returned parcel in time."
        ),
    }.get(summary)


def _escalation_words(summary: str, who: str) -> str | None:
    if summary.endswith("escalated the dispute to a mediator."):
        return _("%(who)s escalated the dispute to a mediator.") % {"who": who}
    if summary.startswith("Buyer and seller did not agree in time"):
        return _("The buyer and the seller did not agree in time; a mediator takes over.")
    if summary.startswith("The seller reported a problem with the returned parcel"):
        return _("The seller reported a problem with the returned parcel; a mediator takes over.")
    return None


def _received_words(summary: str) -> str | None:
    return {
        "Seller received the return: as expected.": _(
            "The seller received the return: it arrived as expected."
        ),
        "Seller received the return: empty.": _(
            "The seller received the return: the parcel was empty."
        ),
        "Seller received the return: different item.": _(
            "The seller received the return: a different item was inside."
        ),
        "Seller received the return: damaged.": _(
            "The seller received the return: the item was damaged."
        ),
    }.get(summary)


def reason_title_of(dispute: Dispute, code: str) -> str:
    """A reason of the dispute's policy as its title in the reader's language (never the code)."""
    return reason_title_in(dispute.policy, dispute.category, code)


def reason_title_in(policy: Policy, category: str | None, code: str) -> str:
    """A reason of ``policy`` (of the ``category``'s catalogue first) as its title in the
    reader's language; the lists have the policy and category, not the dispute."""
    reason = policy.catalogue(category).get(code) or policy.reasons.get(code)
    if reason is None:
        return code.replace("_", " ")
    return reason_text(reason.code, "title", reason.title)


# The policy's reason texts are translated by the reason's code and field (msgctxt
# "reason:<code>:<field>", extracted from the TOML files by fairdeal.i18n_extract).
def reason_text(code: str, field: str, english: str | None) -> str:
    if not english:
        return english or ""
    return pgettext(f"reason:{code}:{field}", english)
