"""The CSRF check every POST passes before its handler runs: the token from the form field
``csrf_token`` (or the ``X-CSRF-Token`` header htmx sends) must be the HMAC of the session's
nonce. A missing or wrong token is refused with 403 and nothing happens."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

from fairdeal.entrypoints.web.sessions import Session, SessionSigner

FIELD = "csrf_token"
HEADER = "x-csrf-token"


class CsrfRefused(Exception):
    pass


def verify(
    request: Request, form: FormData, signer: SessionSigner, session: Session | None
) -> None:
    value = form.get(FIELD)
    token = value if isinstance(value, str) else request.headers.get(HEADER)
    if not signer.check_csrf(session, token):
        raise CsrfRefused()
