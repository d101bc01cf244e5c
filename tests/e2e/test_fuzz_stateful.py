"""Schemathesis' stateful fuzzing against the API, with real parties.

The published OpenAPI document is given links between operations (an order's answer feeds
its ship, tracking and dispute calls; a dispute's answer feeds every dispute action, with the
ids of its solutions, evidence and decision), and schemathesis' state machine walks them:
POST /orders -> ship -> POST /disputes -> solutions -> accept / reject -> escalation ->
decisions -> finalize, with sandbox clock advances in between. Every call is sent with the
token of the party the dispute offers that action to (looked up in ``allowed_actions``), or,
every few calls, with another party's token, so that the refusals are fuzzed too.

Checks on every answer: no server error, the answer matches the document (schema, status
code, content type), and the auth checks: an operation that declares the bearer scheme must
refuse the same request without a token and with a wrong one (``ignored_auth``), and an
evidence item deleted stays gone (``use_after_free``), a resource just created is there
(``ensure_resource_availability``).

Bodies: schemathesis generates them from the document; for the operations whose valid inputs
are too narrow to hit at random (ids of our users, a currency, a decimal amount, a reason of
the catalogue, an uploaded file) a hook replaces five bodies in six with a valid one drawn
by Hypothesis, and keeps the fourth as generated. A tally of what was reached is asserted on
(the run must get deep, not only 422s) and printed (``pytest -s``)."""

from __future__ import annotations

import copy
import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import normalize_name
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from e2e.fuzzing import (
    DISPUTE_OPERATIONS,
    DISPUTE_PATH_EXPRESSIONS,
    Cast,
    Tally,
    path_parameters,
    reset,
)
from e2e.support import Caller, World, ok, running_world


def resource_stays_available(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Schemathesis' ``ensure_resource_availability``, except for a 404 that names a body
    field: that is an unknown reference in the body (a file id), not the resource of the path
    (errors.py: a bad reference is a 404 that names its field)."""
    if response.status_code == 404:
        try:
            if response.json().get("field"):
                return None
        except ValueError:
            pass
    return ensure_resource_availability(ctx, response, case)


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    ignored_auth,
    use_after_free,
    resource_stays_available,
]
# Per database: scenarios (Hypothesis examples) and calls per scenario. PostgreSQL is the gate
# of the issue; SQLite gets a smaller run.
BUDGET = {
    "postgres": (int(os.environ.get("FUZZ_N", 12)), 60),
    "sqlite": (int(os.environ.get("FUZZ_N", 6)), 60),
}
FOLLOW_EACH_LINK = 8
# FUZZ_DEBUG=<operation label or status code>: print those calls (to see why a run stays shallow).
DEBUG = os.environ.get("FUZZ_DEBUG")
WRONG_PARTY_EVERY = 5  # every fifth dispute call goes out with a party not offered the action

ORDER = "/api/v1/orders/{order_id}"
OPEN = "POST /api/v1/disputes"
# Which operation an order answer leads to: along the order's life, towards a dispute (an order
# that has not shipped cannot be disputed). Few on purpose: each link is a rule of the state
# machine, and the order's rules should not crowd out the dispute's.
ORDER_LINKS = {
    "POST /api/v1/orders": [f"POST {ORDER}/ship", f"GET {ORDER}", f"POST {ORDER}/tracking-events"],
    f"POST {ORDER}/ship": [OPEN, f"POST {ORDER}/tracking-events", f"POST {ORDER}/confirm-receipt",
                           f"POST {ORDER}/extend-protection", f"GET {ORDER}"],
    f"POST {ORDER}/tracking-events": [OPEN, f"POST {ORDER}/confirm-receipt", f"POST {ORDER}/ship"],
    f"POST {ORDER}/confirm-receipt": [OPEN, f"GET {ORDER}"],
    f"POST {ORDER}/extend-protection": [OPEN, f"GET {ORDER}"],
    f"GET {ORDER}": [OPEN, f"POST {ORDER}/ship"],
}  # fmt: skip
DISPUTE_SOURCES = ("POST /api/v1/disputes", *DISPUTE_OPERATIONS)


# --- the document, with links ---------------------------------------------------------------


def _success_status(operation: dict[str, Any]) -> str:
    return next(code for code in operation["responses"] if code.startswith("2"))


def linked_document(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with links along an order's life to POST /disputes, and from every
    dispute answer to every dispute operation (with the ids it names and its ETag)."""
    document = copy.deepcopy(document)
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }

    def link(source: str, target: str, parameters: dict[str, str], body: Any = None) -> None:
        response = operations[source]["responses"][_success_status(operations[source])]
        entry: dict[str, Any] = {
            "operationId": operations[target]["operationId"],
            "parameters": parameters,
            # "inferred" lets a JSON pointer's `*` pick one of several ids (any solution).
            "x-schemathesis": {"is_inferred": True},
        }
        if body is not None:
            entry["requestBody"] = body
        response.setdefault("links", {})[operations[target]["operationId"]] = entry

    for source, targets in ORDER_LINKS.items():
        for target in targets:
            if target == OPEN:
                body = {
                    "order_id": "$response.body#/id",
                    "item_ids": ["$response.body#/items/*/id"],
                }
                link(source, target, {}, body)
            else:
                link(source, target, {"path.order_id": "$response.body#/id"})
    # The clock fires deadlines of disputes: a link from it to the disputes it fired makes it a
    # place where a scenario can start (schemathesis starts only from operations with links).
    link(
        "POST /api/v1/sandbox/clock/advance",
        "GET /api/v1/disputes/{dispute_id}",
        {"path.dispute_id": "$response.body#/fired/*/dispute_id"},
    )
    for source in DISPUTE_SOURCES:
        for target in DISPUTE_OPERATIONS:
            parameters = {
                f"path.{name}": DISPUTE_PATH_EXPRESSIONS[name] for name in path_parameters(target)
            }
            if not target.startswith("GET"):
                # The version just read: a write with it goes through unless something else
                # changed the dispute since; with a stale one it must answer 412.
                parameters["header.If-Match"] = "$response.header.ETag"
            link(source, target, parameters)
    return document


