"""The tamper-evident record on SQLite and PostgreSQL: timelines and ledgers written by the
services verify; an edit of one row by raw SQL -- changed content, a deleted row, rows moved
or inserted -- is caught and named; an existing database is backfilled by migration 0004; and
every refused authorization of the API is logged on ``fairdeal.security``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from databases import BACKENDS, engine_at_revision
from fairdeal.adapters.db.audit import SqlAuditChains
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.cli import app as cli
from fairdeal.domain import audit
from fairdeal.domain.commands import AcceptSolution, PostMessage
from fairdeal.services.audit import AuditReport, verify
from fairdeal.services.handlers import handle
from integration.support import World, ledger_rows

runner = CliRunner()


def settled(world: World) -> tuple[str, str]:
    """An order with a dispute the seller settled by accepting the buyer's refund: a timeline of
    a few entries and a ledger of hold + refund (four rows). Returns (dispute id, order id)."""
    order = world.shipped_order()
    dispute = world.open(order)
    handle(world.ctx, world.seller, dispute.id, PostMessage(body="Sorry about that."))
    handle(world.ctx, world.seller, dispute.id, AcceptSolution(dispute.primary_solution.id))
    return dispute.id, order.id


def check(world: World) -> AuditReport:
    return verify(SqlAuditChains(world.engine))


def only_break(report: AuditReport) -> audit.Break:
    assert len(report.breaks) == 1, report.breaks
    return report.breaks[0]


def edit_document(engine: Engine, dispute_id: str, change: Callable[[list[Any]], None]) -> None:
    """Edit a dispute's stored timeline the way an intruder with SQL access would: read the
    row, change the JSON, write it back -- nothing of the application involved."""
    with engine.begin() as conn:
        doc = conn.execute(text("SELECT doc FROM disputes WHERE id = :id"), {"id": dispute_id})
        value = doc.scalar_one()
        document = json.loads(value) if isinstance(value, str) else value
        change(document["timeline"])
        cast = "CAST(:doc AS jsonb)" if engine.dialect.name == "postgresql" else ":doc"
        conn.execute(
            text(f"UPDATE disputes SET doc = {cast} WHERE id = :id"),
            {"doc": json.dumps(document), "id": dispute_id},
        )


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


# --- what the services write verifies ---------------------------------------------------------


def test_every_timeline_entry_and_ledger_entry_is_chained_and_verifies(world: World) -> None:
    dispute_id, order_id = settled(world)
    other_dispute, other_order = settled(world)
    report = check(world)
    assert report.ok, report.breaks
    timeline = world.dispute(dispute_id).timeline
    assert len(timeline) >= 3 and all(len(e.hash) == 64 for e in timeline)
    rows = ledger_rows(world.engine, order_id)
    assert [r["chain_seq"] for r in rows] == [1, 2, 3, 4]
    assert len({r["hash"] for r in rows}) == 4
    # Every entry of both kinds was walked: two disputes' timelines, two orders' ledgers.
    expected = sum(len(world.dispute(d).timeline) for d in (dispute_id, other_dispute))
    expected += len(ledger_rows(world.engine, order_id)) + len(
        ledger_rows(world.engine, other_order)
    )
    assert report.entries == expected
    # The chain heads are recorded beside the aggregates.
    with world.engine.connect() as conn:
        head = conn.execute(
            text("SELECT timeline_head FROM disputes WHERE id = :id"), {"id": dispute_id}
        ).scalar_one()
        ledger_head = conn.execute(
            text("SELECT ledger_head FROM orders WHERE id = :id"), {"id": order_id}
        ).scalar_one()
    assert head == timeline[-1].hash
    assert ledger_head == rows[-1]["hash"]


# --- timelines: the JSON document edited -------------------------------------------------------


def test_an_edited_timeline_entry_is_caught_and_named(world: World) -> None:
    dispute_id, _ = settled(world)
    settled(world)  # an untouched neighbour stays clean

    def forge(timeline: list[Any]) -> None:
        timeline[1]["summary"] = "The seller refunded in full outside the platform."

    edit_document(world.engine, dispute_id, forge)
    broken = only_break(check(world))
    assert (broken.chain, broken.aggregate_id, broken.entry) == (
        "timeline",
        dispute_id,
        "timeline entry #2",
    )


def test_a_timeline_entry_with_a_changed_actor_is_caught(world: World) -> None:
    dispute_id, _ = settled(world)

    def forge(timeline: list[Any]) -> None:
        timeline[0]["actor_role"] = "mediator"

    edit_document(world.engine, dispute_id, forge)
    assert only_break(check(world)).entry == "timeline entry #1"


def test_a_deleted_timeline_entry_is_caught(world: World) -> None:
    dispute_id, _ = settled(world)
    edit_document(world.engine, dispute_id, lambda timeline: timeline.pop(1))
    broken = only_break(check(world))
    assert broken.entry == "timeline entry #2"  # the entry that followed the deleted one


def test_a_deleted_last_timeline_entry_is_caught_by_the_head(world: World) -> None:
    dispute_id, _ = settled(world)
    length = len(world.dispute(dispute_id).timeline)
    edit_document(world.engine, dispute_id, lambda timeline: timeline.pop())
    broken = only_break(check(world))
    assert broken.entry == f"after timeline entry #{length - 1}"
    assert "head" in broken.reason


def test_reordered_or_inserted_timeline_entries_are_caught(world: World) -> None:
    first, _ = settled(world)
    second, _ = settled(world)

    def swap(timeline: list[Any]) -> None:
        timeline[1], timeline[2] = timeline[2], timeline[1]

    def insert(timeline: list[Any]) -> None:
        forged = dict(timeline[0], summary="The buyer withdrew the claim.")
        timeline.insert(1, forged)

    edit_document(world.engine, first, swap)
    edit_document(world.engine, second, insert)
    report = check(world)
    assert sorted((b.aggregate_id, b.entry) for b in report.breaks) == sorted(
        [(first, "timeline entry #2"), (second, "timeline entry #2")]
    )


def test_a_timeline_copied_from_another_dispute_is_caught(world: World) -> None:
    victim, _ = settled(world)
    donor, _ = settled(world)
    with world.engine.connect() as conn:
        value = conn.execute(
            text("SELECT doc FROM disputes WHERE id = :id"), {"id": donor}
        ).scalar_one()
    donated = (json.loads(value) if isinstance(value, str) else value)["timeline"]

    def transplant(timeline: list[Any]) -> None:
        timeline[:] = donated

    edit_document(world.engine, victim, transplant)
    sql(
        world.engine,
        "UPDATE disputes SET timeline_head = :head WHERE id = :id",
        head=donated[-1]["hash"],
        id=victim,
    )
    broken = only_break(check(world))
    assert (broken.aggregate_id, broken.entry) == (victim, "timeline entry #1")


# --- ledgers: the rows edited ----------------------------------------------------------------


def test_a_changed_amount_is_caught_even_when_the_transaction_still_balances(
    world: World,
) -> None:
    _, order_id = settled(world)
    rows = ledger_rows(world.engine, order_id)
    refund = [r for r in rows if r["movement"] == "refund"]
    # The intruder shrinks both postings of the refund, so the transaction still sums to 0.
    for row in refund:
        sign = 1 if row["amount_minor"] > 0 else -1
        sql(
            world.engine,
            "UPDATE ledger_entries SET amount_minor = :amount WHERE id = :id",
            amount=sign * 100,
            id=row["id"],
        )
    broken = only_break(check(world))
    assert (broken.chain, broken.aggregate_id) == ("ledger", order_id)
    assert broken.entry == f"ledger entry id={refund[0]['id']}"


def test_a_deleted_ledger_row_is_caught_at_the_next_row(world: World) -> None:
    _, order_id = settled(world)
    rows = ledger_rows(world.engine, order_id)
    sql(world.engine, "DELETE FROM ledger_entries WHERE id = :id", id=rows[1]["id"])
    broken = only_break(check(world))
    assert broken.entry == f"ledger entry id={rows[2]['id']}"
    assert "position 3, expected 2" in broken.reason


def test_deleted_last_ledger_rows_are_caught_by_the_head(world: World) -> None:
    _, order_id = settled(world)
    rows = ledger_rows(world.engine, order_id)
    sql(
        world.engine,
        "DELETE FROM ledger_entries WHERE id IN (:a, :b)",
        a=rows[2]["id"],
        b=rows[3]["id"],
    )
    broken = only_break(check(world))
    assert broken.entry == f"after ledger entry id={rows[1]['id']}"


def test_a_whole_deleted_ledger_is_caught_by_the_head(world: World) -> None:
    _, order_id = settled(world)
    sql(world.engine, "DELETE FROM ledger_entries WHERE order_id = :id", id=order_id)
    broken = only_break(check(world))
    assert (broken.aggregate_id, broken.entry) == (order_id, "after genesis")


def test_reordered_ledger_rows_are_caught(world: World) -> None:
    _, order_id = settled(world)
    a, b = ledger_rows(world.engine, order_id)[1:3]
    sql(world.engine, "UPDATE ledger_entries SET chain_seq = -1 WHERE id = :id", id=a["id"])
    sql(world.engine, "UPDATE ledger_entries SET chain_seq = 2 WHERE id = :id", id=b["id"])
    sql(world.engine, "UPDATE ledger_entries SET chain_seq = 3 WHERE id = :id", id=a["id"])
    broken = only_break(check(world))
    assert broken.entry == f"ledger entry id={b['id']}"


def test_an_inserted_ledger_row_is_caught_even_with_a_correct_link(world: World) -> None:
    """The intruder knows the format and computes the forged row's hash from the real last
    one; the head recorded on the order still says the chain ended before it."""
    _, order_id = settled(world)
    last = ledger_rows(world.engine, order_id)[-1]
    content = audit.ledger_content(
        seq=5,
        txn_id="txn_forged",
        order_id=order_id,
        dispute_id=None,
        movement="release",
        account="seller_payout",
        currency="EUR",
        amount_minor=1500,
        at=last["created_at"].isoformat(),
    )
    sql(
        world.engine,
        "INSERT INTO ledger_entries (txn_id, order_id, movement, account, currency,"
        " amount_minor, created_at, chain_seq, hash) VALUES ('txn_forged', :order_id, 'release',"
        " 'seller_payout', 'EUR', 1500, :at, 5, :hash)",
        order_id=order_id,
        at=last["created_at"],
        hash=audit.entry_hash(last["hash"], content),
    )
    broken = only_break(check(world))
    assert broken.entry == "after ledger entry id=" + str(last["id"] + 1)
    assert "head" in broken.reason


def test_a_consistent_rewrite_of_a_whole_chain_is_not_caught(world: World) -> None:
    """What the chain does not protect against (ADR 0003): an intruder who recomputes every
    hash after the edit and moves the head too. Anchoring the heads outside the database is
    the step that would catch this; until then this test pins the limit down."""
    _, order_id = settled(world)
    rows = ledger_rows(world.engine, order_id)
    previous = audit.ledger_genesis(order_id)
    for row in rows:
        if row["movement"] == "refund":
            row["amount_minor"] = 100 if row["amount_minor"] > 0 else -100
        content = audit.ledger_content(
            seq=row["chain_seq"],
            txn_id=row["txn_id"],
            order_id=order_id,
            dispute_id=row["dispute_id"],
            movement=row["movement"],
            account=row["account"],
            currency=row["currency"],
            amount_minor=row["amount_minor"],
            at=row["created_at"].isoformat(),
        )
        previous = audit.entry_hash(previous, content)
        sql(
            world.engine,
            "UPDATE ledger_entries SET amount_minor = :amount, hash = :hash WHERE id = :id",
            amount=row["amount_minor"],
            hash=previous,
            id=row["id"],
        )
    sql(world.engine, "UPDATE orders SET ledger_head = :h WHERE id = :id", h=previous, id=order_id)
    assert check(world).ok


# --- the command -------------------------------------------------------------------------------


def test_audit_verify_exits_non_zero_naming_the_first_broken_entry(
    world: World, db_url: str
) -> None:
    _, order_id = settled(world)
    result = runner.invoke(cli, ["audit", "verify"], env={"FAIRDEAL_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "every chain verifies" in result.output

    row = ledger_rows(world.engine, order_id)[0]
    sql(world.engine, "UPDATE ledger_entries SET currency = 'USD' WHERE id = :id", id=row["id"])
    result = runner.invoke(cli, ["audit", "verify"], env={"FAIRDEAL_DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert f"BROKEN ledger {order_id}: ledger entry id={row['id']}:" in result.output
    assert "1 broken chain(s)" in result.output


# --- an existing database: migration 0004 backfills the chains --------------------------------


@pytest.fixture(params=BACKENDS)
def legacy_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated only to 0003, as one deployed before the chains existed."""
    with engine_at_revision(request.param, tmp_path, "0003") as engine:
        yield engine


