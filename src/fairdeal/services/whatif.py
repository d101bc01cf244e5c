"""The policy what-if: replay past disputes' recorded inputs (domain/dispute/inputs.py) under
another policy, in memory, and compare outcomes, refunds, escalations and durations with what
happened (docs/whatif.md).

The replay runs the domain itself: the dispute is opened again from its recorded opening,
every recorded command runs through the same line of ``handlers.STEPS`` at its recorded time,
and the deadlines the replayed policy sets fire at their due times in between (``expire``
acts at a deadline's due time whenever it runs, so the result does not depend on when a
worker ran). Nothing is written. Under the policy a dispute ran under, the replay gives back
exactly its recorded outcome (the test checks this on both presets).

Limits: a dispute opened before inputs were recorded cannot be replayed and is counted as
such; the order's eligibility checks at opening are not re-run (the order's state at the time
is not recorded); a recorded command the replayed policy refuses is skipped and counted."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from fairdeal.domain import commands as cmd
from fairdeal.domain.dispute import Dispute, SolutionKind, Status
from fairdeal.domain.dispute.aggregate import _check_opening_evidence
from fairdeal.domain.dispute.inputs import RecordedInput
from fairdeal.domain.errors import DomainError
from fairdeal.domain.money import Amount, Money
from fairdeal.domain.order import Order
from fairdeal.domain.policy import Policy
from fairdeal.domain.roles import SYSTEM, Actor
from fairdeal.services.context import Context
from fairdeal.services.handlers import STEPS, Step
from fairdeal.services.ports import DisputeFilter

PAGE = 500


@dataclass(frozen=True, slots=True)
class Ending:
    """How a dispute stands: its status, outcome, refund (minor units), whether it went to a
    mediator, and hours from opening to its end (None while open)."""

    status: str
    result: str | None
    decided_by: str | None
    rule: str | None
    refund_minor: int
    currency: str
    escalated: bool
    hours: float | None

    @classmethod
    def of(cls, d: Dispute) -> Ending:
        o = d.outcome
        ended = d.status in (Status.CLOSED, Status.CANCELLED) and d.closed_at is not None
        return cls(
            status=d.status.value,
            result=o.result.value if o else None,
            decided_by=o.decided_by.value if o else None,
            rule=o.rule if o else None,
            refund_minor=o.refund.minor if o else 0,
            currency=d.amount_paid.currency,
            escalated=d.mediation is not None,
            hours=round((d.closed_at - d.opened_at).total_seconds() / 3600, 1)
            if ended and d.closed_at
            else None,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "result": self.result,
            "decided_by": self.decided_by,
            "rule": self.rule,
            "refund": str(Money(self.refund_minor, self.currency).as_json()["value"]),
            "currency": self.currency,
            "escalated": self.escalated,
            "hours": self.hours,
        }


@dataclass(slots=True)
class Replay:
    dispute_id: str
    recorded: Ending
    replayed: Ending | None
    # Recorded commands the replayed policy refused (skipped), with why.
    refused: list[str] = field(default_factory=list)
    # Why the dispute could not be replayed at all (None: it was).
    unreplayable: str | None = None

    @property
    def changed(self) -> bool:
        return self.replayed is not None and (
            self.replayed.result,
            self.replayed.refund_minor,
            self.replayed.decided_by,
            self.replayed.escalated,
            self.replayed.status,
        ) != (
            self.recorded.result,
            self.recorded.refund_minor,
            self.recorded.decided_by,
            self.recorded.escalated,
            self.recorded.status,
        )


class _Files:
    def __init__(self, facts: dict[str, Any]) -> None:
        self.known = facts.get("files", {})

    def get(self, file_id: str) -> Any:
        found = self.known.get(file_id)
        if found is None:
            return None
        return SimpleNamespace(id=file_id, owner_id=found[0], content_type=found[1])


class _Users:
    def __init__(self, facts: dict[str, Any]) -> None:
        self.known = facts.get("users", {})

    def get(self, user_id: str) -> Any:
        role = self.known.get(user_id)
        return None if role is None else SimpleNamespace(id=user_id, role=role)


def _command(name: str, args: dict[str, Any]) -> Any:
    """The recorded command, rebuilt from its JSON."""
    kind = getattr(cmd, name)
    values: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, dict) and "value" in value and "field" in value:
            value = Amount(value["value"], value["currency"], value["field"])
        elif key == "solutions":
            value = tuple(
                cmd.DecisionOption(o["kind"], Amount(**o["amount"]), o.get("comment", ""))
                for o in value
            )
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return kind(**values)


def _reopened(recorded: RecordedInput, policy: Policy) -> tuple[Dispute, list[str]]:
    """The dispute as its recorded opening makes it under ``policy`` (raises DomainError where
    the policy refuses the opening itself)."""
    args, facts = json.loads(recorded.args), json.loads(recorded.facts)
    chosen = policy.reason(args["reason"], facts["category"])
    kind = SolutionKind(args["desired_outcome"])
    files = _Files(facts)
    evidence = [(f, files.known[f][1]) for f in args["evidence_file_ids"] if f in files.known]
    _check_opening_evidence(chosen, evidence)
    at = recorded.at
    paid = facts["amount_paid"]
    d = Dispute(
        id=facts.get("dispute_id") or "",
        order_id=facts["order_id"],
        item_ids=facts["item_ids"],
        buyer_id=facts["buyer_id"],
        seller_id=facts["seller_id"],
        policy=policy,
        status=Status.AWAITING_SELLER_RESPONSE,
        reason=chosen.code,
        category=facts["category"],
        description=args["description"],
        desired_outcome=kind,
        amount_paid=Money(int(paid["minor"]), paid["currency"]),
        opened_at=at,
        created_at=at,
        updated_at=at,
        payment_country=facts["payment_country"],
    )
    return d, [chosen.title, chosen.warning or ""]


def replay(stored: Dispute, policy: Policy, *, until: datetime, holidays: Any) -> Replay:
    """One dispute's recorded inputs under ``policy``, up to ``until``."""
    recorded = Ending.of(stored)
    inputs = stored.inputs
    if not inputs or inputs[0].command != "OpenDispute":
        return Replay(stored.id, recorded, None, unreplayable="opened before inputs were recorded")
    is_holiday = holidays_for(holidays, stored.payment_country)
    opening = inputs[0]
    try:
        d, (title, warning) = _reopened(opening, policy)
    except DomainError as refusal:
        return Replay(stored.id, recorded, None, unreplayable=f"the opening: {refusal.detail}")
    d.id = stored.id
    buyer = Actor(opening.actor_id, opening.actor_role)
    d.solutions.append(
        d._buyers_own_solution(buyer, d.desired_outcome, _opening_amount(opening), d.opened_at)
    )
    facts = json.loads(opening.facts)
    for file_id in json.loads(opening.args)["evidence_file_ids"]:
        if file_id in facts.get("files", {}):
            d._attach_evidence(buyer, file_id, facts["files"][file_id][1], "", d.opened_at)
    d._log(d.opened_at, "dispute.opened", buyer, f"Buyer opened a dispute: {title}.")
    if warning:
        d._log(d.opened_at, "policy.warning", SYSTEM, warning)
    result = Replay(stored.id, recorded, None)
    for entry in inputs[1:]:
        _fire_due(d, entry.at, is_holiday)
        facts = json.loads(entry.facts)
        command = _command(entry.command, json.loads(entry.args))
        order = SimpleNamespace(
            currency=facts["currency"],
            items=[],
            item_disputes={},
            window_open=lambda _now, f=facts: bool(f.get("window_open")),
        )
        uow = SimpleNamespace(files=_Files(facts), users=_Users(facts))
        actor = Actor(entry.actor_id, entry.actor_role)
        step = Step(actor, d, cast(Order, order), entry.at, cast(Any, uow), is_holiday)
        try:
            STEPS[type(command)].run(step, command)
        except DomainError as refusal:
            result.refused.append(f"{entry.at.isoformat()} {entry.command}: {refusal.detail}")
        d.take_settlement()
    _fire_due(d, until, is_holiday)
    result.replayed = Ending.of(d)
    return result


