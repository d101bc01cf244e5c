"""Races, on SQLite and PostgreSQL: many parties (and the clock) acting on one dispute or one
order at the same instant. Each racer is a thread with its own unit of work (its own
connection), released together by a barrier; over HTTP, each is a client thread against a
real uvicorn server. Whatever the interleaving: one outcome, never two; every refusal a clean
409/412 (never a 500); one refund per dispute; every order's ledger balanced and its refunds
never above what was paid.

Each race is run several rounds (a fresh dispute each time), so that both orders of the
racers -- and on PostgreSQL the stale-write retries in between -- are met."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from builders import T0
from fairdeal.adapters.clock import FixedClock
from fairdeal.bootstrap import App
from fairdeal.domain.commands import AcceptSolution, OpenDispute, ProposeSolution, ShipReturn
from fairdeal.domain.dispute import Actor, Role
from fairdeal.domain.errors import DomainError, InvalidTransition, NotEligible, VersionConflict
from fairdeal.domain.money import Amount
from fairdeal.entrypoints.api.app import create_app
from fairdeal.services import handlers, users
from fairdeal.services.deadlines import fire_due, run_until_idle
from fairdeal.services.handlers import handle
from integration.support import (
    Balances,
    World,
    assert_ledger_balanced,
    event_rows,
    ledger_rows,
    make_world,
)

ROUNDS = 6
# How long a racer may take before the test gives up: far more than it needs, for a busy CI.
PATIENCE = 120
# The refusals a losing racer may get: the state moved on, or (after the bounded retries) the
# version it read kept changing. Anything else -- above all an unexpected exception, a 500 --
# fails the test.
CLEAN_REFUSALS = (InvalidTransition, VersionConflict)


@pytest.fixture
def world(app: App, clock: FixedClock) -> World:
    return make_world(app, clock)


def race(*racers: Callable[[], Any]) -> list[Any]:
    """Run the callables in threads released at the same instant; their results, or the
    exception each raised, in order."""
    barrier = threading.Barrier(len(racers))
    results: list[Any] = [None] * len(racers)

    def run(i: int, racer: Callable[[], Any]) -> None:
        try:
            barrier.wait(PATIENCE)
            results[i] = racer()
        except BaseException as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
        assert not thread.is_alive(), "a racer hung"
    return results


def unexpected(results: list[Any]) -> list[Any]:
    """Exceptions that are not a clean domain refusal."""
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)]


def balances(world: World, order_id: str) -> Balances:
    found = assert_ledger_balanced(world.engine, order_id)
    assert 0 <= found.refunded <= found.held
    return found


def refunds_of(world: World, order_id: str) -> Counter[str | None]:
    """Refund transactions per dispute (each transaction is two rows)."""
    rows = [r for r in ledger_rows(world.engine, order_id) if r["movement"] == "refund"]
    return Counter(
        r["dispute_id"] for r in rows if r["account"] == "pending_refund" and r["amount_minor"] > 0
    )


def timeline_kinds(world: World, dispute_id: str) -> Counter[str]:
    return Counter(entry.type for entry in world.dispute(dispute_id).timeline)


# --- 16 accepts of one solution --------------------------------------------------------------


def test_sixteen_concurrent_accepts_make_one_acceptance_and_one_refund(world: World) -> None:
    for _ in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order)
        primary = dispute.solutions[0].id
        results = race(
            *[
                lambda d=dispute.id, s=primary: handle(
                    world.ctx, world.seller, d, AcceptSolution(s)
                )
                for _ in range(16)
            ]
        )
        assert unexpected(results) == []
        accepted = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(accepted) == 1
        assert len(refused) == 15
        assert all(isinstance(r, CLEAN_REFUSALS) for r in refused), [repr(r) for r in refused]
        closed = world.dispute(dispute.id)
        assert closed.status.value == "closed"
        assert closed.outcome is not None and closed.outcome.decided_by.value == "agreement"
        assert refunds_of(world, order.id) == Counter({dispute.id: 1})
        assert balances(world, order.id).refunded == 4000
        assert len(event_rows(world.engine, type="dispute.closed", aggregate_id=dispute.id)) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(app: App) -> Iterator[str]:
    """The real API on a real socket (uvicorn in a thread): its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        thread.join(PATIENCE)