# --- valid bodies where random ones would never get through ---------------------------------

# Items cost at least 10.00 (below), so most of these are in range for a dispute or a solution.
AMOUNTS = ["0.00", "0.01", "1.00", "5.00", "5.00", "10.00", "40.00", "1000.00"]
REASONS = ["damaged", "not_as_described", "damaged", "not_as_described", "wrong_item",
           "not_needed", "not_received", "protection_expiring_in_transit", "no_tracking_info"]  # fmt: skip


def valid_bodies(parties: Parties) -> dict[str, st.SearchStrategy[Any]]:
    """Valid bodies; ids are read from the example's cast when drawn (``st.just(...).map``),
    so that the strategies stay the same from one example to the next."""

    def current(read: Any) -> st.SearchStrategy[Any]:
        return st.just(None).map(lambda _: read(parties.cast))

    def file_of(party: str) -> st.SearchStrategy[str]:
        return current(lambda cast: cast.files[party][0])

    amount = st.one_of(
        st.sampled_from(AMOUNTS),
        st.sampled_from(AMOUNTS).map(lambda v: {"currency": "EUR", "value": v}),
    )
    solution = st.fixed_dictionaries(
        {"kind": st.sampled_from(["refund_only", "return_and_refund"]), "amount": amount}
    )
    item = st.fixed_dictionaries(
        {
            "sku": st.sampled_from(["SKU1", "SKU2"]),
            "title": st.just("A thing"),
            "quantity": st.integers(1, 2),
            "unit_price": st.sampled_from(["10.00", "40.00", "25.50"]),
        }
    )
    return {
        "POST /api/v1/orders": st.fixed_dictionaries(
            {
                "buyer_id": current(lambda cast: cast.buyer.user_id),
                "seller_id": current(lambda cast: cast.seller.user_id),
                "currency": st.just("EUR"),
                "items": st.lists(item, min_size=1, max_size=2),
                "shipping_cost": st.sampled_from(["0", "5.00"]),
                "payment": st.just({"method": "card", "reference": "pay_1", "country": "DE"}),
            }
        ),
        "POST /api/v1/orders/{order_id}/ship": st.fixed_dictionaries(
            {
                "carrier": st.just("DHL"),
                "tracking_number": st.just("JD0001"),
                "protection_days": st.sampled_from([5, 30, 60]),
            }
        ),
        "POST /api/v1/orders/{order_id}/tracking-events": st.fixed_dictionaries(
            {
                "status": st.sampled_from(["in_transit", "delivered", "exception"]),
                "at": st.just("2026-01-01T10:00:00Z"),
            }
        ),
        "POST /api/v1/disputes": st.fixed_dictionaries(
            {
                "order_id": st.just("filled-by-the-link"),
                "reason": st.sampled_from(REASONS),
                "desired_outcome": st.sampled_from(["refund_only", "return_and_refund"]),
                "amount": amount,
                "description": st.just("It is not what I ordered."),
                "evidence_file_ids": st.one_of(
                    file_of("buyer").map(lambda f: [f]),
                    file_of("buyer").map(lambda f: [f]),
                    st.just([]),
                ),
            }
        ),
        "POST /api/v1/disputes/{dispute_id}/solutions": solution,
        "PATCH /api/v1/disputes/{dispute_id}/solutions/{solution_id}": solution,
        "POST /api/v1/disputes/{dispute_id}/evidence": st.fixed_dictionaries(
            {"file_id": st.one_of(file_of("buyer"), file_of("seller"))}
        ),
        "POST /api/v1/disputes/{dispute_id}/assign": st.just({}),
        "POST /api/v1/disputes/{dispute_id}/decisions": st.fixed_dictionaries(
            {
                "solutions": st.lists(solution, min_size=1, max_size=2),
                "rationale": st.just("On the evidence of both parties."),
            }
        ),
        "POST /api/v1/disputes/{dispute_id}/decisions/{decision_id}/reject": st.fixed_dictionaries(
            {
                "comment": st.just("I do not agree."),
                "evidence_file_ids": st.one_of(
                    st.just([]), st.one_of(file_of("buyer"), file_of("seller")).map(lambda f: [f])
                ),
            }
        ),
        "POST /api/v1/sandbox/clock/advance": st.fixed_dictionaries(
            {"days": st.sampled_from([0, 1, 3, 7, 8, 16])}
        ),
    }


