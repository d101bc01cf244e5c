"""What a unit of work says to the database (docs/performance.md, issue 16): the statements of
a read, of opening a dispute and of a refund are counted here, so that a change that adds a
round trip to the hot paths is seen; and a pooled PostgreSQL connection that the server
closed is replaced before it is used, without the ``SELECT 1`` that used to precede every
unit of work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from fairdeal.adapters.db.audit import SqlAuditChains
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.domain.commands import AcceptSolution, ProposeSolution
from fairdeal.domain.money import Amount
from fairdeal.services import disputes, handlers
from fairdeal.services.audit import verify
from integration.support import World, assert_ledger_balanced


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    """Every statement the application's engine sends while the block runs, but for BEGIN,
    COMMIT and ROLLBACK (the drivers send those themselves; on SQLite the engine's BEGIN
    IMMEDIATE goes straight to the driver too)."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            sent.append(" ".join(statement.split())[:60])

    event.listen(world.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(world.engine, "before_cursor_execute", record)


def test_reading_a_dispute_is_one_statement(world: World) -> None:
    dispute = world.open(world.shipped_order())
    with statements(world) as sent:
        view = disputes.get_dispute(world.ctx, world.buyer, dispute.id)
    assert view.dispute.id == dispute.id
    assert len(sent) == 1, sent  # the dispute with its order; no ping, no second read


def test_opening_a_dispute_reads_its_evidence_once_and_answers_without_reading_it_back(
    world: World,
) -> None:
    command = world.opening(world.shipped_order(), world.buyer)
    [photo] = command.evidence_file_ids
    with statements(world) as sent:
        view = handlers.open_dispute_view(world.ctx, world.buyer, command)
    assert sum(s.startswith("SELECT files") for s in sent) == 1, sent
    assert sum(s.startswith("SELECT orders") for s in sent) == 1, sent
    # The answer is the dispute as stored: what a fresh read gives.
    stored = disputes.get_dispute(world.ctx, world.buyer, view.dispute.id)
    assert view.dispute.version == stored.dispute.version == 1
    assert view.allowed_actions == stored.allowed_actions
    assert [e.file_id for e in view.dispute.evidence] == [photo]


def _refund_accepted(world: World, *, forget_chain_length: bool = False) -> tuple[str, list[str]]:
    """A dispute opened and a full refund proposed, then accepted: the order's id and the
    statements of the acceptance. ``forget_chain_length``: the order's row as one written
    before migration 0012 (no ``ledger_seq``)."""
    order = world.shipped_order()
    dispute = world.open(order)
    if forget_chain_length:
        with world.engine.begin() as conn:
            conn.execute(
                text("UPDATE orders SET ledger_seq = NULL WHERE id = :id"), {"id": order.id}
            )
    proposed = handlers.handle(
        world.ctx,
        world.seller,
        dispute.id,
        ProposeSolution("refund_only", Amount.of("40.00"), "Sorry."),
    )
    solution = proposed.dispute.solutions[-1].id
    with statements(world) as sent:
        handlers.handle(world.ctx, world.buyer, dispute.id, AcceptSolution(solution))
    return order.id, sent


def test_a_refund_moves_the_ledger_head_in_the_orders_versioned_update(world: World) -> None:
    order_id, sent = _refund_accepted(world)
    order_updates = [s for s in sent if s.startswith("UPDATE orders")]
    assert len(order_updates) == 1, sent  # the version-checked write carries the new head
    # The chain's length and head came with the order: its tail is not read.
    assert not [s for s in sent if "ledger_entries" in s and s.startswith("SELECT")], sent
    assert_ledger_balanced(world.engine, order_id)
    # The chain still verifies, head included (ADR 0003).
    assert verify(SqlAuditChains(world.engine)).ok
    assert _stored_chain_length(world, order_id) == _chain_length(world, order_id)


def test_an_order_row_that_does_not_know_its_chain_length_reads_the_tail_and_learns_it(
    world: World,
) -> None:
    """A row written before migration 0012 (or loaded by hand) has no ``ledger_seq``: the
    append reads the chain's tail instead, links onto it, and stores the length."""
    order_id, sent = _refund_accepted(world, forget_chain_length=True)
    assert [s for s in sent if "ledger_entries" in s and s.startswith("SELECT")], sent
    assert_ledger_balanced(world.engine, order_id)
    assert verify(SqlAuditChains(world.engine)).ok
    assert _stored_chain_length(world, order_id) == _chain_length(world, order_id) > 1


def _stored_chain_length(world: World, order_id: str) -> int | None:
    with world.engine.connect() as conn:
        found = conn.execute(
            text("SELECT ledger_seq FROM orders WHERE id = :id"), {"id": order_id}
        ).scalar()
    return None if found is None else int(found)


def _chain_length(world: World, order_id: str) -> int:
    with world.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT COUNT(*) FROM ledger_entries WHERE order_id = :id"), {"id": order_id}
            ).scalar_one()
        )


def test_an_order_whose_ledger_did_not_grow_keeps_its_ledger_head(world: World) -> None:
    order = world.shipped_order()
    dispute = world.open(order)
    with world.engine.connect() as conn:
        head = conn.execute(
            text("SELECT ledger_head FROM orders WHERE id = :id"), {"id": order.id}
        ).scalar()
    assert head  # the payment is on the chain from the start
    handlers.handle(
        world.ctx, world.seller, dispute.id, ProposeSolution("refund_only", Amount.of("1.00"), "")
    )
    world.open(world.shipped_order())  # another order changes beside it
    with world.engine.connect() as conn:
        after = conn.execute(
            text("SELECT ledger_head FROM orders WHERE id = :id"), {"id": order.id}
        ).scalar()
    assert after == head
    assert verify(SqlAuditChains(world.engine)).ok


def test_a_pooled_connection_the_server_closed_is_replaced_before_use(
    world: World, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to close a connection")
    dispute = world.open(world.shipped_order())
    with world.engine.connect() as conn:
        pooled = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    # The server closes the pooled connection (as a restart would), from another session.
    admin = create_engine(db_url, poolclass=NullPool)
    with admin.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled}).scalar()
    admin.dispose()
    time.sleep(0.2)  # the server's goodbye reaches the socket
    with statements(world) as sent:
        view = disputes.get_dispute(world.ctx, world.buyer, dispute.id)
    assert view.dispute.id == dispute.id
    assert len(sent) == 1, sent  # replaced without a ping
    with world.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pooled


def test_the_pool_size_is_a_setting(db_url: str) -> None:
    """FAIRDEAL_DATABASE_POOL_SIZE: connections kept, and as many more opened under load and
    closed when they come back (docs/deployment.md, "Pool sizes")."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite file databases keep their own small pool")
    app = bootstrap(Settings(database_url=db_url, database_pool_size=3))
    try:
        pool: Any = app.engine.pool
        held = [app.engine.connect() for _ in range(6)]  # 3 kept + 3 more
        pool._timeout = 0.1  # the seventh waits for one to come back, here not for long
        with pytest.raises(sqlalchemy.exc.TimeoutError):
            app.engine.connect()
        for conn in held:
            conn.close()
        assert (pool.size(), pool.checkedin()) == (3, 3)  # the 3 extra ones were closed
    finally:
        app.dispose()
