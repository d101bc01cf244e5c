"""Run the audit-verify benchmark without the CLI: ``.venv/bin/python benchmarks/audit.py
[entries] [--sqlite-only]`` (the same as ``fairdeal bench audit``; see docs/audit.md)."""

from __future__ import annotations

import sys

from fairdeal.bench.audit import main

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(entries=int(args[0]) if args else 200_000, postgres="--sqlite-only" not in sys.argv)
