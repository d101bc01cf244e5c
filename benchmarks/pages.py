"""Web pages as people use them (issue 16): the buyer's dispute page, the seller's inbox and
the mediator's queue, each at 8 concurrent signed-in users, against the JSON read of the
same disputes (``GET /api/v1/disputes/{id}``) measured in the same run, on PostgreSQL.

The database holds the reads benchmark's bulk load (10,000 orders, 2,000 disputes, in SQL:
``benchmarks.seed``) and, beside it, a small world built through the services the way
``fairdeal demo`` builds its own (``fairdeal.demo.DemoWorld``): 8 buyers, 8 sellers and 8
mediators with web passwords, 12 disputes per seller of which half were answered and have
gone to mediation, half went unanswered and closed, and 6 more per seller opened afterwards
and still open. The clock of that world runs 40 days behind, so that moving it (to let the
negotiations run out) fires none of the bulk load's deadlines.

Each person signs in once, before anything is measured (``POST /login``: a real session);
every client then is one of them, its session cookie on every request, as a browser's tab.

Targets: every page's p95 within 60 ms, and within 3x the JSON read's p95."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from benchmarks import seed
from benchmarks.common import (
    SECRET_KEY,
    CpuMeter,
    MemorySampler,
    Proc,
    backend_pids,
    drop_database,
    free_port,
    percentile,
    ratio,
    recreate_database,
    running,
    say,
    start_api,
    table,
    wait_ready,
    write_result,
)
from benchmarks.loadgen import CSRF_FIELD
from benchmarks.transitions import API_PROCESSES, run_loadgen
from fairdeal.adapters.clock import FixedClock
from fairdeal.bootstrap import bootstrap
from fairdeal.config import Settings
from fairdeal.demo import DemoAccounts, DemoWorld, create_people
from fairdeal.domain.commands import PostMessage, ProposeSolution
from fairdeal.domain.money import Amount
from fairdeal.services import deadlines
from fairdeal.services.ports import DisputeFilter
from fairdeal.services.security import hash_password

CLIENTS = 8
PEOPLE = 8  # of each role
DISPUTES_PER_SELLER = 12  # half answered (to mediation), half unanswered (closed)
OPEN_PER_SELLER = 6  # opened afterwards, still open
PASSWORD = "fdbench-password"
P95_TARGET_MS = 60.0
JSON_MULTIPLE_TARGET = 3.0
JSON_READ = "JSON dispute read"
PAGES = ("buyer's dispute page", "seller inbox", "mediator queue")
KINDS = (JSON_READ, *PAGES)
# The table's columns, on the terminal and in benchmarks.report.
COLUMNS = (
    "request",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "p95 × JSON read",
    "API CPU ms/req",
    "PG CPU ms/req",
)


@dataclass
class Person:
    email: str
    token: str
    cookie: str = ""
    disputes: list[str] = field(default_factory=list)


@dataclass
class PagesWorld:
    buyers: list[Person]
    sellers: list[Person]
    mediators: list[Person]
    under_review: int


def build_world(url: str) -> PagesWorld:
    """The buyers, sellers and mediators, and their disputes, through the services."""
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=40))
    app = bootstrap(Settings(database_url=url, secret_key=SECRET_KEY), clock=clock)
    try:
        people = [("platform", "platform")] + [
            (f"{role}{n}", role) for role in ("buyer", "seller", "mediator") for n in range(PEOPLE)
        ]
        accounts = create_people(
            app.ctx,
            hash_password(PASSWORD),
            [
                (handle, role, handle.capitalize(), f"{handle}@pages.bench")
                for handle, role in people
            ],
        )
        world = DemoWorld(app.ctx, accounts, upload_photo=None)
        first = _open_disputes(world, "first", DISPUTES_PER_SELLER)
        for number, (_buyer, seller, dispute_id) in enumerate(first):
            if number % 2 == 0:  # the seller answers: negotiation, then mediation
                world.act(
                    seller,
                    dispute_id,
                    ProposeSolution("refund_only", Amount.of("5.00"), "A small refund?"),
                )
        # The negotiation windows (7 days) run out: answered disputes go to mediation,
        # unanswered ones close for the buyer.
        deadlines.advance_clock(app.ctx, to=clock.now() + timedelta(days=8))
        later = _open_disputes(world, "later", OPEN_PER_SELLER)
        for _buyer, seller, dispute_id in later:
            world.act(seller, dispute_id, PostMessage("Could you send a photo of the box?"))
        with app.ctx.uow(write=False) as uow:
            queue = uow.disputes.list(
                DisputeFilter(status="under_review", mediator_queue=True, limit=1000)
            )
        return _people_of(accounts, [*first, *later], len(queue))
    finally:
        app.engine.dispose()


def _open_disputes(
    world: DemoWorld, round_name: str, per_seller: int
) -> list[tuple[str, str, str]]:
    """``per_seller`` disputes for every seller, their buyers taken in turn: (buyer, seller,
    dispute id) of each."""
    opened = []
    for s in range(PEOPLE):
        seller = f"seller{s}"
        for i in range(per_seller):
            buyer, label = f"buyer{(s + i) % PEOPLE}", f"{round_name}-{s}-{i}"
            opened.append(
                (buyer, seller, world.dispute(label, buyer, seller, f"Lamp {label}", "40.00"))
            )
    return opened


def _people_of(
    accounts: DemoAccounts, opened: list[tuple[str, str, str]], under_review: int
) -> PagesWorld:
    def person(handle: str) -> Person:
        return Person(f"{handle}@pages.bench", accounts.tokens[handle])

    buyers = {f"buyer{n}": person(f"buyer{n}") for n in range(PEOPLE)}
    for buyer, _seller, dispute_id in opened:
        buyers[buyer].disputes.append(dispute_id)
    return PagesWorld(
        buyers=list(buyers.values()),
        sellers=[person(f"seller{n}") for n in range(PEOPLE)],
        mediators=[person(f"mediator{n}") for n in range(PEOPLE)],
        under_review=under_review,
    )


def sign_in(port: int, person: Person) -> None:
    """A real sign-in through the login form; keeps the session cookie."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        page = client.get("/login")
        token = CSRF_FIELD.search(page.text)
        assert token is not None, page.text[:300]
        answer = client.post(
            "/login",
            data={"email": person.email, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 303, (answer.status_code, answer.text[:300])
        person.cookie = answer.cookies["fd_session"]


def requests_by_user(world: PagesWorld, kind: str) -> list[list[list[Any]]]:
    """For each client's person: the requests of this kind it picks from."""

    def page(person: Person, path: str) -> list[Any]:
        return [kind, path, {"Cookie": f"fd_session={person.cookie}"}]

    if kind == JSON_READ:
        return [
            [
                [kind, f"/api/v1/disputes/{d}", {"Authorization": f"Bearer {b.token}"}]
                for d in b.disputes
            ]
            for b in world.buyers
        ]
    if kind == "buyer's dispute page":
        return [[page(b, f"/disputes/{d}") for d in b.disputes] for b in world.buyers]
    if kind == "seller inbox":
        return [[page(s, "/disputes")] for s in world.sellers]
    return [[page(m, "/mediator")] for m in world.mediators]


def measure(world: PagesWorld, apis: Sequence[Proc], url: str, *, seconds: int) -> dict[str, Any]:
    """Each kind on its own: latencies, and the CPU each request cost the API processes and
    their PostgreSQL backends (from /proc: the figure the machine's load does not change
    much). The warm-up runs before, so that every request of a measured run is counted."""
    ports = [a.port for a in apis]
    for kind in KINDS:  # warm-up: templates compiled, pools filled, catalogues loaded
        run_loadgen(
            {
                "mode": "signed_in",
                "clients": CLIENTS,
                "ports": ports,
                "warmup": 0,
                "duration": 1,
                "users": requests_by_user(world, kind),
            }
        )
    out: dict[str, Any] = {}
    for kind in KINDS:
        meter = CpuMeter({"api": [a.pid for a in apis], "postgres": backend_pids(url)})
        result = run_loadgen(
            {
                "mode": "signed_in",
                "clients": CLIENTS,
                "ports": ports,
                "warmup": 0,
                "duration": seconds,
                "users": requests_by_user(world, kind),
            }
        )
        cpu = meter.stop()
        values = result["latencies_ms"].get(kind, [])
        answered = max(1, len(values))
        out[kind] = {
            "cpu_ms_per_request": {k: round(1000 * v / answered, 2) for k, v in cpu.items()},
            "requests_per_s": round(len(values) / result["seconds"], 1),
            "p50_ms": round(percentile(values, 50), 2),
            "p95_ms": round(percentile(values, 95), 2),
            "p99_ms": round(percentile(values, 99), 2),
            "errors": result["errors"],
            "error_samples": result["error_samples"],
        }
        say(f"  {kind}: {out[kind]}")
    return out


def main(*, seconds: int = 8, keep: bool = False) -> dict[str, Any]:
    shape = seed.Shape(orders=10_000, disputes=2_000)
    say(f"pages: loading {shape.orders} orders, {shape.disputes} disputes")
    url = recreate_database()
    engine = seed.prepare(url)
    seed.load(engine, shape)
    engine.dispose()
    say("pages: the signed-in people and their disputes, through the services")
    world = build_world(url)
    apis = [start_api(url, free_port(), name=f"api{i}") for i in range(API_PROCESSES)]
    with running(apis), MemorySampler(apis) as memory:
        wait_ready(apis)
        for person in (*world.buyers, *world.sellers, *world.mediators):
            sign_in(apis[0].port or 0, person)
        measured = measure(world, apis, url, seconds=seconds)
    json_p95 = measured[JSON_READ]["p95_ms"]
    rows = [
        [
            kind,
            m["requests_per_s"],
            m["p50_ms"],
            m["p95_ms"],
            m["p99_ms"],
            ratio(m["p95_ms"], json_p95),
            m["cpu_ms_per_request"]["api"],
            m["cpu_ms_per_request"]["postgres"],
        ]
        for kind, m in measured.items()
    ]
    rendered = table(
        f"Web pages at {CLIENTS} signed-in users ({API_PROCESSES} API processes;"
        f" {world.under_review} disputes in the mediator queue)",
        COLUMNS,
        rows,
    )
    targets = {}
    for kind in PAGES:
        p95 = measured[kind]["p95_ms"]
        targets[f"{kind} p95<={P95_TARGET_MS:.0f}ms"] = p95 <= P95_TARGET_MS
        targets[f"{kind} p95<={JSON_MULTIPLE_TARGET:.0f}x JSON read"] = (
            p95 <= JSON_MULTIPLE_TARGET * json_p95
        )
    data = {
        "shape": shape.__dict__,
        "clients": CLIENTS,
        "api_processes": API_PROCESSES,
        "under_review": world.under_review,
        "pages": measured,
        "memory": memory.summary(),
        "table": rendered,
        "targets": targets,
    }
    write_result("pages", data)
    if not keep:
        drop_database()
    return data
