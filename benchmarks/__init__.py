"""Benchmarks (``python -m benchmarks ...`` from the repository root): each measures Fairdeal
and, in the same run on the same database, a baseline (pgbench, a constant route, PgQueuer and
procrastinate, Tryton), prints a table and writes JSON to benchmarks/results/. See
docs/performance.md.

They live outside ``src/`` so the wheel never ships them: the product never imports them.

Benchmarks are never tests: they time things, and timings on a shared 2-core machine are
noise unless compared with a baseline measured a moment earlier. Every figure that matters is
therefore a ratio."""
