"""Start-up as a person waits for it (issue 16): ``fairdeal demo`` from nothing until its login
page answers, and ``fairdeal serve`` on an existing SQLite database until ``/readyz`` and the
login page answer. Each over several runs, as whole processes started the way an operator
starts them. The baseline, measured in the same run, is the bare interpreter starting and
importing the web stack (FastAPI, SQLAlchemy, Jinja2): what no Fairdeal change can remove.

Targets: the demo's first page within 3 s, serve on an existing database within 1.5 s."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    app_env,
    cpu_seconds,
    fairdeal_executable,
    free_port,
    ratio,
    say,
    table,
    write_result,
)

DEMO_TARGET_S = 3.0
SERVE_TARGET_S = 1.5


def _first_page(process: subprocess.Popen[bytes], port: int, timeout: float) -> tuple[float, float]:
    """The moment /readyz and then /login answered 200 (the process's start time is taken by
    the caller just before it spawned), and the CPU seconds the process had used by then:
    the figure a loaded machine changes least."""
    deadline = time.monotonic() + timeout
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                login = httpx.get(f"{base}/login", timeout=5)
                if login.status_code == 200:
                    return time.monotonic(), cpu_seconds(process.pid)
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"no first page within {timeout} s")


def _timed_start(args: list[str], env: dict[str, str], port: int, cwd: Path) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds) from the start until the first page answered."""
    started = time.monotonic()
    process = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        answered, cpu = _first_page(process, port, timeout=120)
        return answered - started, cpu
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_BASELINE = (
    "import resource, fastapi, sqlalchemy, jinja2, uvicorn;"
    " used = resource.getrusage(resource.RUSAGE_SELF);"
    " print(used.ru_utime + used.ru_stime)"
)


def _baseline() -> tuple[float, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _BASELINE], check=True, capture_output=True, text=True
    )
    return time.monotonic() - started, float(done.stdout)


def main(*, runs: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fairdeal-startup-") as folder:
        work = Path(folder)
        database = work / "serve.db"
        url = f"sqlite:///{database}"
        env = app_env(url, FAIRDEAL_SANDBOX="true")
        # serve measures start-up on an existing database: create and migrate it once first.
        port = free_port()
        _timed_start([*fairdeal_executable(), "serve", "--port", str(port)], env, port, work)

        demo: list[tuple[float, float]] = []
        serve: list[tuple[float, float]] = []
        base: list[tuple[float, float]] = []
        for run in range(runs):
            base.append(_baseline())
            port = free_port()
            demo_args = [*fairdeal_executable(), "demo", "--port", str(port)]
            demo_args += ["--database", str(work / f"demo-{run}.db")]
            demo.append(_timed_start(demo_args, env, port, work))
            port = free_port()
            serve_args = [*fairdeal_executable(), "serve", "--port", str(port)]
            serve.append(_timed_start(serve_args, env, port, work))

    runs_of = {
        "fairdeal demo → first page": demo,
        "fairdeal serve → first page": serve,
        "baseline: python + imports": base,
    }
    base_wall = statistics.median(w for w, _ in base)
    base_cpu = statistics.median(c for _, c in base)
    rows: list[list[object]] = []
    for name, starts in runs_of.items():
        wall, cpu = [w for w, _ in starts], [c for _, c in starts]
        rows.append(
            [
                name,
                min(wall),
                statistics.median(wall),
                max(wall),
                ratio(statistics.median(wall), base_wall),
                statistics.median(cpu),
                ratio(statistics.median(cpu), base_cpu),
            ]
        )
    say(
        table(
            f"Start-up over {runs} runs (s)",
            ["what", "min", "median", "max", "× base", "CPU s (median)", "CPU × base"],
            rows,
        )
    )
    med_demo, med_serve = (statistics.median(w for w, _ in starts) for starts in (demo, serve))
    targets = {
        f"demo first page <= {DEMO_TARGET_S} s": med_demo <= DEMO_TARGET_S,
        f"serve first page <= {SERVE_TARGET_S} s": med_serve <= SERVE_TARGET_S,
    }
    data = {
        "runs": runs,
        "demo_s": [w for w, _ in demo],
        "serve_s": [w for w, _ in serve],
        "baseline_s": [w for w, _ in base],
        "demo_cpu_s": [c for _, c in demo],
        "serve_cpu_s": [c for _, c in serve],
        "baseline_cpu_s": [c for _, c in base],
        "targets": targets,
    }
    write_result("startup", data)
    return data