def test_migration_0004_backfills_the_chains_of_an_existing_database(
    legacy_engine: Engine,
) -> None:
    at = "2026-11-02 10:00:00"
    timeline = [
        {
            "at": f"2026-11-02T10:0{n}:00+00:00",
            "type": kind,
            "actor_role": role,
            "summary": f"entry {n}",
            "actor_id": None if role == "system" else "usr_1",
        }
        for n, (kind, role) in enumerate(
            [("dispute.opened", "buyer"), ("solution.proposed", "seller"), ("x", "system")]
        )
    ]
    is_pg = legacy_engine.dialect.name == "postgresql"
    doc = "CAST(:doc AS jsonb)" if is_pg else ":doc"
    with legacy_engine.begin() as conn:
        for dispute_id in ("dsp_a", "dsp_b"):
            conn.execute(
                text(
                    "INSERT INTO disputes (id, order_id, buyer_id, seller_id, status, version,"
                    f" doc, created_at, updated_at) VALUES (:id, 'ord_a', 'usr_1', 'usr_2',"
                    f" 'closed', 3, {doc}, :at, :at)"
                ),
                {
                    "id": dispute_id,
                    "doc": json.dumps({"id": dispute_id, "timeline": timeline}),
                    "at": at,
                },
            )
        conn.execute(
            text(
                "INSERT INTO orders (id, buyer_id, seller_id, status, version, doc, created_at)"
                f" VALUES ('ord_a', 'usr_1', 'usr_2', 'completed', 2, {doc}, :at)"
            ),
            {"doc": json.dumps({"id": "ord_a"}), "at": at},
        )
        for txn, movement, source, target, amount in [
            ("txn_1", "hold", "buyer_payment", "escrow", 5500),
            ("txn_2", "refund", "escrow", "buyer_refund", 4000),
        ]:
            for account, minor in ((source, -amount), (target, amount)):
                conn.execute(
                    text(
                        "INSERT INTO ledger_entries (txn_id, order_id, movement, account,"
                        " currency, amount_minor, created_at) VALUES (:txn, 'ord_a', :movement,"
                        " :account, 'EUR', :minor, :at)"
                    ),
                    {
                        "txn": txn,
                        "movement": movement,
                        "account": account,
                        "minor": minor,
                        "at": at,
                    },
                )

    upgrade(legacy_engine)

    report = verify(SqlAuditChains(legacy_engine))
    assert report.ok, report.breaks
    assert (report.chains, report.entries) == (3, 2 * 3 + 4)
    # The backfilled chains are real: an edit after the migration is caught.
    sql(legacy_engine, "UPDATE ledger_entries SET amount_minor = 3999 WHERE amount_minor = 4000")
    broken = only_break(verify(SqlAuditChains(legacy_engine)))
    assert (broken.chain, broken.aggregate_id) == ("ledger", "ord_a")


