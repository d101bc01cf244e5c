"""Domain events: what happened, in the past tense. Aggregates collect them; the unit of work
writes them in the same transaction as the change (the event feed and the outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: str
    aggregate_id: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
