"""The web pages' wiring: templates with gettext, the session signer, static files. Mounted
on the API's FastAPI app by ``install`` so that ``fairdeal serve`` serves both."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jinja2
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from fairdeal import i18n
from fairdeal.bootstrap import App
from fairdeal.config import InsecureSettings
from fairdeal.entrypoints import refusals
from fairdeal.entrypoints.api.deps import ApiState
from fairdeal.entrypoints.api.ratelimit import ActionLimiter
from fairdeal.entrypoints.web import views
from fairdeal.entrypoints.web.sessions import SessionSigner

HERE = Path(__file__).parent
MIN_SECRET_LENGTH = 32


# The web pages cannot start with these settings (a missing or weak secret key): the same
# error as Settings.check_secrets raises, which create_app runs first.
WebConfigError = InsecureSettings


@dataclass
class Web:
    """Everything a page reaches, wired once by ``install``: routes get it through
    ``routes.common.web_of`` and read nothing else off the application. The services' ports
    (file storage, security store, lockout) are the context's: ``app.ctx``."""

    app: App
    env: jinja2.Environment
    signer: SessionSigner
    limiter: ActionLimiter  # the API's: one allowance per user across the API and the pages


def secret_key(app: App) -> bytes:
    """FAIRDEAL_SECRET_KEY; in sandbox mode a random key per process when it is unset (every
    restart then logs everyone out). Outside sandbox mode a missing or short key refuses to
    start: a guessable key would let anyone forge a session."""
    key = app.settings.secret_key
    if key is None:
        if app.settings.sandbox:
            return secrets.token_bytes(32)
        raise WebConfigError(
            "FAIRDEAL_SECRET_KEY is not set: the web pages sign sessions with it. Set it to a"
            f" random string of at least {MIN_SECRET_LENGTH} characters, e.g. the output of"
            " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    if len(key) < MIN_SECRET_LENGTH and not app.settings.sandbox:
        raise WebConfigError(f"FAIRDEAL_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
    return key.encode()


class _BestEffortBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's per-user cache of compiled templates, but a page never fails because the
    cache cannot be read or written (a temp dir cleaned or full): it is compiled instead."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """The templates' compiled code, kept in a folder of this user's under the temp dir
    (Jinja's default: created 0700, refused if another user owns it), checked against each
    template's source when loaded. Compiling the login page's templates took ~45 ms of every
    start (docs/performance.md, "Start-up"). None where there is no safe folder."""
    try:
        return _BestEffortBytecodeCache()
    except (RuntimeError, OSError):
        return None


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        # Templates are part of the installed package: compiled once per process, never
        # checked for changes (auto_reload stats every template a page includes, per page).
        auto_reload=False,
        # ... and compiled once per machine, not once per start (see _bytecode_cache).
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    # The callables read the request's language (i18n.current), so one environment serves all.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
    )
    env.globals["i18n"] = i18n
    env.globals["v"] = views
    env.filters["iso"] = views.iso
    env.filters["utc"] = views.utc_text
    env.filters["when"] = views.when_text
    env.filters["money"] = views.money
    env.filters["sentence"] = refusals.sentence
    env.filters["refusal"] = views.refusal
    return env


def install(api: FastAPI, state: ApiState) -> None:
    """Mount the web pages and their static files on the API application."""
    app = state.app
    from fairdeal.entrypoints.web.routes import router

    api.state.web = Web(
        app=app,
        env=environment(),
        signer=SessionSigner(secret_key(app), timedelta(hours=app.settings.session_hours)),
        limiter=state.action_limiter,
    )
    api.include_router(router)
    api.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
