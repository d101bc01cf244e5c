"""What every page shares: the one way a route reaches the services (``ctx_of``, ``web_of``)
and the signed-in viewer (``need``), reading a posted form, rendering a page, and the redirect
after a form is done."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData, UploadFile

from fairdeal import i18n
from fairdeal.domain.errors import Forbidden
from fairdeal.domain.roles import Actor, Role
from fairdeal.entrypoints.api.ratelimit import client_ip
from fairdeal.entrypoints.web import csrf
from fairdeal.entrypoints.web.site import Web
from fairdeal.i18n import _
from fairdeal.services.context import Context
from fairdeal.services.ports import User

HOME = {
    Role.BUYER: "/orders",
    Role.SELLER: "/disputes",
    Role.MEDIATOR: "/mediator",
    Role.ADMIN: "/admin",
}
STAFF = (Role.MEDIATOR, Role.ADMIN)
PARTIES = (Role.BUYER, Role.SELLER)


@dataclass(frozen=True, slots=True)
class Viewer:
    user: User
    actor: Actor

    @property
    def role(self) -> Role:
        return self.actor.role


@dataclass(frozen=True, slots=True)
class FormError:
    """A refused form: which form, which field (None: the form as a whole), why, and what was
    typed, to fill the form in again."""

    form: str
    field: str | None
    detail: str
    values: dict[str, str] = dataclass_field(default_factory=dict)
    # Further fields' errors found at the same time, so a form reports them all at once.
    others: dict[str, str] = dataclass_field(default_factory=dict)

    def at(self, form: str, name: str | None = None) -> str | None:
        if form != self.form:
            return None
        if name is None:
            return self.detail if self.field is None else None
        return self.detail if self.field == name else self.others.get(name)

    def value(self, form: str, name: str, default: str = "") -> str:
        return self.values.get(name, default) if form == self.form else default


class LoginRequired(Exception):
    """No one is signed in: the pipeline sends the browser to the login page and back."""


# --- the services and the viewer ------------------------------------------------------------


def web_of(request: Request) -> Web:
    """The web pages' wiring (``site.Web``): the only thing a route reads off the app."""
    web: Web = request.app.state.web
    return web


def ctx_of(request: Request) -> Context:
    return web_of(request).app.ctx


def viewer_of(request: Request) -> Viewer | None:
    """Who is signed in (the pipeline loaded it), or None."""
    viewer: Viewer | None = request.state.viewer
    return viewer


def need(request: Request, *roles: Role) -> Viewer:
    """The signed-in viewer, refused unless one of ``roles`` (any role when none is given)."""
    viewer = viewer_of(request)
    if viewer is None:
        raise LoginRequired()
    if roles and viewer.role not in roles:
        raise Forbidden(_("This page is not for your account."))
    return viewer


def limit(request: Request, action: str, user: str | None) -> None:
    """Raise RateLimited when this user (or account) or this address is over the allowance
    for ``action`` (Settings.action_limits); the pipeline answers 429 with Retry-After."""
    web_of(request).limiter.check(action, user=user, ip=client_ip(request))


# --- reading a posted form --------------------------------------------------------------------


def form_of(request: Request) -> FormData:
    """The posted form (the pipeline read it to check CSRF)."""
    form: FormData = request.state.form
    return form


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value if isinstance(value, str) else default


def optional_int(raw: str, *, invalid: int) -> int | None:
    """A whole number typed in a field: None when left empty, and ``invalid`` (a value the
    domain refuses in its own words) when it is not a number."""
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return invalid


def uploads(form: FormData, name: str) -> list[UploadFile]:
    """The files chosen in a file input (browsers send an empty part when none was chosen)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def values(form: FormData) -> dict[str, str]:
    """What was typed, to fill a refused form in again (never the CSRF token)."""
    return {k: v for k, v in form.multi_items() if isinstance(v, str) and k != csrf.FIELD}


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative '//' trick."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


# --- answering ----------------------------------------------------------------------------------


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    web = web_of(request)
    viewer = viewer_of(request)
    context.setdefault("error", None)
    body = web.env.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=web.signer.csrf_token(request.state.session),
        sandbox=web.app.settings.sandbox,
        now=web.app.ctx.clock.now(),
        notice=_notices().get(request.query_params.get("ok", ""), ""),
        home=HOME.get(viewer.role, "/") if viewer else "/login",
        # No zone chosen yet: app.js sends the browser's in a cookie and reloads once.
        tz_auto=not (viewer and viewer.user.time_zone) and i18n.TZ_COOKIE not in request.cookies,
        **context,
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    titles = {
        403: _("Not allowed"),
        404: _("Not found"),
        422: _("Not accepted"),
        429: _("Too many attempts"),
    }
    if status == 404:
        detail = _("There is nothing here for your account. %(detail)s") % {"detail": detail}
    return render(
        request, "error.html", status, title=titles.get(status, _("Error")), detail=detail
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def done(url: str, notice: str) -> RedirectResponse:
    """The redirect after a form did its work: back to ``url`` (its #anchor kept), which then
    shows ``NOTICES[notice]``."""
    path, _hash, anchor = url.partition("#")
    joiner = "&" if "?" in path else "?"
    return redirect(f"{path}{joiner}ok={notice}" + (f"#{anchor}" if anchor else ""))


def _notices() -> dict[str, str]:
    return {
        "opened": _("Your dispute is open. The seller has been asked to answer."),
        "proposed": _("Your solution was sent."),
        "edited": _("Your change was saved."),
        "accepted": _("You accepted the solution."),
        "rejected": _(
            "You rejected the solution. You can still accept it while the dispute is open."
        ),
        "evidence": _("Evidence added."),
        "evidence_removed": _("Evidence removed."),
        "message": _("Message sent."),
        "escalated": _("The dispute went to a mediator."),
        "cancelled": _("The dispute was cancelled."),
        "reopened": _("The dispute was reopened."),
        "shipped": _("Return shipment recorded."),
        "confirmed": _("Return confirmed."),
        "assigned": _("You took the case."),
        "requested": _("Evidence requested."),
        "decision": _("Decision proposed to both parties."),
        "decision_accepted": _("You accepted the mediator's decision."),
        "decision_rejected": _("Your answer to the decision was recorded."),
        "finalized": _("The decision is final."),
        "note": _("Note saved."),
        "extended": _("Buyer protection extended."),
        "clock": _("The sandbox clock moved."),
        "payment_retried": _("The payment is requested again."),
    }


# The notice codes a redirect may carry (their texts are translated per request).
NOTICES = frozenset(_notices())
