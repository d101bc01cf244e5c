"""Signing in and out: the login form (with the demo's accounts in sandbox mode), the
password check with its lockout, and the server-side session record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from fairdeal.domain.roles import Role
from fairdeal.entrypoints.web.routes.common import (
    HOME,
    FormError,
    ctx_of,
    form_of,
    limit,
    redirect,
    render,
    safe_next,
    text,
    viewer_of,
    web_of,
)
from fairdeal.entrypoints.web.routes.pipeline import web_router
from fairdeal.entrypoints.web.sessions import COOKIE
from fairdeal.i18n import _
from fairdeal.services import access, users
from fairdeal.services.ports import User
from fairdeal.services.security import check_password

router = web_router()


def demo_accounts(request: Request) -> list[User]:
    """The demo's accounts, listed on the login page in sandbox mode only."""
    web = web_of(request)
    if not web.app.settings.sandbox:
        return []
    from fairdeal.demo import DEMO_PEOPLE

    found = []
    with web.app.ctx.uow(write=False) as uow:
        for _handle, role, _name, email in DEMO_PEOPLE:
            user = uow.users.by_email(email)
            if user is not None and role != "platform" and user.password_hash:
                found.append(user)
    return found


def login_page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    from fairdeal.demo import DEMO_PASSWORD

    return render(
        request,
        "login.html",
        status,
        demo=demo_accounts(request),
        demo_password=DEMO_PASSWORD,
        next=safe_next(request.query_params.get("next")) or "",
        **context,
    )


@router.get("/", name="web_home")
def home(request: Request) -> Response:
    viewer = viewer_of(request)
    return redirect(HOME.get(viewer.role, "/login") if viewer else "/login")


@router.get("/login")
def login_form(request: Request) -> Response:
    viewer = viewer_of(request)
    if viewer is not None:
        return redirect(HOME.get(viewer.role, "/"))
    return login_page(request)


@router.post("/login")
def login(request: Request) -> Response:
    form = form_of(request)
    email = text(form, "email").strip().lower()
    web = web_of(request)
    now = datetime.now(UTC)  # real time, as sessions: the sandbox clock does not unlock
    limit(request, "login", email)
    ctx = ctx_of(request)
    locked = access.sign_in_locked(ctx, email, now)
    if locked is not None:  # refused before the password is even looked at
        return _locked_out(request, email, locked, now)
    with ctx.uow(write=False) as uow:
        user = uow.users.by_email(email) if email else None
    # An unknown email is checked against a hash too (check_password): it costs what a wrong
    # password costs, so the answer's timing does not tell which accounts exist.
    checked = check_password(user.password_hash if user else None, text(form, "password"))
    if not checked.ok or user is None:
        locked = access.sign_in_failed(ctx, email, now)
        if locked is not None:
            return _locked_out(request, email, locked, now)
        detail = _("That email and password do not match an account.")
        return login_page(request, 422, error=FormError("login", None, detail, {"email": email}))
    if user.disabled or user.role not in {r.value for r in HOME}:
        detail = _("This account cannot sign in to the web pages.")
        return login_page(request, 403, error=FormError("login", None, detail, {"email": email}))
    access.sign_in_succeeded(ctx, email)
    if checked.rehashed is not None:  # made with older parameters: stored anew, once
        users.set_password_hash(ctx, user.id, checked.rehashed)
    session = web.signer.new(user.id, now)
    access.start_session(ctx, user.id, session.nonce, now, timedelta(seconds=web.signer.max_age))
    request.state.new_session = session
    return redirect(safe_next(text(form, "next")) or HOME[Role(user.role)])


def _locked_out(request: Request, email: str, locked: access.Locked, now: datetime) -> Response:
    wait = locked.retry_after(now)
    minutes = max(1, (wait + 59) // 60)
    detail = _(
        "Too many wrong passwords for this account: sign-in is locked for %(minutes)s more"
        " minute(s), until %(until)s. Even the right password is refused until then; each"
        " further wrong password after that locks it for longer."
    ) % {"minutes": minutes, "until": locked.until.strftime("%H:%M UTC")}
    response = login_page(request, 429, error=FormError("login", None, detail, {"email": email}))
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if viewer_of(request) is not None:  # the session's record goes: the cookie is dead
        access.end_session(ctx_of(request), request.state.session.nonce)
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    request.state.logged_out = True
    return response
