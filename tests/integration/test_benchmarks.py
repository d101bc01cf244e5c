"""The benchmarks live outside the product (``benchmarks/`` at the repository root, run as
``python -m benchmarks``): the command `make bench` runs still starts and lists every
benchmark. Running them is not a test (docs/performance.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_python_m_benchmarks_lists_every_benchmark() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    listed = {line.strip("│ ").split(" ")[0] for line in done.stdout.splitlines()}
    assert {
        "transitions",
        "reads",
        "firing",
        "scale",
        "embedded",
        "soak",
        "audit",
        "notifications",
        "all",
    } <= listed
