"""Bulk-loading a benchmark database: users, shipped orders (with their escrow holds) and
disputes whose seller's answer is overdue -- built by the domain and encoded by the codec, as
the application would store them, then copied row by row inside PostgreSQL.

The domain builds one order and one dispute as templates, with placeholders for their ids;
``INSERT ... SELECT`` over ``generate_series`` then writes every row from the template with its
own ids (``replace`` on the JSON text). That loads a million orders in about a minute where
the HTTP API would take hours, and every document is one the codec wrote. A sample of rows is
read back through the repository afterwards, so a template that the code would not load (or
whose projected columns disagree with the aggregate) fails the run."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, text

from benchmarks.common import PLATFORM_TOKEN, say
from fairdeal.adapters.db import tables
from fairdeal.adapters.db.codec import encode
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.adapters.db.repository import (
    SqlUnitOfWork,
    _dispute_columns,
    _ledger_rows,
    _order_columns,
)
from fairdeal.domain.dispute import Dispute
from fairdeal.domain.money import Money
from fairdeal.domain.order import LineItem, Order, Payment
from fairdeal.domain.roles import Actor, Role
from fairdeal.policies import all_policies, load_policy
from fairdeal.services.security import hash_token

ORDERS_PER_BUYER = 10
CHUNK = 50_000
LOADERS = 2
TOKEN_PREFIX = "fdbench_"


@dataclass(frozen=True)
class Shape:
    """How much to load. Every ``orders // disputes``-th order has a dispute."""

    orders: int
    disputes: int
    sellers: int = 0  # 0: one seller per 100 orders
    # Disputes due now (the first ``due``); the others' stored due time is 30 days ahead,
    # as open disputes' deadlines are spread over the coming weeks. None: all due.
    due: int | None = None

    @property
    def buyers(self) -> int:
        return max(1, -(-self.orders // ORDERS_PER_BUYER))

    @property
    def seller_count(self) -> int:
        return self.sellers or max(1, self.orders // 100)

    @property
    def step(self) -> int:
        return self.orders // self.disputes if self.disputes else 0


# --- ids, the same in SQL and in Python -------------------------------------------------------


def order_id(i: int) -> str:
    return f"ord_{i:024x}"


def dispute_id(k: int) -> str:
    return f"dsp_{k:024x}"


def buyer_id(b: int) -> str:
    return f"usr_b{b:023x}"


def seller_id(s: int) -> str:
    return f"usr_s{s:023x}"


def buyer_of(i: int, shape: Shape) -> int:
    return (i - 1) // ORDERS_PER_BUYER % shape.buyers + 1


def seller_of(i: int, shape: Shape) -> int:
    return (i - 1) % shape.seller_count + 1


def token_of(user_id: str) -> str:
    return TOKEN_PREFIX + user_id


def file_of(i: int) -> str:
    """The photo the buyer of order ``i`` uploaded (for opening a dispute over HTTP)."""
    return f"fil_{i:024x}"


_SQL_IDS = {
    "o": "'ord_' || lpad(to_hex(i), 24, '0')",
    "b": "'usr_b' || lpad(to_hex((i - 1) / {per_buyer} % {buyers} + 1), 23, '0')",
    "s": "'usr_s' || lpad(to_hex((i - 1) % {sellers} + 1), 23, '0')",
    "d": "'dsp_' || lpad(to_hex(i / {step}), 24, '0')",
}


# --- templates --------------------------------------------------------------------------------


@dataclass
class Templates:
    order: dict[str, Any]  # columns of an order with no dispute
    disputed_order: dict[str, Any]  # columns of an order with a live dispute
    dispute: dict[str, Any]  # columns of that dispute
    ledger: list[dict[str, Any]]  # the escrow hold of an order
    event: dict[str, Any]  # the dispute.opened event
    opened_at: datetime
    due_at: datetime | None


def build_templates(policy_name: str = "standard", *, now: datetime | None = None) -> Templates:
    """One shipped order, and the same order with a dispute opened 8 days ago (the seller's 7
    days to answer have run out), with placeholder ids."""
    now = now or datetime.now(UTC)
    policy = load_policy(policy_name)
    paid, shipped, opened = (
        now - timedelta(days=12),
        now - timedelta(days=11),
        now - timedelta(days=8),
    )

    def shipped_order() -> Order:
        oid = "ord_@@O@@"
        order = Order.register_paid(
            order_id=oid,
            buyer_id="usr_@@B@@",
            seller_id="usr_@@S@@",
            currency="EUR",
            items=[
                LineItem(
                    f"{oid}_item_1", "SKU-1", "Desk lamp", None, 1, Money.parse("40.00", "EUR")
                ),
                LineItem(f"{oid}_item_2", "SKU-2", "Bulb", None, 1, Money.parse("10.00", "EUR")),
            ],
            shipping_cost=Money.parse("5.00", "EUR"),
            payment=Payment("card", "pay_@@O@@", "DE"),
            policy=policy,
            now=paid,
        )
        order.ship(carrier="DHL", tracking_number="JD@@O@@", protection_days=60, now=shipped)
        return order

    plain = shipped_order()
    ledger = [row for txn in plain.pending_ledger for row in _ledger_rows(txn)]
    for row in ledger:
        row["txn_id"] = "txn_@@O@@"
    order_doc = encode(plain)
    order_row = _order_columns(plain, order_doc)

    disputed = shipped_order()
    dispute = Dispute.open(
        dispute_id="dsp_@@D@@",
        order=disputed,
        buyer=Actor("usr_@@B@@", Role.BUYER),
        item_ids=[f"{disputed.id}_item_1"],
        reason="damaged",
        desired_outcome="refund_only",
        amount=Money.parse("40.00", "EUR"),
        description="The lamp arrived with its shade crushed; photos attached.",
        evidence=[("fil_@@D@@", "image/jpeg")],
        policy=policy,
        now=opened,
    )
    dispute_doc = encode(dispute)
    [event] = dispute.pending_events
    return Templates(
        order=order_row,
        disputed_order=_order_columns(disputed, encode(disputed)),
        dispute=_dispute_columns(dispute, dispute_doc),
        ledger=ledger,
        event={"type": event.type, "created_at": event.at, "data": event.data},
        opened_at=opened,
        due_at=dispute.fire_at,
    )


# --- hash chains (ADR 0003), computed inside PostgreSQL --------------------------------------


def _chained() -> bool:
    """Whether this schema has the tamper-evident chains (ledger positions and hashes)."""
    return "chain_seq" in tables.ledger_entries.c


def _subst(expr: str) -> str:
    """SQL: ``expr`` (text with the templates' placeholders) with this row's ids in."""
    return (
        f"replace(replace(replace(replace({expr}, '@@O@@', substr(o, 5)),"
        " '@@B@@', substr(b, 5)), '@@S@@', substr(s, 5)), '@@D@@', substr(d, 5))"
    )


def _chain_sql(
    name: str, chain: str, id_column: str, contents: list[dict[str, object]]
) -> tuple[str, list[str], dict[str, Any]]:
    """The hashes of a chain of entries (domain/audit.py's format) for each row: LATERAL
    clauses computing ``{name}1``... with sha256 in SQL over the canonical content (placeholders
    replaced), their column names, and the parameters they use. So every seeded chain
    verifies, as one the application wrote would."""
    from fairdeal.domain import audit

    params: dict[str, Any] = {f"{name}_genesis": f"fairdeal:{chain}:{audit.FORMAT}:"}
    clauses = [
        f"LATERAL (SELECT encode(sha256(convert_to(CAST(:{name}_genesis AS text) || {id_column},"
        f" 'UTF8')), 'hex') AS {name}0) {name}_0"
    ]
    for k, content in enumerate(contents, 1):
        params[f"{name}_c{k}"] = audit.canonical(content)
        body = _subst(f"CAST(:{name}_c{k} AS text)")
        clauses.append(
            f"LATERAL (SELECT encode(sha256(convert_to({name}{k - 1} || chr(10) || {body},"
            f" 'UTF8')), 'hex') AS {name}{k}) {name}_{k}"
        )
    return " , ".join(clauses), [f"{name}{k}" for k in range(1, len(contents) + 1)], params


def _ledger_chain(t: Templates) -> tuple[str, list[str], dict[str, Any]]:
    from fairdeal.adapters.db.repository import ledger_row_content

    contents = [ledger_row_content({**row, "chain_seq": k}) for k, row in enumerate(t.ledger, 1)]
    return _chain_sql("lh", "ledger", "o", contents)


def _timeline_chain(t: Templates) -> tuple[str, list[str], dict[str, Any], list[str]]:
    """As _ledger_chain, for the dispute's timeline; also the template's own hashes (made
    for the placeholder id), which the document's text has in place of the real ones."""
    entries = t.dispute["doc"]["timeline"]
    contents = [{k: v for k, v in e.items() if k != "hash"} for e in entries]
    lateral, names, params = _chain_sql("th", "timeline", "d", contents)
    return lateral, names, params, [e["hash"] for e in entries]


# --- loading ----------------------------------------------------------------------------------


def prepare(url: str) -> Engine:
    """Migrate the (empty) database; returns an engine for loading."""
    engine = create_engine(url, pool_size=2)
    upgrade(engine)
    return engine


def load(engine: Engine, shape: Shape, *, files: bool = False) -> dict[str, float]:
    """Users, orders, their escrow holds, disputes and their events. ``files``: a photo row
    per undisputed order, for opening disputes over HTTP. Returns seconds per step."""
    t = build_templates()
    params = {
        "per_buyer": ORDERS_PER_BUYER,
        "buyers": shape.buyers,
        "sellers": shape.seller_count,
        "step": shape.step or 1,
    }
    ids = {k: v.format(**params) for k, v in _SQL_IDS.items()}
    timings: dict[str, float] = {}

    def run(statement: tuple[str, dict[str, Any]]) -> None:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text(statement[0]), statement[1])

    def timed(name: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
        # Chunks in two connections at once: one backend is CPU-bound on the JSON parsing.
        started = time.perf_counter()
        with ThreadPoolExecutor(LOADERS) as pool:
            list(pool.map(run, statements))
        timings[name] = round(time.perf_counter() - started, 2)
        say(f"  loaded {name} in {timings[name]} s")

    created = t.order["created_at"]
    timed(
        "users",
        [
            (
                "INSERT INTO users (id, role, name, email, country, token_hash, disabled,"
                " created_at) SELECT u.id, CAST(:role AS text), CAST(:role AS text) || ' ' || n, u.id || '@bench.invalid',"
                " 'DE', encode(sha256(convert_to(CAST(:prefix AS text) || u.id, 'UTF8')), 'hex'), false,"
                " :created FROM generate_series(1, CAST(:count AS bigint)) n,"
                f" LATERAL (SELECT {prefix} || lpad(to_hex(n), 23, '0') AS id) u",
                {"role": role, "count": count, "prefix": TOKEN_PREFIX, "created": created},
            )
            for role, prefix, count in (
                ("buyer", "'usr_b'", shape.buyers),
                ("seller", "'usr_s'", shape.seller_count),
            )
        ]
        + [
            (
                "INSERT INTO users (id, role, name, email, token_hash, disabled, created_at)"
                " VALUES ('usr_platform', 'platform', 'Marketplace', 'platform@bench.invalid',"
                " :hash, false, :created)",
                {"hash": hash_token(PLATFORM_TOKEN), "created": created},
            )
        ],
    )

    def doc_sql(template_name: str) -> str:
        return (
            f"replace(replace(replace(replace(CAST(:{template_name} AS text), '@@O@@', substr(o, 5)),"
            " '@@B@@', substr(b, 5)), '@@S@@', substr(s, 5)), '@@D@@', substr(d, 5))"
        )

    lateral = (
        f"LATERAL (SELECT {ids['o']} AS o, {ids['b']} AS b, {ids['s']} AS s, {ids['d']} AS d) x"
    )
    # The tamper-evident chains (ADR 0003), where the schema has them: each order's ledger
    # head, each dispute's timeline hashes (in its document, in place of the template's).
    head_column = head_value = head_lateral = ""
    head_params: dict[str, Any] = {}
    ledger_lateral, ledger_hashes = "", list[str]()
    timeline_column = timeline_value = timeline_lateral = ""
    timeline_params: dict[str, Any] = {}
    dispute_doc = doc_sql("doc")
    if _chained():
        ledger_lateral, ledger_hashes, head_params = _ledger_chain(t)
        head_column, head_value = ", ledger_head", f", {ledger_hashes[-1]}"
        if "ledger_seq" in tables.orders.c:  # the chain's length beside its head (0012)
            head_column += ", ledger_seq"
            head_value += f", {len(t.ledger)}"
        head_lateral = f", {ledger_lateral}"
        tl_lateral, tl_hashes, timeline_params, template_hashes = _timeline_chain(t)
        timeline_column, timeline_value = ", timeline_head", f", {tl_hashes[-1]}"
        timeline_lateral = f", {tl_lateral}"
        for template_hash, column in zip(template_hashes, tl_hashes, strict=True):
            dispute_doc = f"replace({dispute_doc}, '{template_hash}', {column})"
    due_sql = ":fire_at"
    if shape.due is not None:
        due_sql = (
            f"CASE WHEN i / {shape.step} <= {int(shape.due)} THEN CAST(:fire_at AS timestamptz)"
            " ELSE CAST(:fire_at AS timestamptz) + interval '30 days' END"
        )
    order_statements = []
    dispute_statements = []
    for lo in range(1, shape.orders + 1, CHUNK):
        hi = min(shape.orders, lo + CHUNK - 1)
        for disputed, row in ((False, t.order), (True, t.disputed_order)):
            if disputed and not shape.disputes:
                continue
            where = (
                f"WHERE i % {shape.step} {'=' if disputed else '<>'} 0" if shape.disputes else ""
            )
            order_statements.append(
                (
                    "INSERT INTO orders (id, buyer_id, seller_id, status, version, fire_at, doc,"
                    f" created_at{head_column}) SELECT o, b, s, :status, 1, :fire_at,"
                    f" ({doc_sql('doc')})::jsonb, :created_at{head_value}"
                    " FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i,"
                    f" {lateral}{head_lateral} {where}",
                    {
                        "lo": lo,
                        "hi": hi,
                        "status": row["status"],
                        "fire_at": row["fire_at"],
                        "doc": json.dumps(row["doc"]),
                        "created_at": row["created_at"],
                        **head_params,
                    },
                )
            )
        if shape.disputes:
            d = t.dispute
            dispute_statements.append(
                (
                    "INSERT INTO disputes (id, order_id, buyer_id, seller_id, status, version,"
                    f" fire_at, deadline_at, doc, created_at, updated_at{timeline_column})"
                    f" SELECT d, o, b, s, :status, 1, {due_sql}, :deadline_at,"
                    f" ({dispute_doc})::jsonb, :created_at, :updated_at{timeline_value}"
                    " FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i,"
                    f" {lateral}{timeline_lateral} WHERE i % {shape.step} = 0",
                    {
                        "lo": lo,
                        "hi": hi,
                        "status": d["status"],
                        "fire_at": d["fire_at"],
                        "deadline_at": d["deadline_at"],
                        "doc": json.dumps(d["doc"]),
                        "created_at": d["created_at"],
                        "updated_at": d["updated_at"],
                        **timeline_params,
                    },
                )
            )
    timed("orders", order_statements)
    ledger_statements = []
    for lo in range(1, shape.orders + 1, CHUNK):
        hi = min(shape.orders, lo + CHUNK - 1)
        for position, row in enumerate(t.ledger, 1):
            chain_columns = chain_values = chain_lateral = ""
            if ledger_hashes:
                chain_columns = ", chain_seq, hash"
                chain_values = f", {position}, {ledger_hashes[position - 1]}"
                chain_lateral = f", {ledger_lateral}"
            ledger_statements.append(
                (
                    "INSERT INTO ledger_entries (txn_id, order_id, dispute_id, movement, account,"
                    f" currency, amount_minor, created_at{chain_columns})"
                    " SELECT 'txn_' || substr(o, 5), o, NULL,"
                    f" :movement, :account, :currency, :amount, :created_at{chain_values}"
                    " FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i,"
                    f" {lateral}{chain_lateral}",
                    {
                        "lo": lo,
                        "hi": hi,
                        **{k: row[k] for k in ("movement", "account", "currency")},
                        "amount": row["amount_minor"],
                        "created_at": row["created_at"],
                        **head_params,
                    },
                )
            )
    timed("ledger", ledger_statements)
    if shape.disputes:
        timed("disputes", dispute_statements)
        ev = t.event
        timed(
            "events",
            [
                (
                    "INSERT INTO events (id, type, aggregate_id, created_at, data, position)"
                    " SELECT 'evt_' || substr(d, 5), :type, d,"
                    f" :created_at, ({doc_sql('data')})::jsonb, i / {shape.step}"
                    f" FROM generate_series(1, CAST(:n AS bigint)) i, {lateral} WHERE i % {shape.step} = 0",
                    {
                        "type": ev["type"],
                        "created_at": ev["created_at"],
                        "data": json.dumps(ev["data"]),
                        "n": shape.orders,
                    },
                ),
                (
                    # The relay has fanned all of this history out already.
                    "INSERT INTO relay_cursors (name, position, updated_at)"
                    " VALUES ('notifications', :n, now()) ON CONFLICT (name)"
                    " DO UPDATE SET position = excluded.position",
                    {"n": shape.disputes},
                ),
            ],
        )
    if files:
        timed(
            "files",
            [
                (
                    "INSERT INTO files (id, owner_id, filename, content_type, size, sha256,"
                    " storage_key, created_at) SELECT 'fil_' || substr(o, 5), b, 'photo.jpg',"
                    " 'image/jpeg', 1000, repeat('0', 64), 'bench/' || o, :created"
                    f" FROM generate_series(1, CAST(:n AS bigint)) i, {lateral}",
                    {"n": shape.orders, "created": created},
                )
            ],
        )
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    timings["analyze"] = round(time.perf_counter() - started, 2)
    say(f"  ANALYZE in {timings['analyze']} s")
    check_sample(engine, shape)
    return timings


def check_sample(engine: Engine, shape: Shape) -> None:
    """Read a few loaded rows back through the repository, as the application will."""
    policies = all_policies(load_policy("standard"))
    uow = SqlUnitOfWork(engine, policies, write=False)
    with uow:
        for i in sorted({1, shape.orders // 2 or 1, shape.orders}):
            order = uow.orders.get(order_id(i))
            assert order is not None and order.buyer_id == buyer_id(buyer_of(i, shape)), i
            assert order.items[0].id == f"{order_id(i)}_item_1"
        if shape.disputes:
            for k in sorted({1, shape.disputes if shape.due is None else max(1, shape.due)}):
                dispute = uow.disputes.get(dispute_id(k))
                assert dispute is not None, k
                assert dispute.order_id == order_id(k * shape.step)
                row = uow.conn.execute(
                    text("SELECT fire_at FROM disputes WHERE id = :id"), {"id": dispute.id}
                ).scalar_one()
                assert row == dispute.fire_at, (row, dispute.fire_at)
