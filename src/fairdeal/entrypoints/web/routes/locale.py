"""The reader's language and time zone (the switcher on every page) and the rule book for
people (``/policy``: the API's machine-readable one is ``/api/v1/policy``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from fairdeal import i18n
from fairdeal.entrypoints.web import views
from fairdeal.entrypoints.web.routes.common import (
    HOME,
    ctx_of,
    form_of,
    redirect,
    render,
    safe_next,
    text,
    viewer_of,
)
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.services import users

router = web_router()
YEAR = 365 * 24 * 3600


@router.post("/settings/locale")
def set_locale(request: Request) -> Response:
    """Keep the chosen language and zone: on the user when signed in, in cookies always (so
    the login page and a signed-out visitor read the same). An unknown value is ignored."""
    form = form_of(request)
    language = i18n.normalise(text(form, "language"))
    zone = text(form, "time_zone").strip()
    viewer = viewer_of(request)
    chosen_zone = zone if i18n.zone_of(zone) is not None else None
    if viewer is not None:
        users.set_locale(
            ctx_of(request),
            viewer.user.id,
            language=language or viewer.user.language,
            time_zone=chosen_zone or viewer.user.time_zone,
        )
    target = safe_next(text(form, "next")) or (HOME.get(viewer.role, "/") if viewer else "/login")
    response = redirect(target)
    if language:
        response.set_cookie(i18n.COOKIE, language, max_age=YEAR, samesite="lax", path="/")
    if chosen_zone:
        response.set_cookie(i18n.TZ_COOKIE, chosen_zone, max_age=YEAR, samesite="lax", path="/")
    return response


@router.get("/policy")
def policy_page(request: Request) -> Response:
    """The whole rule book that applies, in plain words, for buyers and sellers."""
    policy = ctx_of(request).policy
    return render(request, "policy.html", rules=views.policy_rules(policy), policy=policy)