# --- who sends each call ----------------------------------------------------------------------


class Parties:
    """Chooses the token of each call: the party the dispute offers the action to, or every
    few calls a party it does not offer it to. Anything not about one dispute goes out with
    the role API.md names for it."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.new_example()

    def new_example(self) -> None:
        """A fresh database, users and turn counter: the same start for every example."""
        reset(self.world)
        self.cast = Cast.make(self.world)
        self.parties = {
            "buyer": self.cast.buyer,
            "seller": self.cast.seller,
            "mediator": self.cast.mediator,
        }
        self.turn = itertools.count()

    def _fixed(self, label: str) -> Caller:
        w = self.cast
        platform = self.world.platform
        method, path = label.split(" ", 1)
        if label in ("POST /api/v1/orders/{order_id}/ship",
                     "POST /api/v1/orders/{order_id}/extend-protection"):  # fmt: skip
            return w.seller
        if label in ("POST /api/v1/orders/{order_id}/confirm-receipt", "POST /api/v1/disputes"):
            return w.buyer
        if path.startswith("/api/v1/mediation"):
            return w.mediator
        if method == "GET" and path.startswith(("/api/v1/orders", "/api/v1/disputes",
                                                "/api/v1/files", "/api/v1/notifications")):  # fmt: skip
            return [w.buyer, w.seller, w.mediator, platform][next(self.turn) % 4]
        if path.startswith(("/api/v1/files", "/api/v1/notifications")):
            return [w.buyer, w.seller][next(self.turn) % 2]
        return platform

    def fresh_if_match(self, case: schemathesis.Case) -> None:
        """An If-Match that came from a link is the ETag of an answer some steps back, and a
        generated one is random: both are refused (412, 422), as they must be, but a scenario
        made of refusals goes nowhere. Three times in four it is set to the version current
        now (read by ``token`` just before)."""
        headers = case.headers or {}
        if "If-Match" in headers and self.etag is not None and next(self.turn) % 4:
            headers["If-Match"] = self.etag

    def token(self, label: str, path_parameters: dict[str, Any]) -> str:
        self.etag: str | None = None
        if label not in DISPUTE_OPERATIONS or label.startswith("GET"):
            caller = self._fixed(label)
            assert caller.token is not None
            return caller.token
        offered = self._offered(label, path_parameters)
        wrong = next(self.turn) % WRONG_PARTY_EVERY == 0
        pool = [name for name in self.parties if (name in offered) != wrong]
        chosen = pool[next(self.turn) % len(pool)] if pool else "buyer"
        token = self.parties[chosen].token
        assert token is not None
        return token

    def _offered(self, label: str, params: dict[str, Any]) -> set[str]:
        """The parties that may take this action on this dispute now (and, for an action on
        a solution or evidence item, are not refused for authorship)."""
        action = DISPUTE_OPERATIONS[label]
        dispute_id = params.get("dispute_id")
        if not isinstance(dispute_id, str):
            return set()
        offered = set()
        for name, caller in self.parties.items():
            answer = caller.get(f"/disputes/{dispute_id}")
            if answer.status_code == 200:
                self.etag = answer.headers["ETag"]
            if answer.status_code != 200 or action not in answer.json()["allowed_actions"]:
                continue
            dispute = answer.json()
            if "solution_id" in params:
                author = next(
                    (
                        s["proposed_by"]
                        for s in dispute["solutions"]
                        if s["id"] == params["solution_id"]
                    ),
                    None,
                )
                if (author == name) != (action == "edit_solution"):
                    continue
            if "evidence_id" in params:
                added_by = next(
                    (
                        e["added_by"]
                        for e in dispute["evidence"]
                        if e["id"] == params["evidence_id"]
                    ),
                    None,
                )
                if added_by not in (caller.user_id, name):
                    continue
            offered.add(name)
        return offered


# --- the run ------------------------------------------------------------------------------------


@pytest.fixture
def fuzz_world(db_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(db_url, tmp_path / "files") as world:
        yield world


def build_machine(world: World, tally: Tally) -> type:
    document = linked_document(ok(world.anonymous.get("/openapi.json")))
    # Positive data only: the stateless test of test_openapi.py sends the invalid kinds, and
    # a refused body changes nothing, so here it would only spend the budget. Requests without
    # a token or with a wrong one are still sent, by the ignored_auth check.
    # The links are ours (above); schemathesis' own inference would add links from lists
    # (notification rows name disputes) that mostly carry ids of nobody's business.
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"mode": "positive"},
            "phases": {"stateful": {"inference": {"algorithms": []}}},
        }
    )
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.app = world.http.app
    parties = Parties(world)
    bodies = valid_bodies(parties)

    @schema.auth(refresh_interval=None)
    class PartyAuth:
        def get(self, case: schemathesis.Case, ctx: Any) -> str:
            return parties.token(case.operation.label, dict(case.path_parameters or {}))

        def set(self, case: schemathesis.Case, token: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            parties.fresh_if_match(case)

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
        valid = bodies.get(context.operation.label)
        if valid is None or not isinstance(body, dict):
            return st.just(body)
        return st.integers(0, 5).flatmap(lambda n: st.just(body) if n == 0 else valid)

    base = schema.as_state_machine()
    # Schemathesis makes every POST with links out of it a place to start a scenario, with
    # random path parameters: for a dispute action that is a 404 every time. Start only from
    # operations without path parameters (POST /orders, the clock, lists...).
    random_starts = {
        normalize_name(f"RANDOM -> {label}"): "{" in label
        for label in (r.ok().label for r in schema.get_all_operations())
    }
    dead_starts = {name for name in base.root_rules if random_starts.get(name, False)}

    class Fuzz(base):  # type: ignore[valid-type, misc]
        root_rules = base.root_rules - dead_starts

        def __init__(self) -> None:
            super().__init__()
            # Schemathesis follows each link (source -> target operation) at most
            # steps / operations times per scenario (2 here): enough for breadth, too few for a
            # dispute to live through negotiation, mediation and a return.
            self.control.max_operations_per_source = FOLLOW_EACH_LINK

        def setup(self) -> None:
            if tally.examples:
                parties.new_example()
            tally.examples += 1

        @rule()
        def wait(self) -> None:
            """Always possible: schemathesis follows each link a bounded number of times per
            scenario, and without this a scenario that used them all up has no valid rule."""

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            try:
                body = response.json()
            except ValueError:
                body = None
            tally.record(case.operation.label, response.status_code, body)
            if DEBUG and DEBUG in (case.operation.label, str(response.status_code)):
                print(
                    "DBG",
                    case.operation.label,
                    case.meta and case.meta.generation.mode,
                    case.body,
                    case.headers,
                    response.status_code,
                    str(body)[:300],
                )

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(
                response,
                checks=CHECKS,
                headers={"Authorization": case.headers.get("Authorization", "")}
                if case.headers
                else None,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    for name in dead_starts:
        setattr(Fuzz, name, None)
    return Fuzz


def test_stateful_fuzzing_with_real_parties(
    fuzz_world: World, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["db_url"]
    examples, steps = BUDGET[backend]
    tally = Tally()
    machine = build_machine(fuzz_world, tally)
    started = time.monotonic()
    machine.run(
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            derandomize=True,  # the same scenarios on every run: a gate, not a lottery
            suppress_health_check=list(HealthCheck),
            # Generation only, as schemathesis' own runner does: a failure is reported as found
            # (with the calls that led to it), not shrunk against a server that moved on.
            phases=[Phase.generate],
        )
    )
    print("\n" + tally.summary(f"schemathesis stateful on {backend}", time.monotonic() - started))
    # The run must have gone deep, not only bounced off validation: orders shipped, disputes
    # opened, dispute actions taken, and some dispute finished.
    reached = tally.operations_reached()
    for label in (
        "POST /api/v1/orders",
        "POST /api/v1/orders/{order_id}/ship",
        "POST /api/v1/disputes",
    ):
        assert label in reached, f"the fuzzer never got a 2xx from {label}"
    assert sum(tally.actions_done.values()) >= 5, tally.actions_done
    assert len(tally.actions_done) >= 3, tally.actions_done
    assert tally.statuses_seen["closed"] + tally.statuses_seen["cancelled"] > 0