def test_sixteen_accepts_over_http_one_200_and_fifteen_clean_409s(world: World) -> None:
    world.app.settings.secret_key = "races-" + "k" * 40  # create_app refuses to run without
    seller = users.create_user(
        world.ctx, role="seller", name="Racer", email="racer@example.test", country="DE"
    )
    seller_actor = Actor(seller.user.id, Role.SELLER)
    auth = {"Authorization": f"Bearer {seller.api_token}"}
    statuses: Counter[tuple[int, str]] = Counter()
    with served(world.app) as base, httpx.Client(base_url=base, timeout=PATIENCE) as http:
        for round_ in range(ROUNDS):
            order = world.shipped_order(seller=seller_actor)
            dispute = world.open(order)
            path = f"/disputes/{dispute.id}/solutions/{dispute.solutions[0].id}/accept"

            def accept(i: int, path: str = path, round_: int = round_) -> httpx.Response:
                # Half of them with an Idempotency-Key (each its own), half without.
                headers = dict(auth)
                if i % 2:
                    headers["Idempotency-Key"] = f"race-{round_}-{i}"
                return http.post(path, headers=headers)

            answers = race(*[lambda i=i: accept(i) for i in range(16)])
            assert unexpected(answers) == []
            codes = Counter(a.status_code for a in answers)
            assert codes[200] == 1, [(a.status_code, a.text[:200]) for a in answers]
            for answer in answers:
                if answer.status_code != 200:
                    body = answer.json()
                    assert answer.headers["content-type"].startswith("application/problem+json")
                    assert (answer.status_code, body["code"]) in {
                        (409, "invalid_transition"),
                        (412, "version_conflict"),
                    }, body
                    statuses[(answer.status_code, body["code"])] += 1
            assert refunds_of(world, order.id) == Counter({dispute.id: 1})
            assert balances(world, order.id).refunded == 4000
    assert sum(statuses.values()) == 15 * ROUNDS
    print(f"\nrefusals over {ROUNDS} rounds: {dict(statuses)}")


# --- a party's action racing the deadline that would decide against them ----------------------


def _race_the_clock(world: World, setups: list[Any], act: Callable[[Any], Any]) -> list[Any]:
    """For each set-up dispute (oldest first), move the clock to its deadline and race the
    party's action against the worker firing it. Returns each round's two results."""
    rounds = []
    for setup in setups:
        due = world.dispute(setup["dispute_id"]).fire_at
        assert due is not None
        world.clock.advance_to(due)
        results = race(lambda s=setup: act(s), lambda d=due: fire_due(world.ctx, now=d))
        assert unexpected(results) == [], results
        rounds.append(results)
    return rounds


def test_seller_accepting_races_the_seller_response_deadline(world: World) -> None:
    setups = []
    for _ in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order)
        setups.append(
            {"order": order.id, "dispute_id": dispute.id, "solution": dispute.solutions[0].id}
        )
        world.advance(minutes=1)
    outcomes = Counter()
    rounds = _race_the_clock(
        world,
        setups,
        lambda s: handle(world.ctx, world.seller, s["dispute_id"], AcceptSolution(s["solution"])),
    )
    for setup, (accepted, fired) in zip(setups, rounds, strict=True):
        closed = world.dispute(setup["dispute_id"])
        assert closed.status.value == "closed" and closed.outcome is not None
        by = closed.outcome.decided_by.value
        outcomes[by] += 1
        kinds = timeline_kinds(world, closed.id)
        assert kinds["dispute.closed"] == 1
        if by == "agreement":
            assert not isinstance(accepted, BaseException) and fired == []
            assert kinds["deadline.expired"] == 0
        else:
            assert by == "seller_timeout"
            assert isinstance(accepted, CLEAN_REFUSALS) and len(fired) == 1
            assert kinds["deadline.expired"] == 1
        assert refunds_of(world, setup["order"]) == Counter({closed.id: 1})
        assert balances(world, setup["order"]).refunded == 4000
    print(f"\noutcomes: {dict(outcomes)}")


