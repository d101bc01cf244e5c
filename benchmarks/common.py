"""What every benchmark needs: a fresh database, server and worker processes, memory
sampling, percentiles, a table on the terminal and a JSON file in benchmarks/results/."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The server's administrative database (CREATE/DROP DATABASE run there).
ADMIN_URL = os.environ.get(
    "FAIRDEAL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = os.environ.get("FAIRDEAL_BENCH_DB", "fairdeal_bench")
PLATFORM_TOKEN = "fdbench_platform_token_0123456789abcdef0123"
SECRET_KEY = "fdbench-secret-key-0123456789abcdef0123456789abcdef"


def results_dir() -> Path:
    """benchmarks/results/ beside this package (git-ignored)."""
    return Path(__file__).resolve().parent / "results"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- databases ------------------------------------------------------------------------------


def db_url(name: str = BENCH_DB) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same database as a plain libpq URL (for pgbench, psycopg, asyncpg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def recreate_database(name: str = BENCH_DB) -> str:
    """Drop and create ``name``; returns its SQLAlchemy URL (schema not yet migrated)."""
    drop_database(name)
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return db_url(name)


def drop_database(name: str = BENCH_DB) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def database_size(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    engine.dispose()
    return size


def server_settings() -> dict[str, str]:
    """The PostgreSQL settings that decide write throughput, for the record."""
    engine = create_engine(ADMIN_URL)
    names = ("server_version", "shared_buffers", "synchronous_commit", "fsync", "max_connections")
    with engine.connect() as conn:
        found = {n: str(conn.execute(text(f"SHOW {n}")).scalar_one()) for n in names}
    engine.dispose()
    return found


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fairdeal_executable() -> list[str]:
    """How to run ``fairdeal``: the console script beside this interpreter."""
    script = Path(sys.executable).with_name("fairdeal")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fairdeal.cli"]


def app_env(url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "FAIRDEAL_DATABASE_URL": url,
            "FAIRDEAL_PLATFORM_TOKEN": PLATFORM_TOKEN,
            "FAIRDEAL_SECRET_KEY": SECRET_KEY,
            # Clients here are a handful of tokens doing thousands of writes a minute; the
            # limiter still runs (its cost is measured), it just never says no.
            "FAIRDEAL_RATE_LIMIT_WRITES_PER_MINUTE": "10000000",
            "FAIRDEAL_STORAGE_DIR": "/tmp/fairdeal-bench-files",
        }
    )
    env.update(extra)
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int | None = None
    log: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid


def spawn(
    name: str,
    args: Sequence[str],
    env: dict[str, str],
    port: int | None = None,
    cwd: Path | None = None,
) -> Proc:
    log = Path("/tmp") / f"fairdeal-bench-{name}-{os.getpid()}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(list(args), env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd)
    return Proc(name, popen, port, log)


def start_api(
    url: str, port: int, name: str = "api", *, checkout: Path | None = None, **extra: str
) -> Proc:
    """One ``fairdeal serve`` process (one uvicorn worker: see docs/performance.md on why not
    ``--workers N``). ``checkout``: run another checkout's code instead (its own ``.venv``,
    e.g. a worktree of ``main`` as the baseline of the same run). Its PostgreSQL sessions
    carry the process's name as ``application_name`` (libpq's PGAPPNAME), so that
    ``CpuSampler`` finds the backends that serve it."""
    executable = fairdeal_executable() if checkout is None else checkout_executable(checkout)
    cmd = [*executable, "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = app_env(url, PGAPPNAME=backend_name(name), **extra)
    return spawn(name, cmd, env, port, cwd=checkout)


def checkout_executable(checkout: Path) -> list[str]:
    """``fairdeal`` as another checkout installed it (``uv sync`` there first)."""
    script = checkout / ".venv" / "bin" / "fairdeal"
    if not script.exists():
        raise RuntimeError(f"{script} not found: run `uv sync` in {checkout} first")
    return [str(script)]


def backend_name(proc_name: str) -> str:
    """The ``application_name`` of a benchmark process's PostgreSQL sessions."""
    return f"fdbench-{proc_name}"


def start_worker(url: str, name: str = "worker", *, relay: bool = True, **extra: str) -> Proc:
    """A ``fairdeal worker`` process, or (``relay=False``) the same loop with the notification
    relay left out, as a deployment that runs relay workers of their own would have."""
    if relay:
        cmd = [*fairdeal_executable(), "worker"]
    else:
        # Found as a module because the child inherits the working directory: the repository
        # root, where `python -m benchmarks` has to be started (it is not installed).
        cmd = [sys.executable, "-m", "benchmarks.firing_worker"]
    return spawn(name, cmd, app_env(url, **extra))


