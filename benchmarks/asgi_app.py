"""``fairdeal serve``'s application, for an ASGI server started by its own command line: the
server A/B of ``benchmarks/reads.py`` runs it under granian
(``granian --interface asgi --factory benchmarks.asgi_app:app``). The benchmark has migrated
and seeded the database already; settings come from the environment, as for ``serve``."""

from __future__ import annotations

from fastapi import FastAPI

from fairdeal import logs
from fairdeal.bootstrap import bootstrap
from fairdeal.entrypoints.api.app import create_app


def app() -> FastAPI:
    logs.configure()
    application = bootstrap()
    application.warm_up()
    return create_app(application)
