"""The resolution centre's pages: login, the buyer's orders and dispute form, the dispute page
for every party, the seller's inbox, the mediator's queue and workbench, the admin dashboard.
Every page calls the same services as the API (never the API over HTTP); every form posts
here, passes the CSRF check, and on a refused action comes back with the rule's own words next
to the field."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from fairdeal.domain.dispute import Action, Actor, Dispute, Role
from fairdeal.domain.errors import DomainError, Forbidden, NotFound, VersionConflict
from fairdeal.domain.money import minimum_claim
from fairdeal.entrypoints.api.ratelimit import ActionLimiter, RateLimited, client_ip
from fairdeal.entrypoints.api.routes.files import content_disposition
from fairdeal.entrypoints.api.schemas import nul_path
from fairdeal.entrypoints.refusals import log_request_refusal
from fairdeal.entrypoints.web import csrf, views
from fairdeal.entrypoints.web.i18n import _
from fairdeal.entrypoints.web.sessions import COOKIE, Session
from fairdeal.entrypoints.web.site import Web
from fairdeal.services import access, disputes, files, orders, reports, users
from fairdeal.services.context import Context
from fairdeal.services.deadlines import advance_clock, run_until_idle
from fairdeal.services.disputes import DecisionInput
from fairdeal.services.ports import FileRecord, User

HOME = {
    Role.BUYER: "/orders",
    Role.SELLER: "/disputes",
    Role.MEDIATOR: "/mediator",
    Role.ADMIN: "/admin",
}
STAFF = (Role.MEDIATOR, Role.ADMIN)
PARTIES = (Role.BUYER, Role.SELLER)
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that a wrong email costs as long as a
    wrong password and the response time does not tell which accounts exist. Made on first
    use, not at import: hashing takes a good part of a second on a busy machine."""
    return _HASHER.hash("fairdeal: no such user")


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

    def at(self, form: str, name: str | None = None) -> str | None:
        if form != self.form:
            return None
        if name is None:
            return self.detail if self.field is None else None
        return self.detail if self.field == name else None

    def value(self, form: str, name: str, default: str = "") -> str:
        return self.values.get(name, default) if form == self.form else default


class LoginRequired(Exception):
    pass


# --- the request pipeline ---------------------------------------------------------------


class WebRoute(APIRoute):
    """Loads the session and the user, checks CSRF on every POST, and turns refusals into
    pages (the API's handlers would answer them as problem+json)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            web: Web = request.app.state.web
            now = datetime.now(UTC)
            session = web.signer.loads(request.cookies.get(COOKIE), now)
            request.state.viewer = None
            if session is not None and session.user_id is not None:
                user = await run_in_threadpool(_signed_in, request, session, now)
                if user is None:
                    session = None
                else:
                    request.state.viewer = Viewer(user, Actor(user.id, Role(user.role)))
            fresh = session is None
            request.state.session = session or web.signer.new(None, now)
            request.state.new_session = None
            form: FormData | None = None
            try:
                if request.method == "POST":
                    form = await request.form()
                    request.state.form = form
                    csrf.verify(request, form, web.signer, None if fresh else session)
                    if field_name := _field_with_nul(form):
                        raise TextNotStorable(field_name)
                response: Response = await original(request)
            except LoginRequired:
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
                response = RedirectResponse(f"/login?next={target}", status_code=303)
            except csrf.CsrfRefused:
                response = error_page(
                    request,
                    403,
                    _(
                        "This form has expired or did not come from this site. Reload the page and try again."
                    ),
                )
            except (NotFound, Forbidden) as error:
                status = 404 if isinstance(error, NotFound) else 403
                response = error_page(request, status, error.detail)
                viewer = request.state.viewer
                log_request_refusal(
                    request,
                    error.code,
                    error.detail,
                    actor=viewer.actor if viewer else None,
                    channel="web",
                )
            except TextNotStorable as refused:
                response = error_page(
                    request,
                    422,
                    _("The field %(field)s contains the NUL character (U+0000); remove it.")
                    % {"field": refused.field},
                )
            except RateLimited as refused:
                response = error_page(request, 429, _too_many(refused))
                response.headers["Retry-After"] = str(refused.retry_after)
            finally:
                if form is not None:
                    await form.close()
            issued: Session | None = request.state.new_session
            if issued is not None:
                set_session_cookie(request, response, issued)
            elif (
                fresh
                and request.method == "GET"
                and not getattr(request.state, "logged_out", False)
            ):
                set_session_cookie(request, response, request.state.session)
            return response

        return handler


class TextNotStorable(Exception):
    """A form field holds U+0000: refused before any handler runs, as the API refuses it in
    JSON (PostgreSQL cannot store the character; SQLite would, so both refuse it alike)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _field_with_nul(form: FormData) -> str | None:
    for name, value in form.multi_items():
        if nul_path(name) or (isinstance(value, str) and nul_path(value)):
            return name.replace("\x00", "\\0")
    return None