def test_buyer_accepting_races_the_negotiation_escalation(world: World) -> None:
    setups = []
    for _ in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order)
        offered = handle(
            world.ctx,
            world.seller,
            dispute.id,
            ProposeSolution(kind="refund_only", amount=Amount.of("10.00")),
        )
        setups.append(
            {
                "order": order.id,
                "dispute_id": dispute.id,
                "solution": offered.dispute.solutions[-1].id,
            }
        )
        world.advance(minutes=1)
    rounds = _race_the_clock(
        world,
        setups,
        lambda s: handle(world.ctx, world.buyer, s["dispute_id"], AcceptSolution(s["solution"])),
    )
    for setup, (accepted, fired) in zip(setups, rounds, strict=True):
        final = world.dispute(setup["dispute_id"])
        kinds = timeline_kinds(world, final.id)
        assert kinds["dispute.escalated"] == len(fired) <= 1 and kinds["dispute.closed"] <= 1
        if isinstance(accepted, BaseException):
            # Refused: only a policy that freezes the parties under review would, and then
            # the escalation is the one outcome.
            assert isinstance(accepted, CLEAN_REFUSALS)
            assert final.status.value == "under_review" and refunds_of(world, setup["order"]) == {}
        else:
            # The standard policy lets the buyer accept under review as well: escalated
            # first or not, the agreement is the one closing, with one refund.
            assert final.status.value == "closed" and kinds["dispute.closed"] == 1
            assert final.outcome is not None and final.outcome.decided_by.value == "agreement"
            assert refunds_of(world, setup["order"]) == Counter({final.id: 1})
            assert balances(world, setup["order"]).refunded == 1000


def test_buyer_shipping_the_return_races_the_return_deadline(world: World) -> None:
    setups = []
    for _ in range(ROUNDS):
        order = world.shipped_order()
        dispute = world.open(order, outcome="return_and_refund")
        handle(world.ctx, world.seller, dispute.id, AcceptSolution(dispute.solutions[0].id))
        setups.append({"order": order.id, "dispute_id": dispute.id})
        world.advance(minutes=1)
    outcomes = Counter()
    rounds = _race_the_clock(
        world,
        setups,
        lambda s: handle(
            world.ctx,
            world.buyer,
            s["dispute_id"],
            ShipReturn(carrier="DHL", tracking_number="RT1"),
        ),
    )
    for setup, (shipped, fired) in zip(setups, rounds, strict=True):
        final = world.dispute(setup["dispute_id"])
        kinds = timeline_kinds(world, final.id)
        money = balances(world, setup["order"])
        assert money.refunded == 0  # nothing is refunded before the parcel arrives
        if isinstance(shipped, BaseException):
            assert isinstance(shipped, CLEAN_REFUSALS) and len(fired) == 1
            assert final.status.value == "closed" and kinds["return.shipped"] == 0
            assert final.outcome is not None and final.outcome.decided_by.value == "return_timeout"
            assert money.released == 4000  # the disputed item's money went to the seller
            outcomes["return_timeout"] += 1
        else:
            assert fired == [] and kinds["deadline.expired"] == 0
            assert final.status.value == "return_in_transit" and kinds["return.shipped"] == 1
            assert money.released == 0
            outcomes["shipped"] += 1
    print(f"\noutcomes: {dict(outcomes)}")


# --- two refunds of one order; a refund and the payout ----------------------------------------


