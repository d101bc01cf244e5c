"""``fairdeal payments reconcile``: Fairdeal's money movements against the payment provider's
records; every mismatch listed, exit 1 on any (``services/reconcile.py`` says what counts).

Exit codes: 0 everything matches, 1 a mismatch, 2 the check could not be made (the provider
did not answer, no key, an old schema)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy import select

from fairdeal.services.payments import PaymentGateway, PaymentProviderError
from fairdeal.services.reconcile import MovementLike, collect, reconcile

if TYPE_CHECKING:
    from fairdeal.bootstrap import App

payments_app = typer.Typer(help="Money movements (refunds and payouts).", no_args_is_help=True)

# What each provider carries out, so what it is reconciled on: in stripe mode, payouts go
# through the marketplace callback and Stripe holds refunds only.
KINDS_AT = {"stripe": ("refund",)}


class CannotReconcile(Exception):
    """The check could not be made (exit 2)."""


@payments_app.command("reconcile")
def reconcile_command(
    provider: str = typer.Option("stripe", help="the provider whose records to compare"),
) -> None:
    """Compare the movements of one provider with what the provider holds: missing,
    duplicate, wrong amount, unknown at Fairdeal, status or reference differs. Exit 1 on
    any mismatch."""
    from fairdeal.cli import _opened, _require_current_schema

    with _opened() as application:
        _require_current_schema(application)
        try:
            movements = load_movements(application, provider)
            gateway = gateway_for(application, provider)
        except CannotReconcile as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        code = report(movements, gateway, typer.echo)
    raise typer.Exit(code)


def report(
    movements: Sequence[MovementLike],
    gateway: PaymentGateway,
    echo: Callable[..., Any],
) -> int:
    """Ask the provider for the records of every payment, print the mismatches; the exit
    code."""
    try:
        records = collect(gateway.records, movements)
    except PaymentProviderError as error:
        echo(f"error: the provider did not answer: {error}", err=True)
        return 2
    found = reconcile(movements, records)
    held = sum(len(r) for r in records.values())
    summary = (
        f"checked {len(movements)} movement(s) on {len(records)} payment(s)"
        f" against {held} record(s) at {gateway.name}"
    )
    for mismatch in found:
        echo(f"MISMATCH {mismatch.line()}")
    if found:
        echo(f"{summary}: {len(found)} mismatch(es)", err=True)
        return 1
    echo(f"{summary}: everything matches")
    return 0


def load_movements(application: App, provider: str) -> list[MovementLike]:
    """The movements of ``provider`` (of the kinds it carries out), from the payments core's
    ``money_movements`` table, decoded as ``MoneyMovement``."""
    from fairdeal.adapters.db import tables
    from fairdeal.adapters.db.codec import decode
    from fairdeal.domain.payments import MoneyMovement

    table, movement_type = tables.money_movements, MoneyMovement
    kinds = KINDS_AT.get(provider, ("refund", "payout"))
    statement = (
        select(table.c.doc)
        .where(table.c.provider == provider, table.c.kind.in_(kinds))
        .order_by(table.c.id)
    )
    with application.engine.connect() as conn:
        docs = [row.doc for row in conn.execute(statement)]
    policies = application.ctx.policies
    return [decode(movement_type, doc, policies) for doc in docs]


def gateway_for(application: App, provider: str) -> PaymentGateway:
    """The provider's gateway: Stripe from FAIRDEAL_STRIPE_API_KEY / _API_BASE; any other,
    the one the application wired for FAIRDEAL_PAYMENTS."""
    settings = application.settings
    if provider == "stripe":
        from fairdeal.adapters.payments.stripe import StripeGateway

        key, base = settings.stripe_api_key, settings.stripe_api_base
        if not key:
            raise CannotReconcile("FAIRDEAL_STRIPE_API_KEY is not set")
        return StripeGateway(key, base or None)
    payments = getattr(application.ctx, "payments", None)
    for gateway in (getattr(payments, "refunds", None), getattr(payments, "payouts", None)):
        if gateway is not None and getattr(gateway, "name", None) == provider:
            found: PaymentGateway = gateway
            return found
    raise CannotReconcile(f"no {provider!r} payment provider is configured (FAIRDEAL_PAYMENTS)")