# --- refused authorizations are logged ---------------------------------------------------------


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "fairdeal.security"]


def test_a_strangers_look_at_a_dispute_is_logged_with_actor_target_and_time(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from e2e.support import running_world

    with running_world(db_url, tmp_path / "files") as api:
        dispute = api.open_dispute()
        stranger = api.other_buyer
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="fairdeal.security"):
            assert api.buyer.get(f"/disputes/{dispute['id']}").status_code == 200
            assert not refusals(caplog)  # the party itself is not refused
            response = stranger.get(f"/disputes/{dispute['id']}")
            assert response.status_code == 404
            forbidden = api.seller.post(f"/disputes/{dispute['id']}/cancel")
            assert forbidden.status_code == 403
            anonymous = api.anonymous.get(f"/disputes/{dispute['id']}")
            assert anonymous.status_code == 401
            assert api.anonymous.get("/disputes/x%0D%0Aforged-line").status_code == 401

    records = refusals(caplog)
    assert [r.code for r in records] == [  # type: ignore[attr-defined]
        "not_found",
        "forbidden",
        "unauthenticated",
        "unauthenticated",
    ]
    stranger_record, seller_record, anonymous_record, injected = records
    fields = vars(stranger_record)
    assert fields["event"] == "authorization.refused"
    assert fields["actor_id"] == stranger.user_id
    assert fields["actor_role"] == "buyer"
    assert fields["target_ids"] == {"dispute_id": dispute["id"]}
    assert fields["target"] == f"GET /api/v1/disputes/{dispute['id']}"
    assert fields["at"].endswith("+00:00")  # UTC
    assert stranger_record.levelno == logging.WARNING
    assert stranger.user_id in stranger_record.getMessage()
    assert vars(seller_record)["actor_id"] == api.seller.user_id
    assert vars(seller_record)["target"] == f"POST /api/v1/disputes/{dispute['id']}/cancel"
    assert vars(anonymous_record)["actor_id"] is None
    assert "anonymous" in anonymous_record.getMessage()
    # A CR/LF in the path cannot forge a log line.
    assert "\n" not in injected.getMessage() and "\r" not in injected.getMessage()


