"""The resolution centre's pages, by who uses them: signing in (``auth``), the buyer's orders
and dispute form (``buyer``), the dispute page and the parties' forms on it (``disputes``),
the seller's own form (``seller``), the mediator's queue and workbench (``mediator``), the
admin dashboard and sandbox clock (``admin``), evidence files (``evidence``). Every page goes
through one pipeline (``pipeline``: session, CSRF, refusals as pages) and reaches the services
one way (``common``). Every form posts here, and on a refused action comes back with the
rule's own words next to the field."""

from fastapi import APIRouter

from fairdeal.entrypoints.web.routes import (
    admin,
    auth,
    buyer,
    casefile,
    disputes,
    evidence,
    locale,
    mediator,
    metrics_pages,
    seller,
)

router = APIRouter()
for part in (
    auth,
    locale,
    evidence,
    buyer,
    seller,
    disputes,
    mediator,
    admin,
    casefile,
    metrics_pages,
):
    router.include_router(part.router)

__all__ = ["router"]
