"""What a dispute records of its own inputs, for the policy what-if (services/whatif.py):
each command that changed it, as given, with when and by whom, and the facts from outside the
dispute that its line read (files' types, the mediator's role, whether buyer protection still
ran). Deadlines are not recorded: they follow from the policy and fire at their due time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fairdeal.domain.roles import Role


@dataclass(slots=True)
class RecordedInput:
    at: datetime
    actor_role: Role
    actor_id: str
    # The command's class name in domain/commands.py ("OpenDispute", "ProposeSolution", ...).
    command: str
    # The command's fields, and the outside facts, as JSON text (kept opaque to the codec).
    args: str
    facts: str