router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _signed_in(request: Request, session: Session, now: datetime) -> User | None:
    """The user of a signed session cookie, if that session is still live: recorded at
    login, not ended by logout, not expired, and its user not disabled."""
    web = web_of(request)
    assert session.user_id is not None
    if not access.session_is_live(request.app.state.security, session.user_id, session.nonce, now):
        return None
    user = users.get_user(web.app.ctx, session.user_id)
    return None if user is None or user.disabled else user


def limit(request: Request, action: str, user: str | None) -> None:
    """Raise RateLimited when this user (or account) or this address is over the allowance
    for ``action`` (Settings.action_limits); the pipeline answers 429 with Retry-After."""
    limiter: ActionLimiter = request.app.state.action_limiter
    limiter.check(action, user=user, ip=client_ip(request))


def _too_many(refused: RateLimited) -> str:
    return _("Too many attempts in a short time. Wait %(seconds)s seconds, then try again.") % {
        "seconds": refused.retry_after
    }


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    web: Web = request.app.state.web
    response.set_cookie(
        COOKIE,
        web.signer.dumps(session),
        max_age=web.signer.max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def ctx_of(request: Request) -> Context:
    return web_of(request).app.ctx


def need(request: Request, *roles: Role) -> Viewer:
    viewer: Viewer | None = request.state.viewer
    if viewer is None:
        raise LoginRequired()
    if roles and viewer.role not in roles:
        raise Forbidden(_("This page is not for your account."))
    return viewer


def form_of(request: Request) -> FormData:
    form: FormData = request.state.form
    return form


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value if isinstance(value, str) else default


def uploads(form: FormData, name: str) -> list[UploadFile]:
    """The files chosen in a file input (browsers send an empty part when none was chosen)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if isinstance(v, str) and k != csrf.FIELD}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    web = web_of(request)
    viewer: Viewer | None = request.state.viewer
    context.setdefault("error", None)
    body = web.env.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=web.signer.csrf_token(request.state.session),
        sandbox=web.app.settings.sandbox,
        now=web.app.ctx.clock.now(),
        notice=NOTICES.get(request.query_params.get("ok", ""), ""),
        home=HOME.get(viewer.role, "/") if viewer else "/login",
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
    }


NOTICES = _notices()


# --- login --------------------------------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative '//' trick."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


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
    viewer: Viewer | None = request.state.viewer
    return redirect(HOME.get(viewer.role, "/login") if viewer else "/login")


@router.get("/login")
def login_form(request: Request) -> Response:
    viewer: Viewer | None = request.state.viewer
    if viewer is not None:
        return redirect(HOME.get(viewer.role, "/"))
    return login_page(request)


@router.post("/login")
def login(request: Request) -> Response:
    form = form_of(request)
    email = text(form, "email").strip().lower()
    password = text(form, "password")
    ctx = ctx_of(request)
    store = request.app.state.security
    now = datetime.now(UTC)  # real time, as sessions: the sandbox clock does not unlock
    limit(request, "login", email)
    locked = access.sign_in_locked(store, email, now)
    if locked is not None:  # refused before the password is even looked at
        return _locked_out(request, email, locked, now)
    with ctx.uow(write=False) as uow:
        user = uow.users.by_email(email) if email else None
    if not _password_ok(user, password) or user is None:
        locked = access.sign_in_failed(store, request.app.state.lockout_policy, email, now)
        if locked is not None:
            return _locked_out(request, email, locked, now)
        return login_page(
            request,
            422,
            error=FormError(
                "login",
                None,
                _("That email and password do not match an account."),
                {"email": email},
            ),
        )
    if user.disabled or user.role not in {r.value for r in HOME}:
        return login_page(
            request,
            403,
            error=FormError(
                "login", None, _("This account cannot sign in to the web pages."), {"email": email}
            ),
        )
    access.sign_in_succeeded(store, email)
    session = web_of(request).signer.new(user.id, now)
    access.start_session(
        store, user.id, session.nonce, now, timedelta(seconds=web_of(request).signer.max_age)
    )
    request.state.new_session = session
    target = safe_next(text(form, "next")) or HOME[Role(user.role)]
    return redirect(target)


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


def _password_ok(user: User | None, password: str) -> bool:
    known = user is not None and bool(user.password_hash)
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        return _HASHER.verify(stored, password) and known
    except (VerificationError, InvalidHashError):
        return False


@router.post("/logout")
def logout(request: Request) -> Response:
    if request.state.viewer is not None:  # the session's record goes: the cookie is dead
        access.end_session(request.app.state.security, request.state.session.nonce)
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    request.state.logged_out = True
    return response


# --- evidence files -------------------------------------------------------------------------


@router.get("/files/{file_id}")
def file(request: Request, file_id: str) -> Response:
    """An evidence file, to whoever the API would give it (services.files.readable_file)."""
    viewer = need(request)
    record = files.readable_file(ctx_of(request), viewer.actor, file_id)
    try:
        body = web_of(request).storage.open(record.storage_key)
    except (FileNotFoundError, ValueError):
        return Response(
            MISSING_IMAGE,
            status_code=404,
            media_type="image/svg+xml",
            headers={"Cache-Control": "no-store"},
        )
    disposition = "inline" if record.content_type.startswith(("image/", "video/")) else "attachment"
    return StreamingResponse(
        body,
        media_type=record.content_type,
        headers={
            "Content-Disposition": content_disposition(disposition, record.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Length": str(record.size),
            "Cache-Control": "private, max-age=300",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


MISSING_IMAGE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 120" width="160" height="120">'
    '<rect width="160" height="120" fill="#eef1f4"/>'
    '<text x="80" y="64" font-family="sans-serif" font-size="12" text-anchor="middle" '
    'fill="#5b6672">file not stored</text></svg>'
)


def _upload(request: Request, viewer: Viewer, upload: UploadFile) -> FileRecord:
    web = web_of(request)
    limit(request, "uploads", viewer.actor.user_id)

    def chunks() -> Iterator[bytes]:
        while chunk := upload.file.read(256 * 1024):
            yield chunk

    return files.upload(
        web.app.ctx,
        web.storage,
        web.inspector,
        viewer.actor,
        filename=upload.filename,
        chunks=chunks(),
    )


# --- buyer: orders and the dispute form -------------------------------------------------------


@router.get("/orders")
def my_orders(request: Request) -> Response:
    viewer = need(request, *PARTIES)
    rows = reports.order_rows(ctx_of(request), viewer.actor)
    return render(request, "orders.html", rows=rows, error=None)


@router.post("/orders/{order_id}/extend")
def extend(request: Request, order_id: str) -> Response:
    viewer = need(request, Role.SELLER)
    form = form_of(request)
    back = safe_next(text(form, "back")) or "/orders"
    try:
        days = int(text(form, "days") or "0")
        orders.extend_protection(ctx_of(request), viewer.actor, order_id, days=days)
    except ValueError:
        return _extend_refused(
            request, viewer, order_id, back, _("Enter a whole number of days."), form
        )
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        return _extend_refused(request, viewer, order_id, back, error.detail, form)
    return redirect(_with_ok(back, "extended"))


def _extend_refused(
    request: Request, viewer: Viewer, order_id: str, back: str, detail: str, form: FormData
) -> Response:
    error = FormError(f"extend-{order_id}", "days", detail, values(form))
    if back.startswith("/disputes/"):
        return dispute_page(request, back.split("/")[2].split("?")[0], error=error, status=422)
    rows = reports.order_rows(ctx_of(request), viewer.actor)
    return render(request, "orders.html", 422, rows=rows, error=error)


def _with_ok(url: str, key: str) -> str:
    path, _hash, anchor = url.partition("#")
    joiner = "&" if "?" in path else "?"
    return f"{path}{joiner}ok={key}" + (f"#{anchor}" if anchor else "")


def _dispute_form(
    request: Request,
    viewer: Viewer,
    order_id: str,
    *,
    error: FormError | None = None,
    uploaded: list[FileRecord] | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = ctx_of(request)
    order = reports.order_for_dispute(ctx, viewer.actor, order_id)
    chosen_item = error.value("open", "item") if error else ""
    item_ids = [chosen_item] if chosen_item else None
    choices = reports.reason_choices(
        ctx.policy, order, item_ids if _valid_item(order, chosen_item) else None, ctx.clock.now()
    )
    item_options = [
        ("", _("The whole order, shipping included — up to %(max)s") % {"max": order.total})
    ]
    if len(order.items) > 1:
        item_options += [
            (i.id, _("%(title)s — up to %(max)s") % {"title": i.title, "max": i.amount})
            for i in order.items
        ]
    maximum = order.amount_paid_for(item_ids) if _valid_item(order, chosen_item) else order.total
    reason_options = [
        (c.reason.code, c.reason.title + (" — " + _("not possible now") if c.refused else ""))
        for c in choices
    ]
    eligible, why = reports.eligibility(ctx.policy, order, ctx.clock.now())
    selected = error.value("open", "reason") if error else ""
    if not selected:
        selected = next((c.reason.code for c in choices if c.refused is None), "")
    current = next((c for c in choices if c.reason.code == selected), None)
    return render(
        request,
        "open_dispute.html",
        status,
        order=order,
        item_options=item_options,
        reason_options=reason_options,
        maximum=maximum,
        minimum=minimum_claim(order.currency),
        current=current,
        eligible=eligible,
        why=why,
        error=error,
        uploaded=uploaded or [],
        seller=reports.names(ctx, {order.seller_id})[order.seller_id],
    )


def _valid_item(order: Any, item_id: str) -> bool:
    return not item_id or any(i.id == item_id for i in order.items)


@router.get("/orders/{order_id}/dispute")
def dispute_form(request: Request, order_id: str) -> Response:
    viewer = need(request, Role.BUYER)
    return _dispute_form(request, viewer, order_id)


@router.get("/orders/{order_id}/dispute/reason")
def reason_guidance(request: Request, order_id: str) -> Response:
    """The chosen reason's guidance, evidence hint, warning or refusal (an htmx partial)."""
    viewer = need(request, Role.BUYER)
    ctx = ctx_of(request)
    order = reports.order_for_dispute(ctx, viewer.actor, order_id)
    item = request.query_params.get("item", "")
    item_ids = [item] if item and _valid_item(order, item) else None
    code = request.query_params.get("reason", "")
    choices = reports.reason_choices(ctx.policy, order, item_ids, ctx.clock.now())
    current = next((c for c in choices if c.reason.code == code), None)
    return render(request, "partials/reason_guidance.html", current=current, order=order)


@router.post("/orders/{order_id}/dispute")
def open_dispute(request: Request, order_id: str) -> Response:
    viewer = need(request, Role.BUYER)
    limit(request, "disputes", viewer.actor.user_id)
    ctx = ctx_of(request)
    form = form_of(request)
    kept = [f for f in form.getlist("evidence_file_id") if isinstance(f, str) and f]
    uploaded: list[FileRecord] = []
    for file_id in kept:
        with contextlib.suppress(DomainError):
            uploaded.append(files.readable_file(ctx, viewer.actor, file_id))
    try:
        for upload in uploads(form, "evidence"):
            uploaded.append(_upload(request, viewer, upload))
        item = text(form, "item")
        dispute = disputes.open_dispute(
            ctx,
            viewer.actor,
            order_id=order_id,
            item_ids=[item] if item else None,
            reason=text(form, "reason"),
            desired_outcome=text(form, "desired_outcome"),
            amount=text(form, "amount").strip(),
            description=text(form, "description"),
            evidence_file_ids=[f.id for f in uploaded],
        )
    except DomainError as error:
        if isinstance(error, NotFound) and error.field is None:
            raise
        field_name = {"evidence_file_ids": "evidence", "item_ids": "item"}.get(
            error.field or "", error.field
        )
        if field_name is None and isinstance(error, files.FileTooLarge | files.UnsupportedFileType):
            field_name = "evidence"
        refused = FormError("open", field_name, error.detail, values(form))
        return _dispute_form(
            request, viewer, order_id, error=refused, uploaded=uploaded, status=422
        )
    return redirect(f"/disputes/{dispute.id}?ok=opened")


# --- lists --------------------------------------------------------------------------------


@router.get("/disputes")
def my_disputes(request: Request) -> Response:
    viewer = need(request)
    if viewer.role in STAFF:
        return redirect(HOME[viewer.role])
    rows = reports.dispute_rows(ctx_of(request), viewer.actor)
    return render(request, "disputes.html", rows=rows)


@router.get("/mediator")
def mediator_queue(request: Request) -> Response:
    viewer = need(request, *STAFF)
    rows = reports.mediation_queue(ctx_of(request), viewer.actor)
    return render(request, "mediator_queue.html", rows=rows)


# --- the dispute page -----------------------------------------------------------------------


def dispute_page(
    request: Request, dispute_id: str, *, error: FormError | None = None, status: int = 200
) -> HTMLResponse:
    viewer = need(request)
    return render(
        request, "dispute.html", status, **dispute_context(request, viewer, dispute_id, error)
    )


def dispute_context(
    request: Request, viewer: Viewer, dispute_id: str, error: FormError | None
) -> dict[str, Any]:
    ctx = ctx_of(request)
    view = disputes.get_dispute(ctx, viewer.actor, dispute_id)
    d = view.dispute
    order = orders.get_order(ctx, viewer.actor, d.order_id)
    people = {d.buyer_id, d.seller_id, *(m.author_id for m in d.messages)}
    if d.mediation and d.mediation.mediator_id:
        people.add(d.mediation.mediator_id)
    reason = d.policy.catalogue(d.category).get(d.reason) or d.policy.reasons.get(d.reason)
    deadline = d.deadline
    role = viewer.role
    return {
        "view": view,
        "d": d,
        "order": order,
        "actor": viewer.actor,
        "role": role,
        "staff": role in STAFF,
        "allowed": set(view.allowed_actions),
        "A": Action,
        "names": reports.names(ctx, people),
        "reason": reason,
        "deadline": deadline,
        "deadline_text": views.for_viewer(deadline.explanation, role) if deadline else "",
        "deadline_mine": bool(deadline and views.concerns(deadline.party, role)),
        "steps": views.progress(d),
        "solutions": views.visible_solutions(d),
        "schedule": views.refund_schedule(d, view.now),
        "show_warnings": role is Role.BUYER or role in STAFF,
        "error": error,
        "item_titles": _item_titles(d, order),
        "can_extend": role is Role.SELLER
        and order.protection_ends_at is not None
        and view.now < order.protection_ends_at
        and order.status.value != "completed",
    }


def _item_titles(d: Dispute, order: Any) -> str:
    if d.item_ids is None:
        return ", ".join(i.title for i in order.items)
    return ", ".join(i.title for i in order.items if i.id in d.item_ids)


@router.get("/disputes/{dispute_id}")
def dispute(request: Request, dispute_id: str) -> Response:
    return dispute_page(request, dispute_id)


def act(
    request: Request,
    dispute_id: str,
    form_name: str,
    ok: str,
    command: Callable[[Context, Viewer, FormData], object],
    *,
    roles: tuple[Role, ...] = (*PARTIES, *STAFF),
    anchor: str = "",
    partial: str | None = None,
) -> Response:
    """Run one command on a dispute from a form. Refused: the page again, with the rule's words
    next to the field. Done: back to the page (or, for htmx, the changed part only)."""
    viewer = need(request, *roles)
    form = form_of(request)
    try:
        command(ctx_of(request), viewer, form)
    except VersionConflict:
        detail = _(
            "Someone changed this dispute at the same moment. Reload the page and try again."
        )
        return dispute_page(
            request, dispute_id, error=FormError(form_name, None, detail), status=409
        )
    except DomainError as error:
        if isinstance(error, NotFound | Forbidden) and error.field is None:
            raise
        refused = FormError(form_name, error.field, error.detail, values(form))
        if partial and request.headers.get("hx-request"):
            context = dispute_context(request, viewer, dispute_id, refused)
            return render(request, partial, 422, **context)
        return dispute_page(request, dispute_id, error=refused, status=422)
    if partial and request.headers.get("hx-request"):
        return render(request, partial, **dispute_context(request, viewer, dispute_id, None))
    return redirect(f"/disputes/{dispute_id}?ok={ok}" + (f"#{anchor}" if anchor else ""))


def _index(form: FormData, name: str = "solution_index") -> int | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return -1  # the domain refuses it with its own words


@router.post("/disputes/{dispute_id}/edit")
def edit_dispute(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "edit-dispute",
        "edited",
        lambda ctx, v, f: disputes.edit_dispute(
            ctx,
            v.actor,
            dispute_id,
            reason=text(f, "reason") or None,
            description=text(f, "description"),
        ),
    )


@router.post("/disputes/{dispute_id}/solutions")
def propose_solution(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "propose",
        "proposed",
        lambda ctx, v, f: disputes.propose_solution(
            ctx,
            v.actor,
            dispute_id,
            kind=text(f, "kind"),
            amount=text(f, "amount").strip(),
            comment=text(f, "comment"),
        ),
        anchor="solutions",
    )


@router.post("/disputes/{dispute_id}/solutions/{solution_id}/edit")
def edit_solution(request: Request, dispute_id: str, solution_id: str) -> Response:
    return act(
        request,
        dispute_id,
        f"edit-{solution_id}",
        "edited",
        lambda ctx, v, f: disputes.edit_solution(
            ctx,
            v.actor,
            dispute_id,
            solution_id,
            kind=text(f, "kind") or None,
            amount=text(f, "amount").strip() or None,
            comment=text(f, "comment"),
        ),
        anchor="solutions",
    )


@router.post("/disputes/{dispute_id}/solutions/{solution_id}/accept")
def accept_solution(request: Request, dispute_id: str, solution_id: str) -> Response:
    return act(
        request,
        dispute_id,
        f"answer-{solution_id}",
        "accepted",
        lambda ctx, v, f: disputes.accept_solution(ctx, v.actor, dispute_id, solution_id),
    )


@router.post("/disputes/{dispute_id}/solutions/{solution_id}/reject")
def reject_solution(request: Request, dispute_id: str, solution_id: str) -> Response:
    return act(
        request,
        dispute_id,
        f"answer-{solution_id}",
        "rejected",
        lambda ctx, v, f: disputes.reject_solution(ctx, v.actor, dispute_id, solution_id),
        anchor="solutions",
    )


@router.post("/disputes/{dispute_id}/evidence")
def add_evidence(request: Request, dispute_id: str) -> Response:
    def command(ctx: Context, viewer: Viewer, form: FormData) -> None:
        chosen = uploads(form, "file")
        if not chosen:
            raise files.UnsupportedFileType(
                _("Choose a photo, video or PDF to upload."), field="file"
            )
        for upload in chosen:
            try:
                record = _upload(request, viewer, upload)
            except DomainError as error:
                error.field = error.field or "file"
                raise
            disputes.add_evidence(
                ctx,
                viewer.actor,
                dispute_id,
                file_id=record.id,
                description=text(form, "description"),
            )

    return act(
        request, dispute_id, "evidence", "evidence", command, roles=PARTIES, anchor="evidence"
    )


@router.post("/disputes/{dispute_id}/evidence/{evidence_id}/remove")
def remove_evidence(request: Request, dispute_id: str, evidence_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "evidence",
        "evidence_removed",
        lambda ctx, v, f: disputes.remove_evidence(ctx, v.actor, dispute_id, evidence_id),
        roles=PARTIES,
        anchor="evidence",
        partial="partials/evidence.html",
    )


@router.post("/disputes/{dispute_id}/messages")
def post_message(request: Request, dispute_id: str) -> Response:
    limit(request, "messages", need(request).actor.user_id)
    return act(
        request,
        dispute_id,
        "message",
        "message",
        lambda ctx, v, f: disputes.post_message(ctx, v.actor, dispute_id, body=text(f, "body")),
        anchor="messages",
        partial="partials/messages.html",
    )


@router.post("/disputes/{dispute_id}/escalate")
def escalate(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "escalate",
        "escalated",
        lambda ctx, v, f: disputes.escalate(ctx, v.actor, dispute_id),
        roles=PARTIES,
    )


@router.post("/disputes/{dispute_id}/cancel")
def cancel(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "cancel",
        "cancelled",
        lambda ctx, v, f: disputes.cancel(ctx, v.actor, dispute_id),
        roles=(Role.BUYER,),
    )


@router.post("/disputes/{dispute_id}/reopen")
def reopen(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "reopen",
        "reopened",
        lambda ctx, v, f: disputes.reopen(ctx, v.actor, dispute_id),
        roles=(Role.BUYER,),
    )


@router.post("/disputes/{dispute_id}/return/ship")
def ship_return(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "ship",
        "shipped",
        lambda ctx, v, f: disputes.ship_return(
            ctx,
            v.actor,
            dispute_id,
            carrier=text(f, "carrier"),
            tracking_number=text(f, "tracking_number"),
        ),
        roles=(Role.BUYER,),
        anchor="return",
    )


@router.post("/disputes/{dispute_id}/return/confirm")
def confirm_return(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "confirm",
        "confirmed",
        lambda ctx, v, f: disputes.confirm_return(
            ctx, v.actor, dispute_id, condition=text(f, "condition"), note=text(f, "note")
        ),
        roles=(Role.SELLER,),
        anchor="return",
    )


# --- mediation ------------------------------------------------------------------------------


@router.post("/disputes/{dispute_id}/assign")
def assign(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "assign",
        "assigned",
        lambda ctx, v, f: disputes.assign(ctx, v.actor, dispute_id, mediator_id=None),
        roles=STAFF,
    )


@router.post("/disputes/{dispute_id}/evidence-requests")
def request_evidence(request: Request, dispute_id: str) -> Response:
    def command(ctx: Context, viewer: Viewer, form: FormData) -> None:
        raw = text(form, "days").strip()
        try:
            days = int(raw) if raw else None
        except ValueError:
            days = 0  # refused by the domain: "days must be from 1 to 30"
        disputes.request_evidence(
            ctx,
            viewer.actor,
            dispute_id,
            party=text(form, "party"),
            request=text(form, "request"),
            days=days,
        )

    return act(
        request, dispute_id, "request", "requested", command, roles=STAFF, anchor="mediation"
    )


@router.post("/disputes/{dispute_id}/decision")
def propose_decision(request: Request, dispute_id: str) -> Response:
    def command(ctx: Context, viewer: Viewer, form: FormData) -> None:
        proposed = [
            DecisionInput(
                kind=text(form, f"solutions.{i}.kind"),
                amount=text(form, f"solutions.{i}.amount").strip(),
                comment=text(form, f"solutions.{i}.comment"),
            )
            for i in range(2)
            if i == 0 or text(form, f"solutions.{i}.amount").strip()
        ]
        disputes.propose_decision(
            ctx, viewer.actor, dispute_id, solutions=proposed, rationale=text(form, "rationale")
        )

    return act(
        request, dispute_id, "decision", "decision", command, roles=STAFF, anchor="mediation"
    )


@router.post("/disputes/{dispute_id}/decision/{decision_id}/accept")
def accept_decision(request: Request, dispute_id: str, decision_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "decision-answer",
        "decision_accepted",
        lambda ctx, v, f: disputes.accept_decision(
            ctx, v.actor, dispute_id, decision_id, solution_index=_index(f)
        ),
        roles=PARTIES,
    )


@router.post("/disputes/{dispute_id}/decision/{decision_id}/reject")
def reject_decision(request: Request, dispute_id: str, decision_id: str) -> Response:
    def command(ctx: Context, viewer: Viewer, form: FormData) -> None:
        new_files = []
        for upload in uploads(form, "file"):
            try:
                new_files.append(_upload(request, viewer, upload).id)
            except DomainError as error:
                error.field = error.field or "file"
                raise
        disputes.reject_decision(
            ctx,
            viewer.actor,
            dispute_id,
            decision_id,
            comment=text(form, "comment"),
            evidence_file_ids=new_files,
        )

    return act(
        request,
        dispute_id,
        "decision-answer",
        "decision_rejected",
        command,
        roles=PARTIES,
        anchor="mediation",
    )


@router.post("/disputes/{dispute_id}/decision/{decision_id}/finalize")
def finalize_decision(request: Request, dispute_id: str, decision_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "finalize",
        "finalized",
        lambda ctx, v, f: disputes.finalize_decision(
            ctx, v.actor, dispute_id, decision_id, solution_index=_index(f)
        ),
        roles=STAFF,
    )


@router.post("/disputes/{dispute_id}/notes")
def add_note(request: Request, dispute_id: str) -> Response:
    return act(
        request,
        dispute_id,
        "note",
        "note",
        lambda ctx, v, f: disputes.add_note(ctx, v.actor, dispute_id, body=text(f, "body")),
        roles=STAFF,
        anchor="notes",
    )


# --- admin ----------------------------------------------------------------------------------


def admin_page(
    request: Request, *, error: FormError | None = None, fired: int | None = None, status: int = 200
) -> HTMLResponse:
    viewer = need(request, Role.ADMIN)
    from fairdeal.entrypoints.web import charts

    board = reports.dashboard(ctx_of(request), viewer.actor)
    return render(
        request,
        "admin.html",
        status,
        board=board,
        charts=charts,
        error=error,
        fired=fired,
        clock=web_of(request).app.sandbox_clock is not None,
    )


@router.get("/admin")
def admin(request: Request) -> Response:
    fired = request.query_params.get("fired")
    return admin_page(request, fired=int(fired) if fired and fired.isdigit() else None)


@router.post("/admin/clock")
def move_clock(request: Request) -> Response:
    """The sandbox clock control: move time forward; every deadline due on the way fires."""
    need(request, Role.ADMIN)
    web = web_of(request)
    clock = web.app.sandbox_clock
    if clock is None:
        raise NotFound(_("The sandbox is off on this server."))
    form = form_of(request)
    try:
        days, hours = int(text(form, "days") or "0"), int(text(form, "hours") or "0")
    except ValueError:
        days = hours = -1
    if not (0 <= days <= 365 and 0 <= hours <= 23):
        detail = _("Enter days from 0 to 365 and hours from 0 to 23.")
        return admin_page(
            request, error=FormError("clock", "days", detail, values(form)), status=422
        )
    delta = timedelta(days=days, hours=hours)
    ctx = web.app.ctx
    fired = advance_clock(ctx, clock, to=clock.now() + delta) if delta else run_until_idle(ctx)
    return redirect(f"/admin?ok=clock&fired={len(fired)}")
