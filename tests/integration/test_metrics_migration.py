"""Migration 0007 backfills the metrics' dispute columns of an existing database from the
dispute documents (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from databases import BACKENDS, engine_at_revision, upgrade_to
from fairdeal.adapters.db import tables


@pytest.fixture(params=BACKENDS)
def engine_at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with engine_at_revision(request.param, tmp_path, "0005") as engine:
        yield engine


def _doc(dispute_id: str, status: str, **more: object) -> dict[str, object]:
    return {
        "id": dispute_id,
        "buyer_id": "usr_b",
        "seller_id": "usr_s",
        "status": status,
        "reason": "damaged",
        "messages": [
            {"author_id": "usr_s", "warnings": ["pay_outside_platform", "close_for_promise"]},
            {"author_id": "usr_b", "warnings": []},
            {"author_id": "usr_s", "warnings": ["feedback_pressure"]},
        ],
        "mediation": None,
        "outcome": None,
        "closed_at": None,
        **more,
    }


def test_migration_0007_backfills_the_metrics_columns(engine_at_0005: Engine) -> None:
    engine = engine_at_0005
    closed = _doc(
        "dsp_closed",
        "closed",
        mediation={"escalated_at": "2026-11-05T10:00:00+00:00"},
        outcome={"result": "buyer_favour", "refund": {"minor": 3000, "currency": "EUR"}},
        closed_at="2026-11-09T10:00:00+00:00",
    )
    live = _doc("dsp_live", "negotiating")
    is_pg = engine.dialect.name == "postgresql"
    doc = "CAST(:doc AS jsonb)" if is_pg else ":doc"
    with engine.begin() as conn:
        for row in (closed, live):
            conn.execute(
                text(
                    "INSERT INTO disputes (id, order_id, buyer_id, seller_id, status, version,"
                    f" doc, created_at, updated_at) VALUES (:id, 'ord_a', 'usr_b', 'usr_s',"
                    f" :status, 3, {doc}, :at, :at)"
                ),
                {
                    "id": row["id"],
                    "status": row["status"],
                    "doc": json.dumps(row),
                    "at": "2026-11-02 10:00:00",
                },
            )
    upgrade_to(engine)
    d = tables.disputes
    with engine.connect() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                select(
                    d.c.id,
                    d.c.reason,
                    d.c.escalated_at,
                    d.c.closed_at,
                    d.c.result,
                    d.c.refund_minor,
                    d.c.buyer_warnings,
                    d.c.seller_warnings,
                )
            )
        }
    c, live_row = rows["dsp_closed"], rows["dsp_live"]
    assert (c.reason, c.result, c.refund_minor) == ("damaged", "buyer_favour", 3000)
    assert c.escalated_at == datetime(2026, 11, 5, 10, tzinfo=UTC)
    assert c.closed_at == datetime(2026, 11, 9, 10, tzinfo=UTC)
    assert (c.seller_warnings, c.buyer_warnings) == (3, 0)
    assert (live_row.result, live_row.closed_at, live_row.escalated_at) == (None, None, None)
    assert live_row.refund_minor is None and live_row.seller_warnings == 3