def _opening_amount(opening: RecordedInput) -> Money:
    args, facts = json.loads(opening.args), json.loads(opening.facts)
    return Amount(**args["amount"]).in_currency(facts["currency"])


def holidays_for(holidays: Any, country: str) -> Any:
    return lambda day: holidays.is_holiday(country, day)


def _fire_due(d: Dispute, until: datetime, is_holiday: Any) -> None:
    """Every deadline (and refund step) due at or before ``until``, each at its due time."""
    for _ in range(1000):
        if d.expire(now=until, is_holiday=is_holiday) is None:
            return
        d.take_settlement()


@dataclass(slots=True)
class Report:
    policy: str
    since: date
    replays: list[Replay]

    def totals(self, which: str) -> dict[str, Any]:
        endings = [getattr(r, which) for r in self.replays if r.replayed is not None]
        results: dict[str, int] = {}
        refunds: dict[str, int] = {}
        for e in endings:
            key = e.result or "open"
            results[key] = results.get(key, 0) + 1
            refunds[e.currency] = refunds.get(e.currency, 0) + e.refund_minor
        hours = [e.hours for e in endings if e.hours is not None]
        return {
            "outcomes": dict(sorted(results.items())),
            "refunds": {c: str(Money(m, c).as_json()["value"]) for c, m in sorted(refunds.items())},
            "escalated": sum(1 for e in endings if e.escalated),
            "median_hours": round(statistics.median(hours), 1) if hours else None,
        }

    def as_json(self) -> dict[str, Any]:
        replayed = [r for r in self.replays if r.replayed is not None]
        return {
            "policy": self.policy,
            "since": self.since.isoformat(),
            "disputes": len(self.replays),
            "replayed": len(replayed),
            "unreplayable": len(self.replays) - len(replayed),
            "changed": sum(1 for r in replayed if r.changed),
            "recorded": self.totals("recorded"),
            "what_if": self.totals("replayed"),
            "details": [
                {
                    "dispute_id": r.dispute_id,
                    "recorded": r.recorded.as_json(),
                    "what_if": None if r.replayed is None else r.replayed.as_json(),
                    "changed": r.changed,
                    "refused": r.refused,
                    "unreplayable": r.unreplayable,
                }
                for r in self.replays
            ],
        }


def what_if(ctx: Context, policy: Policy, *, since: date) -> Report:
    """Every dispute opened on or after ``since``, replayed under ``policy`` up to now."""
    now = ctx.clock.now()
    replays: list[Replay] = []
    after: str | None = None
    while True:
        with ctx.uow(write=False) as uow:
            page = uow.disputes.list(DisputeFilter(after=after, limit=PAGE))
        for stored in page:
            if stored.opened_at.date() >= since:
                replays.append(replay(stored, policy, until=now, holidays=ctx.holidays))
        if len(page) < PAGE:
            break
        after = page[-1].id
    replays.sort(key=lambda r: r.dispute_id)
    return Report(policy.name, since, replays)