def wait_ready(procs: Sequence[Proc], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for proc in procs:
        assert proc.port is not None
        while True:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited: {tail(proc)}")
            try:
                if httpx.get(f"http://127.0.0.1:{proc.port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not answer: {tail(proc)}")
            time.sleep(0.2)


def tail(proc: Proc, lines: int = 30) -> str:
    if proc.log is None or not proc.log.exists():
        return ""
    return "\n".join(proc.log.read_text(errors="replace").splitlines()[-lines:])


def stop(procs: Sequence[Proc], timeout: float = 15.0) -> None:
    for proc in procs:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait()


@contextmanager
def running(procs: Sequence[Proc]) -> Iterator[Sequence[Proc]]:
    try:
        yield procs
    finally:
        stop(procs)


# --- memory ---------------------------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    current = peak = 0.0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return current, peak


class Ticker:
    """Calls ``sample`` every ``every`` seconds in a thread between ``start`` and ``stop``,
    and once more when stopped (the samplers below)."""

    def __init__(self, sample: Callable[[], None], every: float) -> None:
        self.sample, self.every = sample, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()


@dataclass
class MemorySampler:
    """Samples the RSS of some processes every ``every`` seconds in a thread."""

    procs: Sequence[Proc]
    every: float = 1.0
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._started = time.monotonic()
        self._ticker = Ticker(self._sample, self.every)

    def __enter__(self) -> MemorySampler:
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ticker.stop()

    def _sample(self) -> None:
        now = time.monotonic() - self._started
        for proc in self.procs:
            try:
                current, peak = rss_mb(proc.pid)
            except OSError:
                continue
            self.samples.setdefault(proc.name, []).append((round(now, 1), round(current, 1)))
            self.peaks[proc.name] = max(self.peaks.get(proc.name, 0.0), peak)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per process: RSS at the first and last sample, and the peak (VmHWM)."""
        out = {}
        for name, series in self.samples.items():
            values = [v for _, v in series]
            out[name] = {
                "first_mb": values[0],
                "last_mb": values[-1],
                "max_sampled_mb": max(values),
                "peak_mb": round(self.peaks.get(name, max(values)), 1),
            }
        return out


# --- numbers and output ---------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [title, line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    text_ = "\n".join(out)
    print("\n" + text_ + "\n", flush=True)
    return text_


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "postgresql": server_settings(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    data = {"benchmark": name, "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    load = ", ".join(f"{v:.1f}" for v in data["machine"]["load_average"])
    # Figures taken at a load average of 2 or more do not count toward a target (issue 16).
    say(f"wrote {path} (load average {load})")
    return path


# --- CPU ------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def tree_cpu_seconds(pid: int) -> float:
    """``cpu_seconds`` of a process and of its live descendants (a server such as granian
    serves from a worker process it starts)."""
    total = cpu_seconds(pid)
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return total
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                total += sum(tree_cpu_seconds(int(child)) for child in children.read().split())
        except OSError:
            continue
    return total


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends connected to this benchmark's database now."""
    engine = create_engine(url, poolclass=None)
    with engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ).scalars()
        found = [int(p) for p in pids]
    engine.dispose()
    return found


class CpuMeter:
    """CPU used by some processes between ``start`` and ``stop`` (PostgreSQL backends are
    looked up when started: keep connections pooled across the measurement)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.before = {g: sum(cpu_seconds(p) for p in pids) for g, pids in groups.items()}

    def stop(self) -> dict[str, float]:
        return {
            g: round(sum(cpu_seconds(p) for p in pids) - self.before[g], 3)
            for g, pids in self.groups.items()
        }


@dataclass
class _Backend:
    first: float  # its CPU when first seen (0 when it started after the sampler)
    last: float  # its CPU when last seen (a backend that has gone keeps its last sample)


class CpuSampler:
    """CPU used between ``__enter__`` and ``__exit__`` by some processes (with their children)
    and by the PostgreSQL backends that serve them (found by ``application_name``, see ``start_api``), by group.

    Backends are sampled every ``every`` seconds, so that connections opened during the
    measurement count (from zero: ``backend_start`` says they are new) and connections closed
    during it keep their last sample (up to ``every`` seconds of their work is missed: the
    pools keep their connections, so this is rare). The sampler's own session is left out."""

    def __init__(self, url: str, groups: dict[str, Sequence[Proc]], every: float = 0.5) -> None:
        self.url, self.groups, self.every = url, groups, every
        self.app_names = {backend_name(p.name): g for g, procs in groups.items() for p in procs}
        self.backends: dict[int, tuple[str, _Backend]] = {}
        self.processes: dict[str, float] = {}
        self.result: dict[str, dict[str, float]] = {}
        self._ticker = Ticker(self._sample, every)

    def __enter__(self) -> CpuSampler:
        self._engine = create_engine(self.url, pool_size=1, max_overflow=0)
        self._started_at = datetime.now(UTC)
        self.processes = {
            g: sum(tree_cpu_seconds(p.pid) for p in procs) for g, procs in self.groups.items()
        }
        self._sample()
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ticker.stop()
        self._engine.dispose()
        for group, procs in self.groups.items():
            backends = [b for g, b in self.backends.values() if g == group]
            self.result[group] = {
                "api": round(
                    sum(tree_cpu_seconds(p.pid) for p in procs) - self.processes[group], 3
                ),
                "postgres": round(sum(b.last - b.first for b in backends), 3),
                "backends_seen": len(backends),
            }

    def _sample(self) -> None:
        with self._engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid, application_name, backend_start FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        for pid, app_name, backend_start in rows:
            group = self.app_names.get(app_name)
            if group is None:
                continue
            used = cpu_seconds(int(pid))
            known = self.backends.get(int(pid))
            if known is None:
                new = backend_start is not None and backend_start > self._started_at
                self.backends[int(pid)] = (group, _Backend(0.0 if new else used, used))
            elif used > 0:
                known[1].last = used
