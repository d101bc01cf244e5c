"""Who acts: the roles of the people (and the clock) that take part in a dispute, and the
actor -- a user in one role -- that every action names."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    MEDIATOR = "mediator"
    ADMIN = "admin"
    PLATFORM = "platform"
    SYSTEM = "system"  # the clock


PARTIES = frozenset({Role.BUYER, Role.SELLER})
STAFF = frozenset({Role.MEDIATOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str
    role: Role


SYSTEM = Actor("system", Role.SYSTEM)