def test_a_strangers_look_at_a_dispute_page_is_logged_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The web pages render their own refusal pages; their route wrapper logs them the same
    way (SQLite only: the record does not depend on the database)."""
    import re

    from e2e.support import TestClient  # imported there with Starlette's deprecation quiet
    from fairdeal.bootstrap import bootstrap
    from fairdeal.config import Settings
    from fairdeal.demo import DEMO_PASSWORD, seed_sandbox
    from fairdeal.entrypoints.api.app import create_app

    app = bootstrap(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'web.db'}",
            sandbox=True,
            storage_dir=str(tmp_path / "files"),
            rate_limit_writes_per_minute=0,
        )
    )
    try:
        upgrade(app.engine)
        accounts = seed_sandbox(app)
        bobs = accounts.dispute_ids["under_review"]
        with TestClient(create_app(app)) as http:
            page = http.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None
            signed_in = http.post(
                "/login",
                data={
                    "email": "alice@demo.test",
                    "password": DEMO_PASSWORD,
                    "csrf_token": csrf.group(1),
                },
                follow_redirects=False,
            )
            assert signed_in.status_code == 303
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="fairdeal.security"):
                assert http.get(f"/disputes/{bobs}").status_code == 404
                assert http.get("/admin").status_code == 403
    finally:
        app.engine.dispose()
    records = [vars(r) for r in refusals(caplog)]
    alice = accounts.actors["alice"].user_id
    assert [(r["code"], r["actor_id"], r["channel"]) for r in records] == [
        ("not_found", alice, "web"),
        ("forbidden", alice, "web"),
    ]
    assert records[0]["target"] == f"GET /disputes/{bobs}"
    assert records[0]["target_ids"] == {"dispute_id": bobs}
