"""Benchmark 5: embedded -- the dispute lifecycle in one process on SQLite, through the
service layer (what ``fairdeal demo`` and an embedding application call), against Tryton's
``sale_complaint`` on in-memory SQLite driven through ``proteus``, in the same run.

One lifecycle: the buyer opens a dispute over a shipped order (with a photo), the seller
proposes a full refund, the buyer accepts it -- the dispute closes and the refund is booked
in the order's ledger; three commits. Fairdeal runs on a SQLite file (WAL, synchronous=NORMAL,
the engine's settings) and, for the like-for-like comparison with Tryton's in-memory
database, on ``:memory:`` too. Orders are created beforehand and not timed (as Tryton's sale
is)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import percentile, ratio, say, table, write_result
from fairdeal.adapters.db.migrate import upgrade
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.domain.commands import AcceptSolution, OpenDispute, ProposeSolution
from fairdeal.domain.money import Amount, Money
from fairdeal.domain.order import LineItem, Order, Payment
from fairdeal.domain.roles import Actor, Role
from fairdeal.services import handlers
from fairdeal.services.ports import FileRecord
from fairdeal.services.users import create_user

# Fairdeal lifecycles per second over Tryton sale_complaint's, in the same run (issue 16).
TARGET_RATIO = 60


def prepare(url: str, orders: int) -> tuple[Any, Callable[[int], None], int]:
    """A migrated database with ``orders`` shipped orders (and a photo each) of one buyer and
    one seller; returns the app, the lifecycle of order ``i``, and the order count."""
    app = bootstrap(Settings(database_url=url, storage_dir="/tmp/fairdeal-bench-files"))
    upgrade(app.engine)
    ctx = app.ctx
    buyer = create_user(ctx, role="buyer", name="Buyer", email="b@bench.invalid").user
    seller = create_user(ctx, role="seller", name="Seller", email="s@bench.invalid").user
    now = ctx.clock.now()
    order_ids = []
    for lo in range(0, orders, 1000):
        with ctx.uow() as uow:
            for i in range(lo, min(orders, lo + 1000)):
                oid = f"ord_{i:024x}"
                order = Order.register_paid(
                    order_id=oid,
                    buyer_id=buyer.id,
                    seller_id=seller.id,
                    currency="EUR",
                    items=[
                        LineItem(f"{oid}_item_1", "SKU-1", "Desk lamp", None, 1, Money(4000, "EUR"))
                    ],
                    shipping_cost=Money(500, "EUR"),
                    payment=Payment("card", f"pay_{i}", "DE"),
                    policy=ctx.policy,
                    now=now - timedelta(days=3),
                )
                order.ship(
                    carrier="DHL",
                    tracking_number=f"JD{i}",
                    protection_days=60,
                    now=now - timedelta(days=2),
                )
                uow.orders.add(order)
                uow.files.add(
                    FileRecord(
                        f"fil_{i:024x}",
                        buyer.id,
                        "photo.jpg",
                        "image/jpeg",
                        1000,
                        "0" * 64,
                        f"bench/{i}",
                        now,
                    )
                )
                order_ids.append(oid)
            uow.commit()
    b, s = Actor(buyer.id, Role.BUYER), Actor(seller.id, Role.SELLER)

    def lifecycle(i: int) -> None:
        oid = order_ids[i]
        opening = OpenDispute(
            order_id=oid,
            item_ids=(f"{oid}_item_1",),
            reason="damaged",
            desired_outcome="refund_only",
            amount=Amount.of("40.00"),
            description="The lamp arrived with its shade crushed.",
            evidence_file_ids=(f"fil_{i:024x}",),
        )
        dispute = handlers.open_dispute(ctx, b, opening)
        offer = ProposeSolution("refund_only", Amount.of("40.00"), "Sorry: full refund.")
        view = handlers.handle(ctx, s, dispute.id, offer)
        solution = view.dispute.solutions[-1].id
        done = handlers.handle(ctx, b, dispute.id, AcceptSolution(solution))
        assert done.dispute.status.value == "closed", done.dispute.status

    return app, lifecycle, len(order_ids)


def fairdeal_lifecycles(url: str, *, seconds: float, orders: int = 6_000) -> dict[str, Any]:
    app, lifecycle, count = prepare(url, orders)
    for i in range(50):  # warm-up
        lifecycle(i)
    latencies: list[float] = []
    i = 50
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds and i < count:
        t0 = time.perf_counter()
        lifecycle(i)
        latencies.append((time.perf_counter() - t0) * 1000)
        i += 1
    elapsed = time.perf_counter() - begin
    app.engine.dispose()
    return {
        "lifecycles": len(latencies),
        "seconds": round(elapsed, 3),
        "lifecycles_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "ran_out_of_orders": i >= count,
    }


def tryton_lifecycles(seconds: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    env = dict(os.environ)
    env.pop("TRYTOND_DATABASE__URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.tryton_peer", str(seconds), out],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the Tryton peer failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(Path(out).read_text())
    values = result.pop("latencies_ms")
    result["p50_ms"] = round(percentile(values, 50), 1)
    result["p99_ms"] = round(percentile(values, 99), 1)
    return result


def main(*, seconds: float = 8.0) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="fairdeal-embedded-"))
    say("embedded: Fairdeal on a SQLite file")
    on_file = fairdeal_lifecycles(f"sqlite:///{folder}/bench.db", seconds=seconds)
    say(f"  {on_file['lifecycles_per_s']} lifecycles/s")
    say("embedded: Fairdeal on in-memory SQLite")
    in_memory = fairdeal_lifecycles("sqlite:///:memory:", seconds=seconds)
    say(f"  {in_memory['lifecycles_per_s']} lifecycles/s")
    say("embedded: Tryton sale_complaint (in-memory SQLite, proteus); setup takes a while")
    tryton = tryton_lifecycles(seconds)
    say(f"  {tryton['lifecycles_per_s']} lifecycles/s (setup {tryton['setup_seconds']} s)")
    rows = [
        [
            "Fairdeal, SQLite file",
            on_file["lifecycles"],
            on_file["lifecycles_per_s"],
            on_file["p50_ms"],
            on_file["p99_ms"],
            f"{ratio(on_file['lifecycles_per_s'], tryton['lifecycles_per_s']):.0f}x",
        ],
        [
            "Fairdeal, SQLite :memory:",
            in_memory["lifecycles"],
            in_memory["lifecycles_per_s"],
            in_memory["p50_ms"],
            in_memory["p99_ms"],
            f"{ratio(in_memory['lifecycles_per_s'], tryton['lifecycles_per_s']):.0f}x",
        ],
        [
            "Tryton sale_complaint, :memory:",
            tryton["lifecycles"],
            tryton["lifecycles_per_s"],
            tryton["p50_ms"],
            tryton["p99_ms"],
            "1x",
        ],
    ]
    rendered = table(
        "Embedded lifecycles, one process (open/solution/accept+refund vs create/wait/approve)",
        ["system", "lifecycles", "per s", "p50 ms", "p99 ms", "vs Tryton"],
        rows,
    )
    r_file = ratio(on_file["lifecycles_per_s"], tryton["lifecycles_per_s"])
    r_memory = ratio(in_memory["lifecycles_per_s"], tryton["lifecycles_per_s"])
    data = {
        "fairdeal_sqlite_file": on_file,
        "fairdeal_sqlite_memory": in_memory,
        "tryton": tryton,
        "ratio_file": r_file,
        "ratio_memory": r_memory,
        "table": rendered,
        # Issue 16 raised the bar from 50x to 60x.
        "targets": {
            f"ratio>={TARGET_RATIO} (in-memory, like Tryton)": r_memory >= TARGET_RATIO,
            f"ratio>={TARGET_RATIO} (file)": r_file >= TARGET_RATIO,
        },
    }
    write_result("embedded", data)
    return data


if __name__ == "__main__":
    main()
