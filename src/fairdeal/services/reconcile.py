"""Reconciliation: what Fairdeal's movements say against what the payment provider holds.

``reconcile(movements, records_by_reference)`` is pure: the movements of one provider (refunds
through Stripe, say) and, for every payment they were made on, the provider's records of that
payment (``PaymentGateway.records``). It lists every mismatch:

- ``missing_at_provider``: a movement Fairdeal submitted or saw succeed, of which the provider
  holds nothing;
- ``duplicate_at_provider``: a movement the provider holds more than once (money moved twice);
- ``wrong_amount``: the provider's amount (or currency) is not the movement's;
- ``unknown_at_fairdeal``: a record on one of these payments that no movement accounts for (a
  refund made in the provider's dashboard, or under an id Fairdeal does not have);
- ``status_differs``: the two sides contradict each other -- Fairdeal says succeeded and the
  provider failed or has not finished, Fairdeal says failed and the provider moved the money,
  or Fairdeal has not submitted a movement the provider already holds;
- ``reference_differs``: Fairdeal recorded another provider reference than the one the
  provider holds for the movement.

A movement ``submitted`` whose record is final at the provider is not a mismatch: it is waiting
for its confirmation (the webhook, or the worker's next poll). A ``submitted`` one the provider
does not hold yet is reported: on a quiet system it is a submission that never arrived."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from fairdeal.domain.money import Money
from fairdeal.services.payments import ProviderRecord

KINDS = (
    "missing_at_provider",
    "duplicate_at_provider",
    "wrong_amount",
    "unknown_at_fairdeal",
    "status_differs",
    "reference_differs",
)


class MovementLike(Protocol):
    """What reconciliation reads of a money movement (the core's ``MoneyMovement`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def amount(self) -> Money: ...
    @property
    def payment_reference(self) -> str: ...
    @property
    def provider_reference(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    payment_reference: str
    movement_id: str | None
    provider_references: tuple[str, ...]
    detail: str

    def line(self) -> str:
        """One line for a terminal or a log."""
        who = self.movement_id or "-"
        at = ",".join(self.provider_references) or "-"
        return f"{self.kind:<21} {self.payment_reference}  movement {who}  provider {at}: {self.detail}"


def _money(amount: Money) -> str:
    return f"{amount.minor} {amount.currency}"


def reconcile(
    movements: Iterable[MovementLike],
    records_by_reference: Mapping[str, Sequence[ProviderRecord]],
) -> list[Mismatch]:
    """Every mismatch between the movements and the provider's records (see the module)."""
    found: list[Mismatch] = []
    known: set[tuple[str, str]] = set()  # (payment reference, movement id)
    by_movement: dict[tuple[str, str], list[ProviderRecord]] = defaultdict(list)
    for reference, records in records_by_reference.items():
        for record in records:
            if record.movement_id is not None:
                by_movement[(reference, record.movement_id)].append(record)
    for movement in sorted(movements, key=lambda m: (m.payment_reference, m.id)):
        known.add((movement.payment_reference, movement.id))
        held = by_movement.get((movement.payment_reference, movement.id), [])
        found.extend(_compare(movement, held))
    for reference in sorted(records_by_reference):
        for record in records_by_reference[reference]:
            if record.movement_id is None or (reference, record.movement_id) not in known:
                whose = (
                    f"Fairdeal has no movement {record.movement_id} on this payment"
                    if record.movement_id
                    else "no Fairdeal movement id"
                )
                found.append(
                    Mismatch(
                        "unknown_at_fairdeal",
                        reference,
                        record.movement_id,
                        (record.reference,),
                        f"{_money(record.amount)} {record.status} at the provider, {whose}",
                    )
                )
    return found


def _compare(movement: MovementLike, held: list[ProviderRecord]) -> list[Mismatch]:
    status = str(movement.status)
    references = tuple(record.reference for record in held)

    def mismatch(kind: str, detail: str) -> Mismatch:
        return Mismatch(kind, movement.payment_reference, movement.id, references, detail)

    if not held:
        if status in ("submitted", "succeeded"):
            return [
                mismatch(
                    "missing_at_provider",
                    f"{_money(movement.amount)} {status} at Fairdeal, nothing at the provider",
                )
            ]
        return []  # pending (not asked yet) or failed (refused): nothing to hold
    found: list[Mismatch] = []
    if len(held) > 1:
        total = sum(record.amount.minor for record in held)
        found.append(
            mismatch(
                "duplicate_at_provider",
                f"{len(held)} records at the provider ({total} {movement.amount.currency}"
                f" minor units in all) for one movement of {_money(movement.amount)}",
            )
        )
    for record in held:
        if record.amount != movement.amount:
            found.append(
                Mismatch(
                    "wrong_amount",
                    movement.payment_reference,
                    movement.id,
                    (record.reference,),
                    f"{_money(record.amount)} at the provider, {_money(movement.amount)} at Fairdeal",
                )
            )
    record = held[0]
    contradiction = (
        (status == "succeeded" and record.status != "succeeded")
        or (status == "failed" and record.status != "failed")
        or status == "pending"
    )
    if contradiction:
        at_provider = record.status + (f" ({record.failure})" if record.failure else "")
        found.append(
            mismatch("status_differs", f"{status} at Fairdeal, {at_provider} at the provider")
        )
    if movement.provider_reference is not None and movement.provider_reference not in references:
        found.append(
            mismatch(
                "reference_differs",
                f"Fairdeal recorded {movement.provider_reference}, the provider holds"
                f" {', '.join(references)}",
            )
        )
    return found


class RecordSource(Protocol):
    def __call__(self, payment_reference: str) -> list[ProviderRecord]: ...


def collect(
    records: RecordSource, movements: Sequence[MovementLike]
) -> dict[str, list[ProviderRecord]]:
    """The provider's records of every payment the movements were made on, one call each
    (``PaymentGateway.records``); its ``PaymentProviderError`` goes to the caller."""
    return {
        reference: records(reference)
        for reference in sorted({movement.payment_reference for movement in movements})
    }
