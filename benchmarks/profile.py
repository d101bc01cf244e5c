"""Profile an API process under the transitions load (or the reads load, or the constant route
``/healthz`` alone: the HTTP path's own cost) with py-spy:
``python -m benchmarks.profile transitions|reads|constant [SECONDS] [CLIENTS]`` writes a
speedscope/flamegraph file and prints the top functions. Used to find what
docs/performance.md lists as fixed; not part of ``bench all``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from benchmarks import seed
from benchmarks.common import (
    free_port,
    recreate_database,
    results_dir,
    running,
    say,
    start_api,
    wait_ready,
)
from benchmarks.reads import read_requests
from benchmarks.transitions import jobs_for, run_loadgen


def main(which: str, seconds: int = 15, clients: int = 8) -> None:
    url = recreate_database()
    engine = seed.prepare(url)
    if which == "transitions":
        shape = seed.Shape(orders=20_000, disputes=0)
        seed.load(engine, shape, files=True)
    else:
        shape = seed.Shape(orders=10_000, disputes=2_000)
        seed.load(engine, shape)
    engine.dispose()
    api = start_api(url, free_port())
    out = results_dir() / f"profile-{which}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    with running([api]):
        wait_ready([api])
        spec: dict[str, Any]
        if which == "transitions":
            spec = {"mode": "lifecycle", "jobs": jobs_for(shape, 1, 15_000)}
        else:
            kinds = ["constant"] if which == "constant" else ["dispute", "list"]
            spec = {"mode": "requests", "requests": read_requests(shape, kinds)}
        spec.update({"clients": clients, "ports": [api.port], "warmup": 1, "duration": seconds + 2})
        pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        record = [
            pyspy,
            "record",
            "--pid",
            str(api.pid),
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            "--gil",
        ]
        profiler = threading.Thread(target=subprocess.run, args=(record,), daemon=True)
        profiler.start()
        result = run_loadgen(spec)
        profiler.join()
    done = sum(len(v) for v in result["latencies_ms"].values())
    say(f"{done / result['seconds']:.0f} requests/s; profile in {out}")
    summarize(out)


def summarize(path: Path, top: int = 45) -> None:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    print(f"{total} samples\n-- inclusive")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{100 * count / total:5.1f}%  {frame}")
    print("-- self")
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{100 * count / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
