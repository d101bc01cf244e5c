"""The list rows' summary of a dispute (migration 0011): what ``summaries`` answers is what
the aggregates say (``services.reports.summary_of``), filled on every save, read back without
a document, decoded where the column is empty, and backfilled by the migration (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, null, select, update

import integration.test_repository as repository_tests
from builders import MEDIATOR, SELLER, T0, no_holiday, open_dispute, shipped_order, store
from databases import BACKENDS, engine_at_revision, upgrade_to
from fairdeal.adapters.db import tables
from fairdeal.adapters.db.migrate import alembic_config
from fairdeal.adapters.db.repository import SqlUnitOfWorkFactory
from fairdeal.bootstrap import App
from fairdeal.domain.dispute import Dispute, Status
from fairdeal.domain.money import Money
from fairdeal.domain.order import Order
from fairdeal.policies import all_policies, load_preset
from fairdeal.services.ports import DisputeFilter, UnitOfWorkFactory
from fairdeal.services.reports import summary_of

QUERIES = (
    DisputeFilter(limit=50),
    DisputeFilter(seller_id=SELLER.user_id, limit=50),
    DisputeFilter(status=Status.UNDER_REVIEW.value, mediator_queue=True, limit=50),
)


def _scene() -> list[Order | Dispute]:
    """A closed dispute that went through everything, one under review waiting for evidence
    with a seller's message the scam check warned about, and one just opened."""
    closed, closed_order = repository_tests.a_full_dispute()
    review, review_order = open_dispute(
        shipped_order(order_id="ord_review"), dispute_id="dsp_review"
    )
    review.propose_solution(SELLER, kind="refund_only", amount=Money.parse("5", "USD"), now=T0)
    review.post_message(SELLER, body="I will refund you via PayPal, give me your email", now=T0)
    deadline = review.deadline
    assert deadline is not None
    review.expire(now=deadline.due_at, is_holiday=no_holiday)
    review.assign(MEDIATOR, mediator_id=MEDIATOR.user_id, now=deadline.due_at)
    review.request_evidence(
        MEDIATOR, party="seller", request="The invoice.", days=None, now=deadline.due_at
    )
    assert review.status is Status.UNDER_REVIEW
    fresh, fresh_order = open_dispute(
        shipped_order(order_id="ord_fresh"), dispute_id="dsp_fresh", amount="12.50"
    )
    return [closed_order, closed, review_order, review, fresh_order, fresh]


def _assert_summaries_match_the_aggregates(uow_factory: UnitOfWorkFactory) -> None:
    for query in QUERIES:
        with uow_factory(write=False) as uow:
            listed = uow.disputes.summaries(query)
        with uow_factory(write=False) as uow:
            disputes = uow.disputes.list(query)
            expected = []
            for d in disputes:
                order = uow.orders.get(d.order_id)
                assert order is not None
                expected.append((summary_of(d), [item.title for item in order.items]))
        assert listed == expected and listed


def test_the_summaries_are_what_the_aggregates_say(app: App) -> None:
    store(app.ctx.uow, *_scene())
    _assert_summaries_match_the_aggregates(app.ctx.uow)
    with app.ctx.uow(write=False) as uow:
        (review, _titles), *_ = uow.disputes.summaries(QUERIES[2])
    assert review.mediation is not None and review.mediation.waiting_for_evidence
    assert review.scam_warnings > 0 and review.deadline is not None
    with app.ctx.uow(write=False) as uow:
        closed = next(s for s, _ in uow.disputes.summaries(QUERIES[0]) if s.id == "dsp_full")
    assert closed.result is not None and closed.refund == Money.parse("40", "USD")


def test_a_row_without_its_summary_is_decoded_instead(app: App) -> None:
    store(app.ctx.uow, *_scene())
    with app.engine.begin() as conn:
        conn.execute(update(tables.disputes).values(summary=null()))  # SQL NULL, not JSON null
    _assert_summaries_match_the_aggregates(app.ctx.uow)


@pytest.fixture(params=BACKENDS)
def engine_at_head(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with engine_at_revision(request.param, tmp_path, "head") as engine:
        yield engine


def test_migration_0011_backfills_the_summary_as_a_save_fills_it(engine_at_head: Engine) -> None:
    engine = engine_at_head
    uow_factory = SqlUnitOfWorkFactory(engine, all_policies(load_preset("standard")))
    store(uow_factory, *_scene())
    d = tables.disputes

    def summaries() -> dict[str, object]:
        with engine.connect() as conn:
            return dict(conn.execute(select(d.c.id, d.c.summary)).all())

    saved = summaries()
    assert len(saved) == 3 and all(saved.values())
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
    upgrade_to(engine)
    assert summaries() == saved
    _assert_summaries_match_the_aggregates(uow_factory)


def test_the_summary_follows_the_dispute_on_every_save(app: App) -> None:
    store(app.ctx.uow, *_scene())
    with app.ctx.uow() as uow:
        fresh = uow.disputes.get("dsp_fresh")
        assert fresh is not None
        fresh.post_message(SELLER, body="Sorry to hear that.", now=T0 + timedelta(hours=1))
        uow.commit()
    _assert_summaries_match_the_aggregates(app.ctx.uow)
