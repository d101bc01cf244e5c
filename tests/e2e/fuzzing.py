"""Helpers shared by the fuzzing tests: the parties of a fuzzed world, which action of the
dispute engine each HTTP operation is, and a tally of what a run reached.

The tally is what tells a green run that went deep from a green run that only ever got 422s:
the tests assert on it, and print it (``pytest -s``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, text

from e2e.support import PLATFORM_TOKEN, Caller, World
from fairdeal.adapters.db import tables
from fairdeal.services.users import ensure_platform_user

# The dispute operations of the API as "METHOD path" (the OpenAPI label), and the engine action
# each one is (``allowed_actions`` names); None: a read, which every party may do.
DISPUTE_OPERATIONS: dict[str, str | None] = {
    "GET /api/v1/disputes/{dispute_id}": None,
    "PATCH /api/v1/disputes/{dispute_id}": "edit_dispute",
    "POST /api/v1/disputes/{dispute_id}/solutions": "propose_solution",
    "PATCH /api/v1/disputes/{dispute_id}/solutions/{solution_id}": "edit_solution",
    "POST /api/v1/disputes/{dispute_id}/solutions/{solution_id}/accept": "accept_solution",
    "POST /api/v1/disputes/{dispute_id}/solutions/{solution_id}/reject": "reject_solution",
    "POST /api/v1/disputes/{dispute_id}/evidence": "add_evidence",
    "DELETE /api/v1/disputes/{dispute_id}/evidence/{evidence_id}": "remove_evidence",
    "POST /api/v1/disputes/{dispute_id}/messages": "post_message",
    "POST /api/v1/disputes/{dispute_id}/escalate": "escalate",
    "POST /api/v1/disputes/{dispute_id}/cancel": "cancel",
    "POST /api/v1/disputes/{dispute_id}/reopen": "reopen",
    "POST /api/v1/disputes/{dispute_id}/return-shipment": "ship_return",
    "POST /api/v1/disputes/{dispute_id}/return-receipt": "confirm_return",
    "POST /api/v1/disputes/{dispute_id}/assign": "assign",
    "POST /api/v1/disputes/{dispute_id}/evidence-requests": "request_evidence",
    "POST /api/v1/disputes/{dispute_id}/decisions": "propose_decision",
    "POST /api/v1/disputes/{dispute_id}/decisions/{decision_id}/accept": "accept_decision",
    "POST /api/v1/disputes/{dispute_id}/decisions/{decision_id}/reject": "reject_decision",
    "POST /api/v1/disputes/{dispute_id}/decisions/{decision_id}/finalize": "finalize_decision",
    "POST /api/v1/disputes/{dispute_id}/notes": "add_note",
}
ORDER_OPERATIONS = (
    "GET /api/v1/orders/{order_id}",
    "POST /api/v1/orders/{order_id}/ship",
    "POST /api/v1/orders/{order_id}/tracking-events",
    "POST /api/v1/orders/{order_id}/confirm-receipt",
    "POST /api/v1/orders/{order_id}/extend-protection",
)
# Where a dispute operation finds the ids of its path in a dispute answer (OpenAPI runtime
# expressions; ``*`` is schemathesis' wildcard: one of the matches, chosen at random).
DISPUTE_PATH_EXPRESSIONS = {
    "dispute_id": "$response.body#/id",
    "solution_id": "$response.body#/solutions/*/id",
    "evidence_id": "$response.body#/evidence/*/id",
    "decision_id": "$response.body#/mediation/decision/id",
}
DISPUTE_STATUSES = (
    "awaiting_seller_response",
    "negotiating",
    "under_review",
    "awaiting_return",
    "return_in_transit",
    "closed",
    "cancelled",
)


def reset(world: World) -> None:
    """Empty the world's database (and the sandbox clock) and put the platform user back: every
    Hypothesis example starts from the same state, so that a replayed example meets the same
    server (Hypothesis refuses data generation that depends on external state)."""
    engine = world.app.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        else:
            for table in reversed(tables.metadata.sorted_tables):
                conn.execute(delete(table))
    world.http.app.state.api.token_cache.entries.clear()
    ensure_platform_user(world.app.ctx, PLATFORM_TOKEN)


@dataclass
class Cast:
    """The users of one example, made over HTTP after ``reset``: a buyer and a seller, another
    of each (strangers to the disputes), two mediators, and an evidence photo of each party."""

    buyer: Caller
    seller: Caller
    other_buyer: Caller
    other_seller: Caller
    mediator: Caller
    other_mediator: Caller
    files: dict[str, list[str]]

    @classmethod
    def make(cls, world: World, photos: int = 1) -> Cast:
        users = {
            name: world.user(name.removeprefix("other_"))
            for name in ("buyer", "seller", "other_buyer", "other_seller", "mediator",
                         "other_mediator")
        }  # fmt: skip
        files = {
            party: [world.upload(users[party])["id"] for _ in range(photos)]
            for party in ("buyer", "seller")
        }
        return cls(**users, files=files)


def path_parameters(label: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", label)


@dataclass
class Tally:
    """What a fuzzing run did: calls by operation and status, dispute statuses seen in answers,
    engine actions that went through (2xx), and the longest chain of successful dispute
    actions on one dispute."""

    calls: Counter[tuple[str, int]] = field(default_factory=Counter)
    statuses_seen: Counter[str] = field(default_factory=Counter)
    actions_done: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    chain: Counter[str] = field(default_factory=Counter)  # dispute id -> successful actions
    examples: int = 0

    def record(self, label: str, status: int, body: Any) -> None:
        self.calls[(label, status)] += 1
        if isinstance(body, dict) and "allowed_actions" in body and "timeline" in body:
            self.statuses_seen[body["status"]] += 1
            if body.get("outcome"):
                self.outcomes[body["outcome"]["result"]] += 1
        action = DISPUTE_OPERATIONS.get(label)
        if action is not None and 200 <= status < 300:
            self.actions_done[action] += 1
            if isinstance(body, dict) and "id" in body:
                self.chain[body["id"]] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def by_status(self) -> Counter[int]:
        found: Counter[int] = Counter()
        for (_, status), count in self.calls.items():
            found[status] += count
        return found

    def operations_reached(self, successful: bool = True) -> set[str]:
        return {
            label
            for (label, status), _ in self.calls.items()
            if not successful or 200 <= status < 300
        }

    def summary(self, title: str, seconds: float) -> str:
        lines = [
            f"--- {title}: {self.examples} examples, {self.total} calls in {seconds:.1f} s",
            "status codes: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.by_status().items())),
            f"operations called: {len(self.operations_reached(False))}, "
            f"answered 2xx: {len(self.operations_reached(True))}",
            "dispute statuses seen: "
            + ", ".join(f"{s}: {self.statuses_seen[s]}" for s in DISPUTE_STATUSES),
            "engine actions done (2xx): "
            + ", ".join(f"{a}: {n}" for a, n in sorted(self.actions_done.items())),
            "outcomes seen: " + ", ".join(f"{o}: {n}" for o, n in sorted(self.outcomes.items())),
            f"deepest dispute: {max(self.chain.values(), default=0)} successful actions",
        ]
        per_operation: dict[str, Counter[int]] = {}
        for (label, status), count in self.calls.items():
            per_operation.setdefault(label, Counter())[status] += count
        for label in sorted(per_operation):
            codes = ", ".join(f"{s}×{n}" for s, n in sorted(per_operation[label].items()))
            lines.append(f"  {label}: {codes}")
        return "\n".join(lines)
