# The two commands that matter: `make demo` runs the product, `make test` runs every test.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: help install install-dev install-bench demo test lint typecheck check bench clean

help:
	@echo "make demo   run the product on SQLite with demo data and the sandbox clock"
	@echo "make test   run every test (SQLite and PostgreSQL at $(PG_URL), Redis at $(REDIS_URL))"
	@echo "make check  lint and type-check"
	@echo "make bench  the benchmarks (python -m benchmarks all; docs/performance.md)"

# uv is installed into the user's home if missing; it then creates .venv from uv.lock.
# Three installs, each `uv sync --locked` (a uv.lock that no longer matches pyproject.toml
# fails instead of being re-resolved): the runtime dependencies only (`make demo`, and what a
# production install takes: `uv sync --locked --no-dev`), plus the `dev` group (tests, lint,
# types: `make test`, `make check`), plus the `bench` group (Tryton and the queue libraries
# the benchmarks compare against: `make bench`). `--inexact` keeps what a wider install
# already put there, so `make demo` after `make test` does not uninstall the test tools.
# The runtime and bench installs compile every module to bytecode once (`--compile-bytecode`,
# and `compileall` for our own editable src/): where Python may not write .pyc files itself
# (PYTHONDONTWRITEBYTECODE, a read-only install) every start compiled the whole stack from
# source again -- most of `fairdeal demo`'s 8-20 s to its first page (docs/performance.md).
$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv

.venv/.synced-runtime: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --no-dev --inexact --compile-bytecode
	.venv/bin/python -m compileall -q src
	@touch $@

.venv/.synced-dev: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --no-default-groups --group dev --inexact
	@touch $@

.venv/.synced-bench: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --no-default-groups --group dev --group bench --inexact --compile-bytecode
	.venv/bin/python -m compileall -q src
	@touch $@

install: .venv/.synced-runtime

install-dev: .venv/.synced-dev

install-bench: .venv/.synced-bench

demo: install
	.venv/bin/fairdeal demo

test: install-dev
	FAIRDEAL_TEST_PG_URL="$(PG_URL)" FAIRDEAL_TEST_REDIS_URL="$(REDIS_URL)" .venv/bin/pytest -n 2 $(PYTEST_ARGS)

lint: install-dev
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks

# The benchmarks import the bench group's libraries (pgqueuer, Tryton): without them mypy sees
# their decorators as untyped and fails, so the type check installs that group too.
typecheck: install-bench
	.venv/bin/mypy

check: lint typecheck

bench: install-bench
	.venv/bin/python -m benchmarks all

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The web pages' gettext catalogues (babel.cfg; docs/web.md, "Languages and time zones"):
# extract the strings, merge them into every language's .po, compile the .mo files.
LOCALES := src/fairdeal/locale
.PHONY: messages
messages: install
	.venv/bin/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 -k pgettext:1c,2 \
	  --no-location --sort-output --omit-header -o $(LOCALES)/messages.pot .
	.venv/bin/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages \
	  --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	.venv/bin/pybabel compile -d $(LOCALES) -D messages --statistics
