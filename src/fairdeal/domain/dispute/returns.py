"""How a dispute reaches its end: the return step (shipped, confirmed), the outcome decided on
a solution, and the close that schedules the refund."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from fairdeal.domain.dispute.base import DisputeBase
from fairdeal.domain.dispute.checks import (
    MAX_COMMENT,
    text_field,
)
from fairdeal.domain.dispute.parts import (
    ReturnCondition,
)
from fairdeal.domain.dispute.states import Action, Status
from fairdeal.domain.errors import (
    ValidationError,
)
from fairdeal.domain.events import ReturnReceived, ReturnShipped
from fairdeal.domain.roles import Actor


class ReturnActions(DisputeBase):
    """The return step and the close; mixed into ``Dispute``."""

    # --- returns ----------------------------------------------------------------------------

    def ship_return(
        self, actor: Actor, *, carrier: str, tracking_number: str, now: datetime
    ) -> None:
        self._precheck(Action.SHIP_RETURN, actor)
        assert self.return_ is not None
        carrier = text_field(carrier, "carrier", 100, required=True)
        tracking_number = text_field(tracking_number, "tracking_number", 100, required=True)
        self.return_.carrier, self.return_.tracking_number = carrier, tracking_number
        self.return_.shipped_at = now
        self.return_.confirm_by = now + timedelta(days=self.policy.deadlines.return_confirm_days)
        self._move_to(Status.RETURN_IN_TRANSIT, Action.SHIP_RETURN)
        self._log(
            now, "return.shipped", actor, f"Buyer shipped the return ({carrier} {tracking_number})."
        )
        self._emit(ReturnShipped(now, actor.role, carrier, tracking_number))

    def confirm_return(
        self,
        actor: Actor,
        *,
        condition: str,
        note: str = "",
        now: datetime,
        is_holiday: Callable[[date], bool],
    ) -> None:
        """The seller reports the returned parcel: as expected pays the refund; anything else
        goes to a mediator."""
        self._precheck(Action.CONFIRM_RETURN, actor)
        assert self.return_ is not None and self.outcome is not None
        try:
            state = ReturnCondition(condition)
        except ValueError:
            raise ValidationError(
                f"condition must be one of {', '.join(c.value for c in ReturnCondition)}",
                field="condition",
            ) from None
        # The note is checked before anything changes: a refused report leaves it unconfirmed.
        text = text_field(note, "note", MAX_COMMENT) or None
        self.return_.received_at = now
        self.return_.condition = state
        self.return_.note = text
        self._log(
            now,
            "return.received",
            actor,
            f"Seller received the return: {state.value.replace('_', ' ')}.",
        )
        self._emit(ReturnReceived(now, actor.role, state.value))
        if state is ReturnCondition.AS_EXPECTED:
            self._close(now, is_holiday, by=Action.CONFIRM_RETURN)
        else:
            self.outcome = None
            self._escalate(now, actor, f"return_{state.value}", by=Action.CONFIRM_RETURN)
