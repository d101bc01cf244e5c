"""The request pipeline every page goes through: load the session and the signed-in user,
check CSRF on every POST, and answer a refusal as an error page. The status of a refusal
comes from the table the API answers with (``entrypoints.refusals``): only the body differs,
an HTML page here, problem+json there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from fairdeal import i18n
from fairdeal.domain.errors import DomainError
from fairdeal.domain.roles import Actor, Role
from fairdeal.entrypoints.api.ratelimit import RateLimited
from fairdeal.entrypoints.api.schemas import nul_path
from fairdeal.entrypoints.refusals import Refusal, log_request_refusal, said_to_people
from fairdeal.entrypoints.web import csrf
from fairdeal.entrypoints.web.routes.common import (
    LoginRequired,
    Viewer,
    error_page,
    viewer_of,
    web_of,
)
from fairdeal.entrypoints.web.sessions import COOKIE, Session
from fairdeal.i18n import _
from fairdeal.services import access
from fairdeal.services.ports import User


class TextNotStorable(Exception):
    """A form field holds U+0000: refused before any handler runs, as the API refuses it in
    JSON (PostgreSQL cannot store the character; SQLite would, so both refuse it alike)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


# What a page may raise to be answered by the pipeline rather than by the route.
REFUSALS = (LoginRequired, csrf.CsrfRefused, DomainError, TextNotStorable, RateLimited)


class WebRoute(APIRoute):
    """Loads the session and the user, checks CSRF on every POST, and turns refusals into
    pages (the API's handlers would answer them as problem+json)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            fresh = await _open_session(request)
            i18n.set_current(prefs_of(request))
            form: FormData | None = None
            try:
                if request.method == "POST":
                    form = await _checked_form(request, fresh)
                response: Response = await original(request)
            except REFUSALS as refused:
                response = _answer(request, refused)
            finally:
                if form is not None:
                    await form.close()
            _keep_session(request, response, fresh)
            return response

        return handler


def web_router() -> APIRouter:
    """A router whose pages go through this pipeline."""
    return APIRouter(route_class=WebRoute, include_in_schema=False)


async def _open_session(request: Request) -> bool:
    """Put the session (a new anonymous one when there is none) and the viewer on the
    request; True when the visitor came without a live session."""
    web = web_of(request)
    now = datetime.now(UTC)
    session = web.signer.loads(request.cookies.get(COOKIE), now)
    request.state.viewer = None
    if session is not None and session.user_id is not None:
        user = await run_in_threadpool(_signed_in, request, session, now)
        if user is None:
            session = None
        else:
            request.state.viewer = Viewer(user, Actor(user.id, Role(user.role)))
    request.state.session = session or web.signer.new(None, now)
    request.state.new_session = None
    return session is None


def prefs_of(request: Request) -> i18n.Prefs:
    """The reader's language (their setting, else the switcher's cookie, else the browser's
    Accept-Language) and time zone (their setting, else the browser's, sent in a cookie by
    app.js, else UTC)."""
    viewer = viewer_of(request)
    user = viewer.user if viewer else None
    language = i18n.choose(
        user.language if user else None,
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )
    zone = next(
        (
            z
            for z in (
                user.time_zone if user else None,
                unquote(request.cookies.get(i18n.TZ_COOKIE, "")),  # app.js %-encodes the "/"
            )
            if i18n.zone_of(z) is not None
        ),
        "UTC",
    )
    return i18n.Prefs(language, zone or "UTC")


async def _checked_form(request: Request, fresh: bool) -> FormData:
    form = await request.form()
    request.state.form = form
    session = None if fresh else request.state.session
    csrf.verify(request, form, web_of(request).signer, session)
    if field_name := _field_with_nul(form):
        raise TextNotStorable(field_name)
    return form


def _field_with_nul(form: FormData) -> str | None:
    for name, value in form.multi_items():
        if nul_path(name) or (isinstance(value, str) and nul_path(value)):
            return name.replace("\x00", "\\0")
    return None


def _signed_in(request: Request, session: Session, now: datetime) -> User | None:
    """The user of a signed session cookie, if that session is still live: recorded at
    login, not ended by logout, not expired, and its user not disabled."""
    assert session.user_id is not None
    return access.signed_in_user(web_of(request).app.ctx, session.user_id, session.nonce, now)


def _keep_session(request: Request, response: Response, fresh: bool) -> None:
    """Send the session cookie: the one a login issued, or a first visit's anonymous one
    (so that its forms carry a CSRF token), but not over a logout."""
    issued: Session | None = request.state.new_session
    if issued is not None:
        set_session_cookie(request, response, issued)
    elif fresh and request.method == "GET" and not getattr(request.state, "logged_out", False):
        set_session_cookie(request, response, request.state.session)


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    web = web_of(request)
    response.set_cookie(
        COOKIE,
        web.signer.dumps(session),
        max_age=web.signer.max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


# --- refusals -------------------------------------------------------------------------------


def _answer(request: Request, refused: Exception) -> Response:
    if isinstance(refused, LoginRequired):
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/login?next={quote(request.url.path + query)}", status_code=303)
    if isinstance(refused, DomainError):
        viewer = viewer_of(request)
        log_request_refusal(
            request,
            refused.code,
            refused.detail,
            actor=viewer.actor if viewer else None,
            channel="web",
        )
    return refusal_page(request, _refusal(refused))


def _refusal(refused: Exception) -> Refusal:
    if isinstance(refused, DomainError):
        return Refusal(refused.code, said_to_people(refused.code, refused.detail), refused.field)
    if isinstance(refused, csrf.CsrfRefused):
        return Refusal(
            "forbidden",
            _(
                "This form has expired or did not come from this site. Reload the page and try again."
            ),
        )
    if isinstance(refused, TextNotStorable):
        return Refusal(
            "validation_error",
            _("The field %(field)s contains the NUL character (U+0000); remove it.")
            % {"field": refused.field},
        )
    assert isinstance(refused, RateLimited)
    return Refusal(
        "rate_limited", _too_many(refused), headers={"Retry-After": str(refused.retry_after)}
    )


def refusal_page(request: Request, refusal: Refusal) -> HTMLResponse:
    """A refusal as the web answers it: the error page, with the API's status for its code."""
    response = error_page(request, refusal.status, refusal.detail)
    response.headers.update(refusal.headers)
    return response


def _too_many(refused: RateLimited) -> str:
    return _("Too many attempts in a short time. Wait %(seconds)s seconds, then try again.") % {
        "seconds": refused.retry_after
    }
