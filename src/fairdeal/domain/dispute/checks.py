"""The input checks the dispute's actions share: text lengths, claim and offer amounts, a
decision's solution index, the items of an order."""

from __future__ import annotations

from fairdeal.domain.dispute.parts import Decision, ProposedSolution, Solution, SolutionKind
from fairdeal.domain.errors import AmountOutOfRange, ValidationError
from fairdeal.domain.money import Money, minimum_claim

MAX_TEXT = 5000
MAX_COMMENT = 2000


def parse_solution_kind(value: str, field_name: str) -> SolutionKind:
    try:
        return SolutionKind(value)
    except ValueError:
        raise ValidationError(
            f"{field_name} must be refund_only or return_and_refund", field=field_name
        ) from None


def check_claim(amount: Money, amount_paid: Money, field: str = "amount") -> None:
    """A buyer's claim: from the currency's minimum up to what was paid."""
    if amount.currency != amount_paid.currency:
        raise ValidationError(f"amount must be in {amount_paid.currency}", field=field)
    low = minimum_claim(amount_paid.currency)
    if amount < low or amount > amount_paid:
        raise AmountOutOfRange(f"{field} must be from {low} to {amount_paid}", field=field)


def check_offer(amount: Money, amount_paid: Money, field: str = "amount") -> None:
    """A seller's or mediator's solution: from zero (a "zero refund") up to what was paid."""
    if amount.currency != amount_paid.currency:
        raise ValidationError(f"amount must be in {amount_paid.currency}", field=field)
    if amount.minor < 0 or amount > amount_paid:
        raise AmountOutOfRange(
            f"{field} must be from {Money.zero(amount.currency)} to {amount_paid}", field=field
        )


def decision_index(decision: Decision, index: int | None) -> int:
    chosen = 0 if index is None else index
    if (
        isinstance(chosen, bool)
        or not isinstance(chosen, int)
        or not (0 <= chosen < len(decision.solutions))
    ):
        raise ValidationError(
            f"solution_index must be from 0 to {len(decision.solutions) - 1}",
            field="solution_index",
        )
    return chosen


def text_field(value: object, field_name: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field_name} must be text", field=field_name)
    text = value.strip()
    if required and not text:
        raise ValidationError(f"{field_name} is required", field=field_name)
    if len(text) > limit:
        raise ValidationError(f"{field_name} is longer than {limit} characters", field=field_name)
    return text


def unique_items(item_ids: list[str] | None) -> list[str] | None:
    if item_ids is None:
        return None
    if not item_ids:
        raise ValidationError(
            "item_ids must name at least one item, or be left out for the whole order",
            field="item_ids",
        )
    if len(set(item_ids)) != len(item_ids):
        raise ValidationError("item_ids lists an item twice", field="item_ids")
    return list(item_ids)


def is_photo_or_video(content_type: str) -> bool:
    return content_type.startswith(("image/", "video/"))


def describe(solution: Solution | ProposedSolution) -> str:
    what = "refund only" if solution.kind is SolutionKind.REFUND_ONLY else "return and refund"
    return f"{what}, {solution.amount}"
