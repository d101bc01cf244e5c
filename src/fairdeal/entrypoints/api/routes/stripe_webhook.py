"""``POST /api/v1/providers/stripe/webhook``: Stripe's confirmations of refunds (stripe mode).

No bearer token: the ``Stripe-Signature`` header, checked against
``FAIRDEAL_STRIPE_WEBHOOK_SECRET`` with Stripe's own verification, is the authentication. A bad
one answers 400 ``invalid_signature`` and changes nothing. Each refund outcome the event
carries is handed to the payments core's ``apply_provider_outcome``: its refusals (an unknown
movement 404, another reference or a movement already failed 409) answer as problem+json like
every other, so that Stripe retries, and an outcome applied twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from fairdeal.config import Settings
from fairdeal.entrypoints.api.deps import Ctx, api_of
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.entrypoints.api.schemas import Problem
from fairdeal.services.payments import apply_provider_outcome

router = APIRouter(prefix="/api/v1", tags=["payments"])

Applier = Callable[[Any, str, str, str, "str | None"], object]


def webhook_secret(settings: Settings) -> str | None:
    """FAIRDEAL_STRIPE_WEBHOOK_SECRET; unset, the route answers 404."""
    return settings.stripe_webhook_secret or None


def resolve_applier() -> Applier:
    """How a verified outcome is applied (a seam the route's tests replace with a recorder)."""
    return apply_provider_outcome


_BAD_SIGNATURE: dict[int | str, dict[str, Any]] = {
    400: {
        "model": Problem,
        "description": "The Stripe-Signature header is missing or does not verify",
        "content": {"application/problem+json": {}},
    }
}


@router.post(
    "/providers/stripe/webhook",
    responses={**_BAD_SIGNATURE, **errors(404, 409)},
    summary="Stripe's refund events (stripe mode)",
)
async def stripe_webhook(
    request: Request,
    ctx: Ctx,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, Any]:
    secret = webhook_secret(api_of(request).app.settings)
    if not secret:
        raise ApiError(
            "not_found", "Stripe webhooks are not configured (FAIRDEAL_STRIPE_WEBHOOK_SECRET)"
        )
    payload = await request.body()
    # Here, not at import: the Stripe SDK costs every start-up ~0.1 s, and only a server in
    # Stripe mode ever gets this request (docs/performance.md, "Start-up").
    from fairdeal.adapters.payments.stripe_webhooks import StripeWebhookError, outcomes

    try:
        found = outcomes(payload, stripe_signature, secret)
    except StripeWebhookError as error:
        raise ApiError("invalid_signature", str(error), field="Stripe-Signature") from None
    if found:
        apply = resolve_applier()
        for outcome in found:
            await run_in_threadpool(
                apply,
                ctx,
                outcome.movement_id,
                outcome.outcome,
                outcome.provider_reference,
                outcome.failure,
            )
    return {"received": True, "applied": [outcome.movement_id for outcome in found]}
