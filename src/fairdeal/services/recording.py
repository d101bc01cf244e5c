"""Recording a dispute's inputs as they are handled (domain/dispute/inputs.py), so that the
policy what-if (services/whatif.py) can replay them exactly under another policy."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from fairdeal.domain.commands import (
    AddEvidence,
    AssignMediator,
    Cancel,
    DisputeCommand,
    OpenDispute,
    RejectDecision,
    Reopen,
)
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.dispute.inputs import RecordedInput
from fairdeal.domain.money import Amount
from fairdeal.domain.order import Order
from fairdeal.domain.roles import Actor
from fairdeal.services.ports import UnitOfWork


def _plain(value: Any) -> Any:
    if isinstance(value, Amount):
        return {"value": str(value.value), "currency": value.currency, "field": value.field}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def command_args(command: object) -> str:
    return json.dumps(_plain(command), sort_keys=True, ensure_ascii=False)


def _files(uow: UnitOfWork, file_ids: Any) -> dict[str, list[str]]:
    found = {}
    for file_id in file_ids:
        record = uow.files.get(file_id)
        if record is not None:
            found[file_id] = [record.owner_id, record.content_type]
    return found


def record(
    dispute: Dispute,
    actor: Actor,
    command: DisputeCommand | OpenDispute,
    *,
    now: datetime,
    order: Order,
    uow: UnitOfWork,
) -> None:
    """Append what this command was, and what its line read from outside the dispute."""
    facts: dict[str, Any] = {"currency": order.currency}
    if isinstance(command, Cancel | Reopen):
        facts["window_open"] = order.window_open(now)
    if isinstance(command, AddEvidence):
        facts["files"] = _files(uow, [command.file_id])
    if isinstance(command, RejectDecision | OpenDispute):
        facts["files"] = _files(uow, command.evidence_file_ids)
    if isinstance(command, AssignMediator):
        target = command.mediator_id or actor.user_id
        user = uow.users.get(target)
        facts["users"] = {target: user.role if user else None}
    if isinstance(command, OpenDispute):
        facts.update(
            category=dispute.category,
            payment_country=dispute.payment_country,
            amount_paid={
                "minor": dispute.amount_paid.minor,
                "currency": dispute.amount_paid.currency,
            },
            item_ids=dispute.item_ids,
            order_id=dispute.order_id,
            buyer_id=dispute.buyer_id,
            seller_id=dispute.seller_id,
        )
    dispute.inputs.append(
        RecordedInput(
            now,
            actor.role,
            actor.user_id,
            type(command).__name__,
            command_args(command),
            json.dumps(facts, sort_keys=True),
        )
    )