def test_two_disputes_of_one_order_closing_at_once_refund_no_more_than_paid(
    world: World,
) -> None:
    for _ in range(ROUNDS):
        order = world.shipped_order(prices=("40.00", "15.00"), shipping="5.00")  # 60.00 held
        first = world.open(order, amount="40.00")
        second = handlers.open_dispute(
            world.ctx,
            world.buyer,
            OpenDispute(
                order_id=order.id,
                item_ids=(order.items[1].id,),
                reason="damaged",
                desired_outcome="refund_only",
                amount=Amount.of("15.00"),
                description="Also broken.",
                evidence_file_ids=(world.photo(world.buyer),),
            ),
        )
        results = race(
            *[
                lambda d=d: handle(world.ctx, world.seller, d.id, AcceptSolution(d.solutions[0].id))
                for d in (first, second)
            ]
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert refunds_of(world, order.id) == Counter({first.id: 1, second.id: 1})
        money = balances(world, order.id)
        assert (money.held, money.refunded, money.released, money.in_escrow) == (6000, 5500, 0, 500)


def test_a_refund_racing_the_protection_end_payout_is_paid_once(world: World) -> None:
    """The dispute on one item closes with a refund after protection has ended, while a worker
    keeps firing: the payout of the rest waits for the close, then releases exactly the
    rest, once."""
    for _ in range(ROUNDS):
        world.clock.advance_to(T0)
        order = world.shipped_order(protection_days=30)
        dispute = world.open(order)
        handle(
            world.ctx,
            world.seller,
            dispute.id,
            ProposeSolution(kind="refund_only", amount=Amount.of("5.00")),
        )
        world.clock.advance_to(T0 + timedelta(days=31))
        run_until_idle(world.ctx)  # escalated on day 7; protection has ended since
        assert world.dispute(dispute.id).status.value == "under_review"
        stop = threading.Event()

        def worker(stop: threading.Event = stop) -> int:
            fired = 0
            deadline = time.monotonic() + PATIENCE
            while not stop.is_set() and time.monotonic() < deadline:
                fired += len(fire_due(world.ctx, limit=5))
            return fired + len(fire_due(world.ctx, limit=5))

        def accept(d: Any = dispute, stop: threading.Event = stop) -> object:
            try:
                return handle(world.ctx, world.seller, d.id, AcceptSolution(d.solutions[0].id))
            finally:
                stop.set()

        accepted, fired = race(accept, worker)
        assert unexpected([accepted, fired]) == [] and not isinstance(accepted, BaseException)
        money = balances(world, order.id)
        assert (money.held, money.refunded, money.released, money.in_escrow) == (
            5500,
            4000,
            1500,
            0,
        )
        completed = event_rows(world.engine, type="order.completed", aggregate_id=order.id)
        assert len(completed) == 1
        releases = [r for r in ledger_rows(world.engine, order.id) if r["movement"] == "release"]
        assert len(releases) == 2  # one transaction of two postings


def test_opening_a_dispute_at_the_last_instant_races_the_payout(world: World) -> None:
    """Protection ends as the buyer opens a dispute: either the dispute is open and the money
    stays held, or the payout went first and the dispute is refused -- never a completed
    order with a live dispute."""
    outcomes = Counter()
    for i in range(ROUNDS):
        world.clock.advance_to(T0 + timedelta(hours=i))
        order = world.shipped_order(protection_days=30)
        assert order.protection_ends_at is not None
        photo = world.photo(world.buyer)
        world.clock.advance_to(order.protection_ends_at - timedelta(microseconds=1))
        ends = order.protection_ends_at

        def open_(order: Any = order, photo: str = photo) -> object:
            return handlers.open_dispute(
                world.ctx,
                world.buyer,
                OpenDispute(
                    order_id=order.id,
                    item_ids=(order.items[0].id,),
                    reason="damaged",
                    desired_outcome="refund_only",
                    amount=Amount.of("40.00"),
                    description="Broken.",
                    evidence_file_ids=(photo,),
                ),
            )

        opened, fired = race(open_, lambda ends=ends: fire_due(world.ctx, now=ends))
        assert unexpected([opened, fired]) == []
        money = balances(world, order.id)
        if isinstance(opened, BaseException):
            assert isinstance(opened, NotEligible | VersionConflict), opened
            assert len(fired) == 1 and money.released == 5500
            outcomes["payout"] += 1
        else:
            assert fired == [] and money.released == 0 and money.in_escrow == 5500
            outcomes["dispute"] += 1
    print(f"\noutcomes: {dict(outcomes)}")


# --- bounded retries of a stale write, through the HTTP layer --------------------------------


@pytest.fixture
def stale_writes(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The repository sees a stale version on its next ``fail`` dispute writes (every write
    while ``fail`` is large): the version-checked UPDATE matches no row, as when another
    writer got there first. Counts the dispute writes tried."""
    from sqlalchemy import false

    from fairdeal.adapters.db import repository

    real = repository._versioned_update
    state = {"fail": 0, "tried": 0}

    def versioned_update(table: Any) -> Any:
        if table.name != "disputes":
            return real(table)
        state["tried"] += 1
        if state["fail"] > 0:
            state["fail"] -= 1
            return real(table).where(false())
        return real(table)

    monkeypatch.setattr(repository, "_versioned_update", versioned_update)
    return state


def test_a_stale_write_is_retried_a_bounded_number_of_times_then_answers_412(
    db_url: str, tmp_path: Any, stale_writes: dict[str, int]
) -> None:
    from e2e.support import assert_problem, ok, running_world
    from fairdeal.services.context import MAX_ATTEMPTS

    with running_world(db_url, tmp_path / "files") as api:
        opened = api.open_dispute()
        accept = f"/disputes/{opened['id']}/solutions/{opened['solutions'][0]['id']}/accept"

        # Always stale: MAX_ATTEMPTS tries, then a clean 412 -- never a 500 -- and nothing
        # changed. With and without an Idempotency-Key (whose request runs in a transaction
        # of its own, with the retries as savepoints).
        for headers in ({}, {"Idempotency-Key": "stale-1"}):
            stale_writes.update(fail=10**6, tried=0)
            assert_problem(api.seller.post(accept, headers=headers), 412, "version_conflict")
            assert stale_writes["tried"] == MAX_ATTEMPTS
            unchanged = api.dispute(opened["id"])
            assert (unchanged["status"], unchanged["version"]) == ("awaiting_seller_response", 1)

        # With If-Match the caller asked for that version: one try, no silent retry.
        stale_writes.update(fail=10**6, tried=0)
        sent = {"If-Match": '"1"'}
        assert_problem(api.seller.post(accept, headers=sent), 412, "version_conflict")
        assert stale_writes["tried"] == 1

        # Stale on all but the last attempt: the retry gets through, once.
        stale_writes.update(fail=MAX_ATTEMPTS - 1, tried=0)
        closed = ok(api.seller.post(accept, headers={"Idempotency-Key": "stale-2"}))
        assert stale_writes["tried"] == MAX_ATTEMPTS
        assert closed["status"] == "closed" and closed["version"] == 2
        order = api.get_order(opened["order_id"])
        assert order["escrow"]["pending_refund"]["value"] == "40.00"
        # And the same key replays that answer instead of acting again.
        stale_writes.update(fail=0, tried=0)
        again = api.seller.post(accept, headers={"Idempotency-Key": "stale-2"})
        assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
        assert stale_writes["tried"] == 0


def test_api_processes_starting_at_once_share_one_platform_user(app: App) -> None:
    """Every ``fairdeal serve`` makes sure the platform user of FAIRDEAL_PLATFORM_TOKEN exists
    at start-up; several starting together on a new database all find none and insert. One
    wins; the others must take its user, not die on the unique token (the crash harness's
    forked API processes met this)."""
    from fairdeal.services.users import ensure_platform_user

    token = "fd_races_platform_token_0123456789abcdef"
    for _ in range(3):
        results = race(*[lambda t=token: ensure_platform_user(app.ctx, t) for _ in range(8)])
        failed = [r for r in results if isinstance(r, BaseException)]
        assert failed == [], failed
        assert len({user.id for user in results}) == 1
        token += "x"
