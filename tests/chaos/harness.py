"""The crash harness: Fairdeal's API (two ``fairdeal serve`` processes) and worker
(``fairdeal worker``) as real processes on a database, a seeded stream of dispute lifecycles
driven over HTTP with an Idempotency-Key on every POST, and SIGKILLs at random points -- of an
API process, of the worker, of both; on PostgreSQL also ``pg_ctl stop -m immediate`` of the
database server itself (a throwaway cluster of the harness's own, never the machine's shared
server). Every request that got no answer is retried, with its same key, until it gets one.

Then it checks, from the database itself:
- every acknowledged (2xx) operation is there: each created id exists, each message,
  solution and evidence the API confirmed is in its dispute (``lost``);
- none was applied twice: per lifecycle, the events of each type, the ledger transactions,
  messages, solutions, evidence, files, orders and users are exactly what a calm run of the
  same lifecycle makes (``duplicates``);
- every retry of an unanswered request got the answer the first would have had -- a 2xx, not
  e.g. 409 "already closed" because the first attempt did act (``replay_failures``);
- every order's ledger balances (held == refunded + released, nothing left in escrow once it
  completed; refunds never above what was paid);
- every deadline that fell due fired exactly once (seller silence, negotiation escalation,
  refund completion, the order's payout), and no dispute or order is left stuck.

Run: ``python -m tests.chaos.harness --db postgres --kills 200 --seed 7`` (see docs/chaos.md);
tests/chaos/test_chaos.py runs a bounded form in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from fairdeal.adapters.db import tables

PLATFORM_TOKEN = "fd_chaos_platform_token_0123456789abcdef"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# How long anything may take before the harness calls it stuck: generous, for a busy machine.
PATIENCE = 120.0
KINDS = ("seller_accepts", "agree", "silence", "escalate", "return")
# What each kind ends with: (status, decided_by, refund in minor units).
FINAL = {
    "seller_accepts": ("closed", "agreement", 4000),
    "agree": ("closed", "agreement", 2500),
    "silence": ("closed", "seller_timeout", 4000),
    "escalate": ("closed", "mediator", 2000),
    "return": ("closed", "agreement", 4000),
}
# Event types whose count is not a property of the lifecycle (reminders depend on where the
# clock jumps land relative to the relay's passes).
VOLATILE_EVENTS = {"deadline.reminder"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_unavailable(*tools: str) -> str | None:
    """Why a private PostgreSQL server cannot be made here (a missing server tool, or root
    without a ``postgres`` OS user to run it as), or None. Shared with tests/replication.py."""
    for tool in tools:
        if not (PG_BIN / tool).exists():
            return f"no {PG_BIN / tool}"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser"
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres OS user"
    return None


def run_as_postgres(*argv: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A server tool, run as the ``postgres`` OS user when we are root (initdb refuses root)."""
    command = [str(a) for a in argv]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- a PostgreSQL cluster of our own ------------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster in a temp dir, run as the ``postgres`` OS user (initdb
    refuses root), that the harness may crash with ``pg_ctl stop -m immediate``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/chaos"

    @staticmethod
    def available() -> str | None:
        """Why a cluster cannot be made here, or None."""
        return postgres_unavailable("initdb")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        run_as_postgres(
            PG_BIN / "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        )
        self.start()
        admin = create_engine(
            self.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE chaos"))
        admin.dispose()

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c max_connections=200"
        )
        run_as_postgres(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-l",
            self.root / "server.log",
            "-w",
            "-t",
            "60",
            "start",
        )

    def crash(self) -> None:
        """Kill the server as a power cut would look to it: no shutdown checkpoint; the next
        start replays the WAL."""
        run_as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        run_as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


# --- the processes --------------------------------------------------------------------------


# ``fork`` mode: a process that has imported what ``fairdeal serve`` and ``fairdeal worker``
# import, once, and forks each API or worker process from there and runs the same CLI command
# in it -- a process of its own (own engine, own connections, killed with SIGKILL like any
# other), started in milliseconds instead of the seconds the imports take. Single-threaded,
# so that forking is safe. Commands on stdin, answers on stdout.
ZYGOTE = r"""
import os, sys
import fairdeal.cli, fairdeal.entrypoints.api.app, fairdeal.entrypoints.worker, uvicorn

commands, answers = sys.stdin, sys.stdout
for line in commands:
    verb, *args = line.split()
    if verb == "start":
        log = args[0]
        pid = os.fork()
        if pid == 0:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            sys.stdin = open(0)
            sys.stdout = open(1, "w", buffering=1)
            sys.stderr = open(2, "w", buffering=1)
            code = 0
            try:
                fairdeal.cli.app(args[1:])
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 1
            os._exit(code)
        answers.write(f"{pid}\n")
    elif verb == "reap":
        exits = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            exits.append(f"{pid}:{os.waitstatus_to_exitcode(status)}")
        answers.write(" ".join(exits) + "\n")
    answers.flush()
"""


class Zygote:
    def __init__(self, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lock = threading.Lock()
        self.exited: dict[int, int] = {}

    def _ask(self, line: str) -> str:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        with self.lock:
            self.popen.stdin.write(line + "\n")
            self.popen.stdin.flush()
            return self.popen.stdout.readline().strip()

    def start(self, log: Path, args: list[str]) -> int:
        return int(self._ask(" ".join(["start", str(log), *args])))

    def reap(self) -> None:
        for item in self._ask("reap").split():
            pid, code = item.split(":")
            self.exited[int(pid)] = int(code)

    def close(self) -> None:
        if self.popen.stdin:
            self.popen.stdin.close()
        self.popen.wait(30)
        if self.popen.stdout:
            self.popen.stdout.close()


class Proc:
    """One ``fairdeal`` process the harness starts, kills and restarts: ``fairdeal <args>``
    exec'd (``exec`` mode), or forked from the zygote (``fork`` mode)."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        logdir: Path,
        zygote: Zygote | None = None,
    ) -> None:
        self.name, self.args, self.env, self.logdir, self.zygote = name, args, env, logdir, zygote
        self.popen: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self.generation = 0
        self.ready_at: float | None = None
        self.started_at = 0.0
        self.unexpected_exits: list[str] = []

    def start(self) -> None:
        self.generation += 1
        self.started_at = time.monotonic()
        log = self.logdir / f"{self.name}.log"
        with open(log, "ab") as out:
            out.write(f"\n--- start {self.generation} ---\n".encode())
        self.ready_at = None
        if self.zygote is not None:
            self.pid = self.zygote.start(log, self.args)
            return
        out = open(log, "ab")  # noqa: SIM115 (the child owns it)
        argv = [sys.executable, "-m", "fairdeal.cli", *self.args]
        self.popen = subprocess.Popen(argv, env=self.env, stdout=out, stderr=out)
        out.close()
        self.pid = self.popen.pid

    def exit_code(self) -> int | None:
        """None while it runs."""
        if self.zygote is not None:
            assert self.pid is not None
            self.zygote.reap()
            return self.zygote.exited.get(self.pid)
        assert self.popen is not None
        return self.popen.poll()

    def alive(self) -> bool:
        return self.pid is not None and self.exit_code() is None

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.exit_code() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not exit")
            time.sleep(0.01)

    def kill(self) -> None:
        assert self.pid is not None
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._wait(30)

    def stop(self) -> None:
        if self.alive():
            assert self.pid is not None
            os.kill(self.pid, signal.SIGTERM)
            try:
                self._wait(15)
            except TimeoutError:
                self.kill()


class Fleet:
    """Two API processes and a worker; a supervisor restarts whatever dies."""

    def __init__(self, url: str, workdir: Path, *, apis: int = 2, spawn: str = "exec") -> None:
        self.workdir = workdir
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRDEAL_")}
        env.update(
            FAIRDEAL_DATABASE_URL=url,
            FAIRDEAL_SANDBOX="true",
            FAIRDEAL_PLATFORM_TOKEN=PLATFORM_TOKEN,
            FAIRDEAL_RATE_LIMIT_WRITES_PER_MINUTE="0",
            FAIRDEAL_STORAGE_DIR=str(workdir / "files"),
            FAIRDEAL_WORKER_POLL_SECONDS="0.05",
            FAIRDEAL_WORKER_BATCH_SIZE="20",
            # A request that died unanswered is run afresh by its retry after this long.
            FAIRDEAL_IDEMPOTENCY_STALE_SECONDS="2",
            # A killed worker's payment lease ends after this long in real time (a clock
            # advance no longer ends it, docs/payments.md): the sandbox provider answers in
            # milliseconds, and 30 s would hold a round's settling for each such kill.
            FAIRDEAL_PAYMENT_LEASE_SECONDS="5",
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.ports = [free_port() for _ in range(apis)]
        self.zygote = Zygote(env) if spawn == "fork" else None
        self.apis = [
            Proc(f"api{i}", ["serve", "--port", str(port)], env, workdir, self.zygote)
            for i, port in enumerate(self.ports)
        ]
        self.worker = Proc("worker", ["worker"], env, workdir, self.zygote)
        self.killed: set[str] = set()  # died by our hand: restart silently
        # When the database server was down: a process that exits because it cannot reach
        # it (at start-up, say) is restarted by its supervisor, as systemd would.
        self.db_outages: list[tuple[float, float]] = []
        self.exits_during_outages = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)

    @property
    def procs(self) -> list[Proc]:
        return [*self.apis, self.worker]

    def upgrade(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "fairdeal.cli", "db", "upgrade"],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=PATIENCE,
        )

    def start(self) -> None:
        for proc in self.procs:
            proc.start()
        self.supervisor.start()
        self.wait_ready()

    def base_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def _supervise(self) -> None:
        while not self.stopping.is_set():
            for i, proc in enumerate(self.procs):
                with self.lock:
                    if not proc.alive():
                        code = proc.exit_code()
                        if proc.name in self.killed:
                            pass
                        elif any(
                            a <= time.monotonic() and proc.started_at <= b + 10
                            for a, b in self.db_outages
                        ):
                            self.exits_during_outages += 1
                        else:
                            proc.unexpected_exits.append(f"exit code {code}")
                        self.killed.discard(proc.name)
                        proc.start()
                    elif proc.ready_at is None:
                        if i < len(self.apis):
                            with suppress(httpx.HTTPError):
                                if httpx.get(self.base_url(i) + "/healthz", timeout=1).is_success:
                                    proc.ready_at = time.monotonic()
                        else:  # the worker: taken to be at work a second after its start
                            proc.ready_at = time.monotonic() + 1.0
            time.sleep(0.05)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + PATIENCE
        while not all(
            p.ready_at is not None and p.ready_at <= time.monotonic() for p in self.procs
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("the fleet did not become ready")
            time.sleep(0.05)

    def kill(self, proc: Proc) -> None:
        with self.lock:
            self.killed.add(proc.name)
            proc.kill()

    def stop(self) -> None:
        self.stopping.set()
        self.supervisor.join(10)
        for proc in self.procs:
            proc.stop()
        if self.zygote is not None:
            self.zygote.close()


# --- the client: every request retried until it has an answer ---------------------------------


class Unanswerable(Exception):
    pass


@dataclass
class Stats:
    requests: int = 0
    attempts: int = 0
    retried: int = 0
    replayed: int = 0
    transport_errors: int = 0
    server_errors: int = 0
    in_use: int = 0
    refusals: list[str] = field(default_factory=list)  # unexpected definitive answers

    def merge_line(self) -> str:
        return (
            f"{self.requests} requests, {self.attempts} attempts ({self.retried} retried: "
            f"{self.transport_errors} no answer, {self.server_errors} 5xx, {self.in_use} "
            f"in use), {self.replayed} replayed answers"
        )


class Client:
    """HTTP against whichever API process answers. A POST without a definitive answer
    (no response, 5xx, 409 idempotency_key_in_use) is retried with the same key and body."""

    RETRY_STATUSES = frozenset({500, 502, 503, 504})

    def __init__(self, fleet: Fleet, rng: random.Random, stats: Stats, lock: threading.Lock):
        self.fleet, self.rng, self.stats, self.lock = fleet, rng, stats, lock
        self.http = httpx.Client(timeout=15)
        self.inflight: Counter[int] = Counter()

    def close(self) -> None:
        self.http.close()

    def _count(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        key: str | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        if json_body is not None:
            content = json.dumps(json_body, sort_keys=True).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        self._count(requests=1)
        deadline = time.monotonic() + PATIENCE * 2
        attempt = 0
        i = self.rng.randrange(len(self.fleet.ports))
        while True:
            attempt += 1
            self._count(attempts=1, retried=int(attempt == 2))
            url = self.fleet.base_url(i) + "/api/v1" + path
            with self.lock:
                self.inflight[i] += 1
            try:
                response = self.http.request(method, url, headers=headers, content=content)
            except httpx.HTTPError:
                # That process is down (or went down mid-request): try the other one at
                # once, and pause only when every one failed in a row.
                self._count(transport_errors=1)
                i = (i + 1) % len(self.fleet.ports)
                if attempt % len(self.fleet.ports) == 0:
                    self._pause(deadline, method, path)
                continue
            finally:
                with self.lock:
                    self.inflight[i] -= 1
            if response.status_code in self.RETRY_STATUSES:
                self._count(server_errors=1)
                self._pause(deadline, method, path)
                continue
            if response.status_code == 409 and _code(response) == "idempotency_key_in_use":
                self._count(in_use=1)
                self._pause(deadline, method, path)
                continue
            if response.headers.get("idempotent-replayed") == "true":
                self._count(replayed=1)
            return response

    def _pause(self, deadline: float, method: str, path: str) -> None:
        if time.monotonic() > deadline:
            raise Unanswerable(f"{method} {path}: no answer in {PATIENCE * 2:.0f} s")
        time.sleep(self.rng.uniform(0.05, 0.3))


def _code(response: httpx.Response) -> str | None:
    try:
        return str(response.json().get("code"))
    except ValueError:
        return None


def multipart(filename: str, payload: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart body with a fixed boundary: a retry must send the same bytes, or its
    Idempotency-Key is refused as reused with another request."""
    boundary = "chaos-boundary-7f3a"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def tiny_png(seed: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (seed % 256, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- lifecycles --------------------------------------------------------------------------------


@dataclass
class Lifecycle:
    n: int
    kind: str
    run_id: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    acknowledged: list[tuple[str, str, Any]] = field(default_factory=list)  # (step, what, id)
    failed: str | None = None
    steps: int = 0

    def key(self, step: str) -> str:
        return f"{self.run_id}-{self.n}-{step}"


class Driver:
    def __init__(self, client: Client, run_id: str) -> None:
        self.client, self.run_id = client, run_id
        self.advanced = 0  # days the sandbox clock was moved, acknowledged

    def post(
        self, life: Lifecycle, step: str, path: str, who: str, body: Any = None, **kw: Any
    ) -> dict[str, Any]:
        token = PLATFORM_TOKEN if who == "platform" else life.tokens[who]
        if body is None and "content" not in kw:
            body = {}
        response = self.client.request(
            "POST", path, token, key=life.key(step), json_body=body, **kw
        )
        life.steps += 1
        if not response.is_success:
            raise StepRefused(f"{step}: {response.status_code} {response.text[:300]}")
        return dict(response.json())

    def get(self, path: str, token: str = PLATFORM_TOKEN) -> dict[str, Any]:
        response = self.client.request("GET", path, token)
        if not response.is_success:
            raise StepRefused(f"GET {path}: {response.status_code} {response.text[:200]}")
        return dict(response.json())

    # --- the phases of one lifecycle ---------------------------------------------------------

    def setup(self, life: Lifecycle) -> None:
        tag = f"{life.run_id}-{life.n}"
        for role in ("buyer", "seller", "mediator"):
            if role == "mediator" and life.kind != "escalate":
                continue
            made = self.post(
                life,
                f"user-{role}",
                "/users",
                "platform",
                {"role": role, "name": f"{role} {tag}", "email": f"{role}.{tag}@chaos.test"},
            )
            life.tokens[role], life.ids[role] = made["api_token"], made["id"]
            life.acknowledged.append((f"user-{role}", "user", made["id"]))
        order = self.post(
            life,
            "order",
            "/orders",
            "platform",
            {
                "buyer_id": life.ids["buyer"],
                "seller_id": life.ids["seller"],
                "currency": "EUR",
                "items": [
                    {"sku": "A", "title": "Lamp", "quantity": 1, "unit_price": "40.00"},
                    {"sku": "B", "title": "Bulb", "quantity": 1, "unit_price": "10.00"},
                ],
                "shipping_cost": "5.00",
                "payment": {"method": "card", "reference": f"pay-{tag}", "country": "DE"},
            },
        )
        life.ids["order"], life.ids["item"] = order["id"], order["items"][0]["id"]
        life.acknowledged.append(("order", "order", order["id"]))
        self.post(
            life,
            "ship",
            f"/orders/{order['id']}/ship",
            "seller",
            {"carrier": "DHL", "tracking_number": f"JD{life.n:06d}", "protection_days": 20},
        )
        content, content_type = multipart("photo.png", tiny_png(life.n), "image/png")
        upload = self.post(
            life, "upload", "/files", "buyer", content=content, content_type=content_type
        )
        life.acknowledged.append(("upload", "file", upload["id"]))
        outcome = "return_and_refund" if life.kind == "return" else "refund_only"
        opened = self.post(
            life,
            "open",
            "/disputes",
            "buyer",
            {
                "order_id": order["id"],
                "item_ids": [life.ids["item"]],
                "reason": "damaged",
                "desired_outcome": outcome,
                "amount": "40.00",
                "description": f"Broken on arrival ({tag}).",
                "evidence_file_ids": [upload["id"]],
            },
        )
        life.ids["dispute"], life.ids["primary"] = opened["id"], opened["solutions"][0]["id"]
        life.acknowledged.append(("open", "dispute", opened["id"]))

    def message(self, life: Lifecycle, step: str, who: str, body: str) -> None:
        d = life.ids["dispute"]
        made = self.post(life, step, f"/disputes/{d}/messages", who, {"body": body})
        life.acknowledged.append((step, "message", made["messages"][-1]["id"]))

    def propose(self, life: Lifecycle, step: str, amount: str) -> str:
        d = life.ids["dispute"]
        made = self.post(
            life,
            step,
            f"/disputes/{d}/solutions",
            "seller",
            {"kind": "refund_only", "amount": amount, "comment": step},
        )
        solution = made["solutions"][-1]["id"]
        life.acknowledged.append((step, "solution", solution))
        return str(solution)

    def before_clock(self, life: Lifecycle) -> None:
        d = life.ids["dispute"]
        if life.kind == "seller_accepts":
            self.message(life, "msg-buyer", "buyer", "Please refund me.")
            self.post(
                life, "accept", f"/disputes/{d}/solutions/{life.ids['primary']}/accept", "seller"
            )
        elif life.kind == "agree":
            self.message(life, "msg-seller", "seller", "I can refund part of it.")
            offer = self.propose(life, "offer", "25.00")
            self.post(life, "reject", f"/disputes/{d}/solutions/{offer}/reject", "buyer")
            self.message(life, "msg-buyer", "buyer", "Fine, I take it after all.")
            self.post(life, "accept", f"/disputes/{d}/solutions/{offer}/accept", "buyer")
        elif life.kind == "silence":
            self.message(life, "msg-buyer", "buyer", "Hello? Anyone?")
        elif life.kind == "escalate":
            offer = self.propose(life, "offer", "10.00")
            self.post(life, "reject", f"/disputes/{d}/solutions/{offer}/reject", "buyer")
        elif life.kind == "return":
            self.post(
                life, "accept", f"/disputes/{d}/solutions/{life.ids['primary']}/accept", "seller"
            )
            self.post(
                life,
                "ship-return",
                f"/disputes/{d}/return-shipment",
                "buyer",
                {"carrier": "DHL", "tracking_number": f"RT{life.n:06d}"},
            )
            self.post(
                life,
                "receive-return",
                f"/disputes/{d}/return-receipt",
                "seller",
                {"condition": "as_expected"},
            )

    def after_escalation(self, life: Lifecycle) -> None:
        if life.kind != "escalate":
            return
        d = life.ids["dispute"]
        self.wait(lambda: self.get(f"/disputes/{d}")["status"] == "under_review", "escalation")
        self.post(life, "assign", f"/disputes/{d}/assign", "mediator", {})
        decided = self.post(
            life,
            "decide",
            f"/disputes/{d}/decisions",
            "mediator",
            {
                "solutions": [{"kind": "refund_only", "amount": "20.00"}],
                "rationale": "Half the damage is shown in the photos.",
            },
        )
        decision = decided["mediation"]["decision"]["id"]
        self.post(life, "finalize", f"/disputes/{d}/decisions/{decision}/finalize", "mediator", {})

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if time.monotonic() > deadline:
                raise StepRefused(f"stuck waiting for {what}")
            time.sleep(0.1)

    def advance(self, days: int, step: str) -> None:
        """Move the sandbox clock, with a key as every POST: a retry must not move it twice
        (checked at the end against the stored offset)."""
        response = self.client.request(
            "POST",
            "/sandbox/clock/advance",
            PLATFORM_TOKEN,
            key=f"{self.run_id}-{step}",
            json_body={"days": days},
        )
        if not response.is_success:
            raise StepRefused(f"advance: {response.status_code} {response.text[:200]}")
        self.advanced += days


class StepRefused(Exception):
    pass


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Report:
    db: str
    seed: int
    spawn: str = "exec"
    kills: int = 0
    kills_by_target: Counter[str] = field(default_factory=Counter)
    kills_with_requests_in_flight: int = 0
    pg_crashes: int = 0
    lifecycles: int = 0
    rounds: int = 0
    requests: str = ""
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    replay_failures: list[str] = field(default_factory=list)
    unbalanced: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    deadline_errors: list[str] = field(default_factory=list)
    process_errors: list[str] = field(default_factory=list)
    exits_during_db_outages: int = 0
    clock_days: int = 0
    clock_start_offset: int = 0
    advances: int = 0
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(
            len(x)
            for x in (
                self.lost,
                self.duplicates,
                self.replay_failures,
                self.unbalanced,
                self.stuck,
                self.deadline_errors,
                self.process_errors,
            )
        )

    def summary(self) -> str:
        return (
            f"{self.db} ({self.spawn}): seed {self.seed}, {self.kills} kills "
            f"({dict(self.kills_by_target)}; {self.kills_with_requests_in_flight} with requests "
            f"in flight), {self.pg_crashes} PostgreSQL crashes, {self.lifecycles} lifecycles in "
            f"{self.rounds} rounds, {self.requests}; lost {len(self.lost)}, duplicates "
            f"{len(self.duplicates)}, replay failures {len(self.replay_failures)}, unbalanced "
            f"{len(self.unbalanced)}, deadline errors {len(self.deadline_errors)}, stuck "
            f"{len(self.stuck)}, process errors {len(self.process_errors)} ("
            f"{self.exits_during_db_outages} exits while the database was down, restarted) "
            f"in {self.seconds:.0f} s"
        )

    def details(self) -> str:
        lines = []
        for name in (
            "lost",
            "duplicates",
            "replay_failures",
            "unbalanced",
            "deadline_errors",
            "stuck",
            "process_errors",
        ):
            for item in getattr(self, name)[:20]:
                lines.append(f"  {name}: {item}")
        return "\n".join(lines)


class Killer:
    """Kills a random process (an API, the worker, or an API and the worker together) at
    random moments once it is up, and now and then crashes the database server."""

    def __init__(
        self,
        fleet: Fleet,
        clients: list[Client],
        rng: random.Random,
        report: Report,
        *,
        kills: int,
        cluster: Cluster | None,
        pg_crash_every: int,
    ) -> None:
        self.fleet, self.clients, self.rng, self.report = fleet, clients, rng, report
        self.target, self.cluster, self.pg_crash_every = kills, cluster, pg_crash_every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.report.kills >= self.target

    def _wait_until_up(self, targets: list[Proc]) -> bool:
        """Until the targets serve, and another API does too (one API always answers; the
        database crash is what stops them all)."""
        deadline = time.monotonic() + PATIENCE
        while not self.stop.is_set():
            now = time.monotonic()
            up = [p.alive() and p.ready_at is not None and p.ready_at <= now for p in targets]
            others = [a for a in self.fleet.apis if a not in targets]
            if all(up) and any(a.alive() and a.ready_at is not None for a in others):
                return True
            if now > deadline:
                raise RuntimeError(f"{[p.name for p in targets]} did not come back up")
            self.stop.wait(0.05)
        return False

    def _run(self) -> None:
        try:
            while not self.stop.is_set() and not self.done:
                self.stop.wait(self.rng.uniform(0.05, 0.6))
                if self.stop.is_set():
                    return
                if (
                    self.cluster is not None
                    and self.pg_crash_every
                    and self.report.kills >= (self.report.pg_crashes + 1) * self.pg_crash_every
                ):
                    down = time.monotonic()
                    self.fleet.db_outages.append((down, float("inf")))
                    self.cluster.crash()
                    self.stop.wait(self.rng.uniform(0.1, 1.0))
                    self.cluster.start()
                    self.fleet.db_outages[-1] = (down, time.monotonic())
                    self.report.pg_crashes += 1
                    continue
                choice = self.rng.choice(["api", "api", "worker", "api+worker"])
                targets = []
                if "api" in choice:
                    targets.append(self.rng.choice(self.fleet.apis))
                if "worker" in choice:
                    targets.append(self.fleet.worker)
                if not self._wait_until_up(targets):
                    return
                # A random moment once it serves: mid-request, between requests, mid-batch.
                if self.stop.wait(self.rng.uniform(0.05, 1.0)):
                    return
                # Whether some request was on its way to a killed API process.
                busy = any(
                    c.inflight[self.fleet.apis.index(t)]
                    for c in self.clients
                    for t in targets
                    if t in self.fleet.apis
                )
                for proc in targets:
                    self.fleet.kill(proc)
                    self.report.kills += 1
                    self.report.kills_by_target[proc.name.rstrip("0123456789")] += 1
                self.report.kills_with_requests_in_flight += int(busy)
        except BaseException as error:
            self.error = error


def run(
    *,
    db: str,
    kills: int,
    seed: int,
    per_round: int = 10,
    parallel: int = 4,
    pg_crash_every: int = 25,
    workdir: Path | None = None,
    database_url: str | None = None,
    spawn: str = "exec",
) -> Report:
    """One harness run. ``db`` is ``postgres`` (a cluster of our own, crashed now and then,
    unless ``database_url`` names another server) or ``sqlite``."""
    started = time.monotonic()
    rng = random.Random(seed)
    report = Report(db=db, seed=seed, spawn=spawn)
    root = Path(workdir or tempfile.mkdtemp(prefix="fairdeal-chaos-"))
    root.mkdir(parents=True, exist_ok=True)
    cluster: Cluster | None = None
    if db == "postgres" and database_url is None:
        why = Cluster.available()
        if why:
            raise RuntimeError(f"cannot run a PostgreSQL cluster of our own here: {why}")
        cluster = Cluster(Path(tempfile.mkdtemp(prefix="fairdeal-chaos-pg-")))
        cluster.init()
        url = cluster.url
    elif db == "postgres":
        assert database_url is not None
        url = database_url
    else:
        url = f"sqlite:///{root / 'chaos.db'}"
    fleet = Fleet(url, root, spawn=spawn)
    stats, lock = Stats(), threading.Lock()
    clients = [Client(fleet, random.Random(rng.random()), stats, lock) for _ in range(parallel)]
    engine = create_engine(url, pool_pre_ping=True)
    try:
        fleet.upgrade()
        with engine.connect() as conn:
            offset = conn.execute(select(tables.sandbox_clock.c.offset_seconds)).scalar()
        report.clock_start_offset = int(offset or 0)
        fleet.start()
        log(f"fleet up after {time.monotonic() - started:.1f} s")
        run_id = f"s{seed}-{rng.randrange(10**6):06d}"
        # A calm round first: what each kind of lifecycle makes when nothing goes wrong.
        reference = _round(clients, run_id, 0, list(KINDS), report)
        expected = {life.kind: _footprint(engine, life) for life in reference}
        _check(engine, reference, expected, report)
        killer = Killer(
            fleet, clients, rng, report, kills=kills, cluster=cluster, pg_crash_every=pg_crash_every
        )
        killer.thread.start()
        round_no = 0
        while not killer.done:
            round_no += 1
            kinds = [rng.choice(KINDS) for _ in range(per_round)]
            lives = _round(clients, run_id, round_no, kinds, report)
            _check(engine, lives, expected, report)
            if killer.error:
                raise killer.error
            log(report.summary())
        killer.stop.set()
        killer.thread.join(30)
        report.rounds = round_no
        _check_clock(engine, report)
        for proc in fleet.procs:
            report.process_errors.extend(f"{proc.name}: {e}" for e in proc.unexpected_exits)
        report.exits_during_db_outages = fleet.exits_during_outages
    finally:
        report.requests = stats.merge_line()
        report.seconds = time.monotonic() - started
        fleet.stop()
        for client in clients:
            client.close()
        engine.dispose()
        if cluster is not None:
            cluster.destroy()
    return report


def _round(
    clients: list[Client], run_id: str, round_no: int, kinds: list[str], report: Report
) -> list[Lifecycle]:
    """One round: each lifecycle's steps up to the clock, the clock 8 days on (silence and
    negotiations fire), the mediators' steps, the clock 30 days on (refunds complete, orders
    pay out), and the wait until everything has."""
    base = report.lifecycles
    lives = [Lifecycle(base + i, kind, run_id) for i, kind in enumerate(kinds)]
    report.lifecycles += len(lives)
    drivers = [Driver(c, run_id) for c in clients]

    def each(phase: Callable[[Driver, Lifecycle], None]) -> None:
        queue = list(lives)
        qlock = threading.Lock()

        def work(driver: Driver) -> None:
            while True:
                with qlock:
                    if not queue:
                        return
                    life = queue.pop(0)
                if life.failed:
                    continue
                try:
                    phase(driver, life)
                except (StepRefused, Unanswerable) as error:
                    life.failed = str(error)
                    report.replay_failures.append(f"lifecycle {life.n} ({life.kind}): {error}")

        threads = [threading.Thread(target=work, args=(d,)) for d in drivers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    began = time.monotonic()
    each(lambda d, life: (d.setup(life), d.before_clock(life)))
    steps = time.monotonic()
    drivers[0].advance(8, f"round{round_no}-advance-8d")
    each(lambda d, life: d.after_escalation(life))
    drivers[0].advance(30, f"round{round_no}-advance-30d")
    clocked = time.monotonic()
    report.clock_days += 38
    report.advances += 2
    settled = _settled(drivers[0], lives)
    deadline = time.monotonic() + PATIENCE
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.2)
    log(
        f"round {round_no}: {len(lives)} lifecycles, steps {steps - began:.1f} s, clock and "
        f"mediators {clocked - steps:.1f} s, settling {time.monotonic() - clocked:.1f} s"
    )
    return lives


def _settled(driver: Driver, lives: list[Lifecycle]) -> Callable[[], bool]:
    def check() -> bool:
        for life in lives:
            if life.failed or "order" not in life.ids:
                continue
            with suppress(StepRefused, Unanswerable):
                order = driver.get(f"/orders/{life.ids['order']}")
                dispute = driver.get(f"/disputes/{life.ids['dispute']}")
                refund = dispute.get("refund") or {}
                if order["status"] != "completed" or refund.get("status") != "completed":
                    return False
                continue
            return False
        return True

    return check


# --- the checks ----------------------------------------------------------------------------------


def _footprint(engine: Engine, life: Lifecycle) -> dict[str, Any]:
    """Everything a lifecycle left in the database, as counts that do not depend on ids or
    times: events by type (of its dispute and its order), ledger movements with amounts,
    messages, solutions, evidence, files, users, orders."""
    d, o = life.ids.get("dispute"), life.ids.get("order")
    ev, le = tables.events, tables.ledger_entries
    with engine.connect() as conn:
        events = Counter(
            f"{'dispute' if agg == d else 'order'}:{kind}"
            for agg, kind in conn.execute(
                select(ev.c.aggregate_id, ev.c.type).where(ev.c.aggregate_id.in_([d, o]))
            )
            if kind not in VOLATILE_EVENTS
        )
        ledger = Counter(
            f"{m}:{a}:{n}"
            for m, a, n in conn.execute(
                select(le.c.movement, le.c.account, le.c.amount_minor).where(le.c.order_id == o)
            )
        )
        doc = conn.execute(select(tables.disputes.c.doc).where(tables.disputes.c.id == d)).scalar()
        emails = [f"{r}.{life.run_id}-{life.n}@chaos.test" for r in ("buyer", "seller", "mediator")]
        users = conn.execute(
            select(func.count()).select_from(tables.users).where(tables.users.c.email.in_(emails))
        ).scalar()
        buyer = life.ids.get("buyer")
        files = conn.execute(
            select(func.count()).select_from(tables.files).where(tables.files.c.owner_id == buyer)
        ).scalar()
        orders = conn.execute(
            select(func.count()).select_from(tables.orders).where(tables.orders.c.buyer_id == buyer)
        ).scalar()
        disputes = conn.execute(
            select(func.count())
            .select_from(tables.disputes)
            .where(tables.disputes.c.buyer_id == buyer)
        ).scalar()
    doc = doc or {}
    timeline = Counter(entry["type"] for entry in doc.get("timeline", []))
    return {
        "events": events,
        "ledger": ledger,
        "timeline": timeline,
        "messages": len(doc.get("messages", [])),
        "solutions": len(doc.get("solutions", [])),
        "evidence": len(doc.get("evidence", [])),
        "users": users,
        "files": files,
        "orders": orders,
        "disputes": disputes,
        "doc": doc,
    }


def _check(
    engine: Engine, lives: list[Lifecycle], expected: dict[str, dict[str, Any]], report: Report
) -> None:
    for life in lives:
        if life.failed:
            continue  # already reported
        # The database server may be down (crashed by the killer) while we look: look again.
        deadline = time.monotonic() + PATIENCE
        while True:
            trial = Report(db=report.db, seed=report.seed)
            try:
                _check_one(engine, life, expected, trial)
                break
            except DBAPIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        for name in ("lost", "duplicates", "unbalanced", "stuck", "deadline_errors"):
            getattr(report, name).extend(getattr(trial, name))


def _check_one(
    engine: Engine, life: Lifecycle, expected: dict[str, dict[str, Any]], report: Report
) -> None:
    name = f"lifecycle {life.n} ({life.kind})"
    got, want = _footprint(engine, life), expected[life.kind]
    doc = got["doc"]
    # Lost: every acknowledged thing is there.
    present = {
        "message": {m["id"] for m in doc.get("messages", [])},
        "solution": {s["id"] for s in doc.get("solutions", [])},
    }
    for step, what, ident in life.acknowledged:
        if what in present and ident not in present[what]:
            report.lost.append(f"{name}: acknowledged {step} ({what} {ident}) is missing")
        elif what in ("user", "order", "dispute", "file"):
            table = {
                "user": tables.users,
                "order": tables.orders,
                "dispute": tables.disputes,
                "file": tables.files,
            }[what]
            with engine.connect() as conn:
                if conn.execute(select(table.c.id).where(table.c.id == ident)).first() is None:
                    report.lost.append(f"{name}: acknowledged {step} ({what} {ident}) is missing")
    # Duplicates and losses against the calm run of the same kind.
    for part in ("events", "ledger", "timeline"):
        more = got[part] - want[part]
        fewer = want[part] - got[part]
        for item, n in more.items():
            report.duplicates.append(f"{name}: {part} {item} x{n} more than a calm run")
        for item, n in fewer.items():
            report.lost.append(f"{name}: {part} {item} x{n} fewer than a calm run")
    for part in ("messages", "solutions", "evidence", "users", "files", "orders", "disputes"):
        if got[part] > want[part]:
            report.duplicates.append(f"{name}: {got[part]} {part}, a calm run makes {want[part]}")
        elif got[part] < want[part]:
            report.lost.append(f"{name}: {got[part]} {part}, a calm run makes {want[part]}")
    # Deadlines: each fired once.
    timeline = got["timeline"]
    fired = {
        "silence": ("deadline.expired", 1),
        "escalate": ("dispute.escalated", 1),
    }.get(life.kind)
    if fired and timeline[fired[0]] != fired[1]:
        report.deadline_errors.append(f"{name}: {fired[0]} x{timeline[fired[0]]}")
    if timeline["refund.completed"] != 1:
        report.deadline_errors.append(f"{name}: refund.completed x{timeline['refund.completed']}")
    if got["events"]["order:order.completed"] != 1:
        report.deadline_errors.append(
            f"{name}: order.completed x{got['events']['order:order.completed']}"
        )
    # The end state and the money.
    status, decided_by, refund = FINAL[life.kind]
    outcome = doc.get("outcome") or {}
    if doc.get("status") != status or outcome.get("decided_by") != decided_by:
        report.stuck.append(
            f"{name}: {doc.get('status')} / {outcome.get('decided_by')}, expected "
            f"{status} / {decided_by}"
        )
    _check_ledger(engine, life, refund, name, report)


def _check_clock(engine: Engine, report: Report) -> None:
    """The sandbox clock moved by what was acknowledged, not more: a retried advance did not
    move it twice. (Each advance may add a second: the offset is rounded up.)"""
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            with engine.connect() as conn:
                offset = conn.execute(select(tables.sandbox_clock.c.offset_seconds)).scalar() or 0
            break
        except DBAPIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    offset -= report.clock_start_offset
    expected = report.clock_days * 86400
    if not 0 <= offset - expected <= 2 * report.advances + 5:
        report.duplicates.append(
            f"the sandbox clock is {offset - expected} s off the {report.clock_days} days "
            "acknowledged (an advance applied twice?)"
        )


def _check_ledger(engine: Engine, life: Lifecycle, refund: int, name: str, report: Report) -> None:
    le = tables.ledger_entries
    with engine.connect() as conn:
        rows = conn.execute(
            select(le.c.txn_id, le.c.account, le.c.amount_minor, le.c.currency).where(
                le.c.order_id == life.ids["order"]
            )
        ).all()
        order_status = conn.execute(
            select(tables.orders.c.status).where(tables.orders.c.id == life.ids["order"])
        ).scalar()
    per_txn: Counter[str] = Counter()
    by_account: Counter[str] = Counter()
    for txn, account, amount, _ in rows:
        per_txn[txn] += amount
        by_account[account] += amount
    problems = [f"txn {t} sums to {s}" for t, s in per_txn.items() if s != 0]
    held, refunded = -by_account["buyer_payment"], by_account["buyer_refund"]
    released, escrow = by_account["seller_payout"], by_account["escrow"]
    if held != refunded + released + escrow:
        problems.append(f"held {held} != refunded {refunded} + released {released} + {escrow}")
    if refunded > held:
        problems.append(f"refunded {refunded} > paid {held}")
    if refunded != refund:
        problems.append(f"refunded {refunded}, expected {refund}")
    if order_status == "completed" and escrow != 0:
        problems.append(f"completed with {escrow} still in escrow")
    if order_status != "completed":
        report.stuck.append(f"{name}: order {order_status}")
    report.unbalanced.extend(f"{name}: {p}" for p in problems)


# --- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--pg-crash-every", type=int, default=25, help="kills; 0: never")
    parser.add_argument("--database-url", help="an existing PostgreSQL (no server crashes)")
    parser.add_argument(
        "--spawn",
        choices=["exec", "fork"],
        default="exec",
        help="exec: each process is `python -m fairdeal.cli serve|worker`; fork: forked from a"
        " process that imported it all once (restarts in milliseconds; for long runs)",
    )
    parser.add_argument("--json", help="write the report here as JSON")
    args = parser.parse_args(argv)
    report = run(
        db=args.db,
        kills=args.kills,
        seed=args.seed,
        per_round=args.per_round,
        parallel=args.parallel,
        pg_crash_every=args.pg_crash_every,
        database_url=args.database_url,
        spawn=args.spawn,
    )
    print(report.summary())
    if report.failures:
        print(report.details())
    if args.json:
        data = {k: v for k, v in report.__dict__.items()}
        data["kills_by_target"] = dict(report.kills_by_target)
        Path(args.json).write_text(json.dumps(data, indent=2, default=str))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
