"""``python -m benchmarks audit``: how fast ``fairdeal audit verify`` walks the hash chains
(docs/audit.md; the target is 50,000 entries/s), on PostgreSQL and on SQLite.

Seeds ``entries`` timeline entries (disputes of 10 entries each, documents written by the
domain and the codec: a real case file, not just a timeline) and ``entries`` ledger entries
(orders of 4: the hold and a refund), every chain computed as the application computes it.
Then, per kind of chain and best of ``runs``:

- baseline: the very statement the verifier runs, rows streamed and dropped (the cost of
  getting the rows out of the database into Python);
- read: the same, plus building the stored entries the verifier hashes (no hashing);
- verify: the verifier itself (``services.audit.verify`` over ``SqlAuditChains``).

The ratio verify/baseline is what the hashing and the walk add to merely reading the rows."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from benchmarks.common import (
    drop_database,
    ratio,
    recreate_database,
    say,
    table,
    write_result,
)
from fairdeal.adapters.db import tables
from fairdeal.adapters.db.audit import SqlAuditChains, ledger_query, timeline_query
from fairdeal.adapters.db.codec import encode
from fairdeal.adapters.db.engine import begin, make_engine
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.domain import audit
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.money import Money
from fairdeal.domain.order import LineItem, Order, Payment
from fairdeal.domain.roles import Actor, Role
from fairdeal.policies import load_policy
from fairdeal.services.audit import verify

PG_DATABASE = "fairdeal_bench_audit"  # its own: the other benchmarks use fairdeal_bench
TIMELINE_PER_DISPUTE = 10
LEDGER_PER_ORDER = 4
CHUNK = 5_000
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
BUYER, SELLER = Actor("usr_b", Role.BUYER), Actor("usr_s", Role.SELLER)


def template_dispute() -> dict[str, Any]:
    """A case file with ten timeline entries, built by the domain: opened, a counter-offer,
    rejected, then messages back and forth; as the codec stores it."""
    policy = load_policy("standard")
    order = Order.register_paid(
        order_id="ord_TEMPLATE",
        buyer_id=BUYER.user_id,
        seller_id=SELLER.user_id,
        currency="EUR",
        items=[LineItem("ord_TEMPLATE_1", "SKU1", "Kettle", None, 1, Money.parse("40.00", "EUR"))],
        shipping_cost=Money.parse("5.00", "EUR"),
        payment=Payment("card", "pay_1", "DE"),
        policy=policy,
        now=T0 - timedelta(days=13),
    )
    order.ship(carrier="DHL", tracking_number="T1", protection_days=60, now=T0 - timedelta(days=12))
    dispute = Dispute.open(
        dispute_id="dsp_TEMPLATE",
        order=order,
        buyer=BUYER,
        item_ids=[order.items[0].id],
        reason="damaged",
        desired_outcome="refund_only",
        amount=Money.parse("40.00", "EUR"),
        description="It arrived broken: the lid is cracked and the base is dented.",
        evidence=[("file_photo", "image/jpeg")],
        policy=policy,
        now=T0,
    )
    offer = dispute.propose_solution(
        SELLER, kind="refund_only", amount=Money.parse("10.00", "EUR"), now=T0 + timedelta(hours=1)
    )
    dispute.reject_solution(BUYER, offer.id, now=T0 + timedelta(hours=2))
    n = 3
    while len(dispute.timeline) < TIMELINE_PER_DISPUTE:
        who = SELLER if n % 2 else BUYER
        dispute.post_message(
            who, body=f"Message {n}: about the parcel and the photos.", now=T0 + timedelta(hours=n)
        )
        n += 1
    document: dict[str, Any] = encode(dispute)
    document["timeline"] = document["timeline"][:TIMELINE_PER_DISPUTE]
    return document


def _disputes(count: int) -> Iterator[dict[str, Any]]:
    template = json.dumps(template_dispute())
    for k in range(count):
        dispute_id = f"dsp_{k:010d}"
        document = json.loads(template.replace("dsp_TEMPLATE", dispute_id))
        previous = audit.timeline_genesis(dispute_id)
        for entry in document["timeline"]:
            entry["hash"] = previous = audit.entry_hash(previous, entry)
        yield {
            "id": dispute_id,
            "order_id": f"ord_d{k:010d}",
            "buyer_id": BUYER.user_id,
            "seller_id": SELLER.user_id,
            "status": document["status"],
            "version": 5,
            "doc": document,
            "created_at": T0,
            "updated_at": T0,
            "timeline_head": previous,
        }


def _orders_and_ledger(count: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    movements = [
        ("txn_h", "hold", "buyer_payment", -4500),
        ("txn_h", "hold", "escrow", 4500),
        ("txn_r", "refund", "escrow", -4000),
        ("txn_r", "refund", "buyer_refund", 4000),
    ]
    at = T0.isoformat()
    for k in range(count):
        order_id = f"ord_{k:010d}"
        previous = audit.ledger_genesis(order_id)
        rows = []
        for seq, (txn, movement, account, minor) in enumerate(movements, 1):
            txn_id = f"{txn}_{k:010d}"
            dispute_id = f"dsp_{k:010d}" if movement == "refund" else None
            row: dict[str, Any] = {
                "txn_id": txn_id,
                "order_id": order_id,
                "dispute_id": dispute_id,
                "movement": movement,
                "account": account,
                "currency": "EUR",
                "amount_minor": minor,
                "created_at": T0,
                "chain_seq": seq,
            }
            content = audit.ledger_content(
                seq=seq,
                txn_id=txn_id,
                order_id=order_id,
                dispute_id=dispute_id,
                movement=movement,
                account=account,
                currency="EUR",
                amount_minor=minor,
                at=at,
            )
            row["hash"] = previous = audit.entry_hash(previous, content)
            rows.append(row)
        order = {
            "id": order_id,
            "buyer_id": BUYER.user_id,
            "seller_id": SELLER.user_id,
            "status": "completed",
            "version": 3,
            "doc": {"id": order_id},
            "created_at": T0,
            "ledger_head": previous,
        }
        yield order, rows


def seed(engine: Engine, entries: int) -> None:
    disputes = -(-entries // TIMELINE_PER_DISPUTE)
    orders = -(-entries // LEDGER_PER_ORDER)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for row in _disputes(disputes):
        batch.append(row)
        if len(batch) == CHUNK // TIMELINE_PER_DISPUTE * 2:
            _insert(engine, tables.disputes, batch)
            batch = []
    _insert(engine, tables.disputes, batch)
    order_batch: list[dict[str, Any]] = []
    ledger_batch: list[dict[str, Any]] = []
    for order, rows in _orders_and_ledger(orders):
        order_batch.append(order)
        ledger_batch.extend(rows)
        if len(ledger_batch) >= CHUNK:
            _insert(engine, tables.orders, order_batch)
            _insert(engine, tables.ledger_entries, ledger_batch)
            order_batch, ledger_batch = [], []
    _insert(engine, tables.orders, order_batch)
    _insert(engine, tables.ledger_entries, ledger_batch)
    with begin(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        conn.commit()
    say(
        f"seeded {disputes * TIMELINE_PER_DISPUTE} timeline entries ({disputes} disputes) and"
        f" {orders * LEDGER_PER_ORDER} ledger entries ({orders} orders)"
        f" in {time.perf_counter() - started:.1f} s"
    )


def _insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with begin(engine, write=True) as conn:
        conn.execute(insert(table), rows)
        conn.commit()


def _baseline(engine: Engine, query: Callable[[], Any]) -> int:
    """The verifier's statement, rows streamed and dropped: nothing hashed, nothing built."""
    count = 0
    with begin(engine, write=False) as conn:
        rows = conn.execution_options(stream_results=True, yield_per=5000).execute(query())
        for row in rows:
            count += len(row[2] or ()) if query is timeline_query else 1
    return count


