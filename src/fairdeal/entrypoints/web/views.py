"""Presentation helpers for the templates: the progress chart, which buttons a solution gets,
the refund schedule, the rule book. No rules are decided here: what may be done comes from
``allowed_actions``. The words shared with the emails (labels, money, moments, deadline words,
outcome and timeline texts) live in ``fairdeal.wording`` and are re-exported here for the
templates (``v.kind_label`` ...)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from fairdeal import i18n
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
from fairdeal.domain.money import minimum_claim
from fairdeal.domain.order import Order
from fairdeal.domain.policy import Policy
from fairdeal.entrypoints.refusals import engine_sentence, sentence
from fairdeal.i18n import _, ngettext
from fairdeal.services.disputes import DisputeView
from fairdeal.services.metrics import Parties
from fairdeal.wording import DeadlineWords as DeadlineWords
from fairdeal.wording import condition_label as condition_label
from fairdeal.wording import deadline_words as deadline_words
from fairdeal.wording import decided_by_label as decided_by_label
from fairdeal.wording import kind_label as kind_label
from fairdeal.wording import money as money
from fairdeal.wording import outcome_text as outcome_text
from fairdeal.wording import reason_text as reason_text
from fairdeal.wording import reason_title_in as reason_title_in
from fairdeal.wording import reason_title_of
from fairdeal.wording import result_label as result_label
from fairdeal.wording import role_label as role_label
from fairdeal.wording import status_label as status_label
from fairdeal.wording import timeline_text as timeline_text
from fairdeal.wording import when_text as when_text


def solution_status_label(status: str) -> str:
    return {
        "pending": _("Waiting for an answer"),
        "accepted": _("Accepted"),
        "rejected": _("Rejected"),
        "superseded": _("Replaced by a newer offer"),
        "withdrawn": _("Withdrawn"),
    }.get(status, status)


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


@functools.lru_cache(maxsize=64)
def zone_options(selected: str) -> Markup:
    """The <option>s of the time-zone switch at the foot of every page, ``selected`` marked.
    Built once per process and zone: the template's loop over ~520 zones (and the listing of
    the installed zones, a walk of the tz database's folders) was a sixth of the inbox's CPU
    (docs/performance.md, "Web pages")."""
    return Markup("").join(
        Markup(
            "<option selected>{}</option>" if zone == selected else "<option>{}</option>"
        ).format(zone)
        for zone in _zone_names()
    )


@functools.cache
def _zone_names() -> tuple[str, ...]:
    return tuple(i18n.zone_names())


def metric_flag_badges(dispute: Parties, metric_flags: Mapping[str, Sequence[str]]) -> Markup:
    """The metrics' flags on a dispute for mediators (services/metrics.py, docs/metrics.md),
    each a badge linking to its numbers; empty when nothing is flagged. Written here, not by a
    template: the queue shows them on every row, and a macro with two translated badges per
    row was a seventh of the queue's CPU (docs/performance.md, "Web pages")."""
    badges = []
    for flag in metric_flags.get(dispute.id, ()):
        if flag == "serial_disputer":
            href, text = f"/admin/metrics#buyer-{dispute.buyer_id}", _("Buyer: serial disputer")
        elif flag == "seller_above_norm":
            href = f"/admin/metrics#seller-{dispute.seller_id}"
            text = _("Seller: disputes far above the norm")
        else:
            continue
        badges.append(f'<a class="badge flag" href="{escape(href)}">{escape(text)}</a>')
    if not badges:
        return Markup("")
    return Markup(f'<p class="meta metric-flags">{" ".join(badges)}</p>')


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


def when_html(moment: datetime) -> Markup:
    """A moment as the reader reads it, in a <time> with its machine-readable value (the
    forms macro ``when``; the lists call it directly, a macro call per row being costly).
    Written with ``escape`` and an f-string, as the other per-row helpers here:
    ``Markup.format`` (a ``string.Formatter``) was a fifteenth of the queue's CPU."""
    return Markup(f'<time datetime="{escape(iso(moment))}">{escape(when_text(moment))}</time>')


def countdown_html(moment: datetime, now: datetime) -> Markup:
    """How long until (or since) ``moment``, ticking in the browser (the forms macro
    ``countdown``). Translated as the templates' gettext does: the message, then its
    values escaped into it."""
    if moment > now:
        text = Markup(_("%(left)s left")) % {"left": duration(moment - now)}
    elif now - moment > timedelta(minutes=1):
        text = Markup(_("%(late)s late")) % {"late": duration(now - moment)}
    else:
        text = Markup(_("due now"))
    return Markup(
        f'<span class="countdown" role="timer" data-countdown="{escape(iso(moment))}"'
        f' data-now="{escape(iso(now))}">{text}</span>'
    )


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


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:\+00:00|Z)")
_DISPUTE_ID = re.compile(r"\s*\((?:dsp_\w+)\)|\s+dsp_\w+")


def refusal(text: str, order: Order | None = None) -> Markup:
    """A rule's refusal for people: as a sentence, its UTC timestamps as <time> elements
    (shown in local time), item ids as the items' titles, dispute ids left out (the page
    links the dispute instead). Not in English: the engine's sentence translated where the
    pages know it (``refusals.engine_sentence``)."""
    if i18n.current().language != i18n.DEFAULT:
        text = engine_sentence(text) or text
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
    return reason_title_of(dispute, dispute.reason)


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