def _read(chains: Callable[[], Any]) -> int:
    return sum(len(chain.entries) for chain in chains())


def _best(runs: int, action: Callable[[], int]) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        count = action()
        best = min(best, time.perf_counter() - started)
    return best, count


def measure(name: str, engine: Engine, runs: int) -> list[dict[str, Any]]:
    chains = SqlAuditChains(engine)
    results = []
    for kind, query, reader in (
        ("timeline", timeline_query, chains.timelines),
        ("ledger", ledger_query, chains.ledgers),
    ):
        base_s, base_n = _best(runs, lambda q=query: _baseline(engine, q))  # type: ignore[misc]
        read_s, read_n = _best(runs, lambda r=reader: _read(r))  # type: ignore[misc]

        def run_verify(k: str = kind) -> int:
            report = verify(chains, timelines=k == "timeline", ledgers=k == "ledger")
            assert report.ok, report.breaks[:3]
            return report.entries

        verify_s, verify_n = _best(runs, run_verify)
        assert base_n == read_n == verify_n, (base_n, read_n, verify_n)
        results.append(
            {
                "database": name,
                "chain": kind,
                "entries": verify_n,
                "baseline_per_s": base_n / base_s,
                "read_per_s": read_n / read_s,
                "verify_per_s": verify_n / verify_s,
                "verify_over_baseline": ratio(verify_s, base_s),
            }
        )
    total_s, total_n = _best(1, lambda: verify(chains).entries)
    results.append(
        {
            "database": name,
            "chain": "both (audit verify)",
            "entries": total_n,
            "baseline_per_s": float("nan"),
            "read_per_s": float("nan"),
            "verify_per_s": total_n / total_s,
            "verify_over_baseline": float("nan"),
        }
    )
    return results


def hash_cost(samples: int = 200_000) -> float:
    """Microseconds to chain one timeline entry (what a transition pays per entry it logs)."""
    content = template_dispute()["timeline"][1]
    previous = "0" * 64
    started = time.perf_counter()
    for _ in range(samples):
        previous = audit.entry_hash(previous, content)
    return (time.perf_counter() - started) / samples * 1e6


def main(*, entries: int = 200_000, runs: int = 3, postgres: bool = True) -> None:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'audit.db'}")
        upgrade(engine)
        say(f"SQLite: seeding {entries} + {entries} entries")
        seed(engine, entries)
        rows += measure("sqlite", engine, runs)
        engine.dispose()
    if postgres:
        url = recreate_database(PG_DATABASE)
        engine = make_engine(url)
        try:
            upgrade(engine)
            say(f"PostgreSQL: seeding {entries} + {entries} entries")
            seed(engine, entries)
            rows += measure("postgresql", engine, runs)
        finally:
            engine.dispose()
            drop_database(PG_DATABASE)
    per_entry = hash_cost()
    table(
        f"audit verify, best of {runs} (entries/s; target 50,000)",
        ["database", "chain", "entries", "baseline/s", "read/s", "verify/s", "verify÷baseline"],
        [
            [
                r["database"],
                r["chain"],
                r["entries"],
                r["baseline_per_s"],
                r["read_per_s"],
                r["verify_per_s"],
                r["verify_over_baseline"],
            ]
            for r in rows
        ],
    )
    say(f"chaining one timeline entry costs {per_entry:.1f} us (sha256 over canonical JSON)")
    write_result(
        "audit",
        {"entries_per_kind": entries, "runs": runs, "results": rows, "hash_us": per_entry},
    )
