"""Refusals, whichever channel answers them: the one table from a refusal's stable code (API.md)
to its HTTP status and title, used by the API's problem+json handlers and the web pages' error
pages alike; what a page says for a refusal in the reader's language (``said_to_people``: the
API keeps the engine's English); and the security log of refused authorizations.

The security log: one structured record on ``fairdeal.security``
for every request refused as unauthenticated (401), outside the caller's role (403) or for
something the caller may not see (404 from a scoped load: a stranger's dispute, order or file
is "not found", exactly like one that does not exist -- so both are logged).

Emitted from the HTTP layer's error handlers (``entrypoints/api/errors.py``) and the web pages'
route wrapper, not from the services: that is where every refusal ends up whatever raised it
(a domain guard, a service's scoped load, the auth dependency, the role check), where the
unauthenticated caller exists at all, and where the request (method, path, id, client) that
names the target is known. A new service or guard is covered without a call to remember."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from fairdeal import i18n, wording
from fairdeal.domain.errors import DomainError
from fairdeal.domain.money import Money
from fairdeal.domain.policy import Policy
from fairdeal.domain.roles import Actor
from fairdeal.i18n import _, ngettext
from fairdeal.policies import load_preset

log = logging.getLogger("fairdeal.security")

STATUS = {
    "validation_error": 422,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "invalid_transition": 409,
    "not_eligible": 422,
    "dispute_exists": 409,
    "amount_out_of_range": 422,
    "evidence_required": 422,
    "reason_not_allowed": 422,
    "idempotency_key_reused": 422,
    "idempotency_key_in_use": 409,
    "version_conflict": 412,
    "file_too_large": 413,
    "unsupported_file_type": 415,
    "rate_limited": 429,
    "internal_error": 500,
    "service_unavailable": 503,
    "invalid_signature": 400,
}

TITLES = {
    "validation_error": "The request is not valid",
    "unauthenticated": "Authentication required",
    "forbidden": "Not allowed for your role",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "invalid_transition": "Not allowed in the current status",
    "not_eligible": "Not eligible",
    "dispute_exists": "A dispute already exists",
    "amount_out_of_range": "Amount out of range",
    "evidence_required": "Evidence required",
    "reason_not_allowed": "Reason not allowed",
    "idempotency_key_reused": "Idempotency key reused with another request",
    "idempotency_key_in_use": "Idempotency key in use",
    "version_conflict": "The resource changed",
    "file_too_large": "File too large",
    "unsupported_file_type": "Unsupported file type",
    "rate_limited": "Too many requests",
    "internal_error": "Internal error",
    "service_unavailable": "Service unavailable",
    "invalid_signature": "The signature does not verify",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request as every channel answers it: the stable code (which fixes the
    status), the words, the field they concern, and any headers (Retry-After)."""

    code: str
    detail: str
    field: str | None = None
    headers: Mapping[str, str] = dataclass_field(default_factory=dict)

    @classmethod
    def of(cls, error: DomainError) -> Refusal:
        return cls(error.code, error.detail, error.field)

    @property
    def status(self) -> int:
        return STATUS[self.code]

    @property
    def title(self) -> str:
        return TITLES[self.code]


# --- what a person reads ------------------------------------------------------------------------
# The API answers a refusal with the engine's English ``detail`` (API.md); a page says it in
# the reader's language instead. The code is what is translated: the engine's sentences carry
# values (amounts, dates, ids) and change with it, so a page shows the sentence of the code,
# more precise where the detail is one of the engine's fixed sentences the pages reach
# (ENGINE_SENTENCES; a test checks each is still raised word for word) or an amount range.


def N_(text: str) -> str:
    """Marks an English sentence for the catalogue; it is translated where it is shown."""
    return text


def _code_words() -> dict[str, str]:
    return {
        "validation_error": _("This is not accepted. Check what you entered and try again."),
        "unauthenticated": _("Sign in to do this."),
        "forbidden": _("Your account may not do this."),
        "not_found": _("This does not exist, or it is not yours to see."),
        "method_not_allowed": _("This cannot be done here."),
        "invalid_transition": _(
            "This cannot be done at this stage of the dispute. Reload the page to see what you"
            " can do now."
        ),
        "not_eligible": _("This order cannot be disputed now."),
        "dispute_exists": _("This item already has an open dispute: continue that one."),
        "amount_out_of_range": _("The amount is more or less than the rules allow."),
        "evidence_required": _("This reason needs at least one photo or video of the item."),
        "reason_not_allowed": _("This reason cannot be chosen for this order."),
        "idempotency_key_reused": _("This request was already sent with other content."),
        "idempotency_key_in_use": _("This request is still being handled. Wait a moment."),
        "version_conflict": _(
            "Someone changed this dispute while you were reading it. Reload the page and try again."
        ),
        "file_too_large": _("The file is too large."),
        "unsupported_file_type": _(
            "This kind of file is not accepted: use a photo, a video or a PDF."
        ),
        "rate_limited": _("Too many attempts in a short time. Wait a little, then try again."),
        "internal_error": _("Something went wrong on our side. Try again later."),
        "service_unavailable": _("The service is busy. Try again in a moment."),
        "invalid_signature": _("The signature does not verify."),
    }


# The engine's fixed refusal sentences that people meet on the pages (raised word for word in
# domain/; tests/unit/test_refusal_words.py checks each still is).
ENGINE_SENTENCES = (
    N_("under this policy the parties' solutions are frozen once a mediator is involved"),
    N_("you already have a solution and an alternative; edit one of them instead"),
    N_("there is no solution from the other party to accept"),
    N_("there is no pending solution from the other party"),
    N_("you have no open solution to edit"),
    N_("you have no evidence to remove"),
    N_("the dispute can be escalated once the seller has answered"),
    N_("a mediator's final decision cannot be cancelled"),
    N_("the dispute is not in mediation"),
    N_("this dispute is assigned to another mediator"),
    N_("there is no open decision"),
    N_("there is no decision waiting for your answer"),
    N_("you have already answered this decision"),
    N_(
        "the order has not shipped yet; if the seller does not ship, ask the marketplace"
        " to cancel the order instead of opening a dispute"
    ),
    N_("buyer protection for this order has ended"),
    N_("you confirmed receipt of this order"),
    N_("tracking does not show the parcel in transit; choose 'not received' instead"),
    N_("protection starts when the order ships"),
    N_("protection has ended; it can no longer be extended"),
)
_AMOUNT_RANGE = re.compile(r"must be from (\d+(?:\.\d+)?) ([A-Z]{3}) to (\d+(?:\.\d+)?) ([A-Z]{3})")


# The engine's eligibility sentences with values in them (domain/order.py: check_eligible),
# which the orders page and the dispute form show before anything is posted. The values stay
# as the engine wrote them (an item id, a UTC time): ``views.refusal`` turns those into the
# item's title and a local time.
_CLOSED_BEFORE = re.compile(
    r"^item (?P<item>\S+) had a dispute that closed \([^)]*\); a closed dispute cannot be"
    r" opened again$"
)
_OPEN_ALREADY = re.compile(r"^item (?P<item>\S+) already has an open dispute \([^)]*\)$")
_WAIT_UNTIL = re.compile(
    r"^'(?P<reason>.+)' can be opened from (?P<when>\S+), (?P<days>\d+) days after the order"
    r" shipped$"
)


def engine_sentence(detail: str) -> str | None:
    """One of the engine's sentences the pages know, in the reader's language (None when it
    is not one of them)."""
    if detail in ENGINE_SENTENCES:
        return sentence(_(detail))
    if found := _CLOSED_BEFORE.match(detail):
        return _(
            "“%(item)s” had a dispute that closed; a closed dispute cannot be opened again."
        ) % {"item": found["item"]}
    if found := _OPEN_ALREADY.match(detail):
        return _("“%(item)s” already has an open dispute.") % {"item": found["item"]}
    if found := _WAIT_UNTIL.match(detail):
        days = int(found["days"])
        return ngettext(
            "“%(reason)s” can be chosen from %(when)s, %(n)d day after the order shipped.",
            "“%(reason)s” can be chosen from %(when)s, %(n)d days after the order shipped.",
            days,
        ) % {"reason": _reason_title(found["reason"]), "when": found["when"], "n": days}
    return None


def _reason_title(english: str) -> str:
    """A reason's English title, as an eligibility refusal quotes it, in the reader's language:
    found among the presets' reasons (a custom policy's title stays as written)."""
    for preset in _presets():
        for code, reason in preset.reasons.items():
            if reason.title == english:
                return wording.reason_text(code, "title", english)
    return english


@cache
def _presets() -> tuple[Policy, ...]:
    return tuple(load_preset(name) for name in ("standard", "classic"))


def said_to_people(code: str, detail: str) -> str:
    """A refusal as a page says it, in the reader's language: the engine's own sentence in
    English; else its translation where it is one the pages know, the allowed range of an
    amount, or the sentence of its code."""
    if i18n.current().language == i18n.DEFAULT:
        return detail
    known = engine_sentence(detail)
    if known is not None:
        return known
    amounts = _AMOUNT_RANGE.search(detail)
    if code == "amount_out_of_range" and amounts:
        low, low_currency, high, high_currency = amounts.groups()
        return _("The amount must be from %(low)s to %(high)s.") % {
            "low": wording.money(Money.of(low, low_currency)),
            "high": wording.money(Money.of(high, high_currency)),
        }
    return _code_words().get(code, _("This was not accepted."))


def sentence(text: str) -> str:
    """A refusal as a sentence: capital first letter, full stop at the end (a Chinese sentence
    ends in its own full stop, 。, and gets no "." after it). Pages use it as a filter too."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "。", "！", "？")) else text + "."


# The refusals that are authorization decisions (others, like 409 or 422, are not).
REFUSED = frozenset({"unauthenticated", "forbidden", "not_found"})


def _clean(value: str, limit: int = 300) -> str:
    """No control characters (a CR/LF in a path would forge log lines), bounded length."""
    cleaned = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value[:limit])
    return cleaned + ("..." if len(value) > limit else "")


def log_refusal(
    *,
    code: str,
    actor: Actor | None,
    method: str,
    path: str,
    path_params: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    client: str | None = None,
    detail: str = "",
    channel: str = "api",
) -> None:
    """Record one refused authorization: who (actor id and role, or anonymous), what (the
    method and path, and the ids the route named), when (UTC), and the refusal's code."""
    if code not in REFUSED:
        return
    target_ids = {str(k): _clean(str(v)) for k, v in (path_params or {}).items()}
    target = f"{method} {_clean(path)}"
    actor_id = actor.user_id if actor is not None else None
    actor_role = actor.role.value if actor is not None else None
    log.warning(
        "authorization refused: %s %s to %s: %s",
        code,
        target,
        f"{actor_id} ({actor_role})" if actor is not None else "an anonymous caller",
        _clean(detail),
        extra={
            "event": "authorization.refused",
            "code": code,
            "actor_id": actor_id,
            "actor_role": actor_role,
            "target": target,
            "target_ids": target_ids,
            "at": datetime.now(UTC).isoformat(),
            "request_id": request_id,
            "client": client,
            "channel": channel,
        },
    )


def log_request_refusal(
    request: Any, code: str, detail: str, *, actor: Actor | None, channel: str
) -> None:
    """``log_refusal`` for a Starlette request: the API's error handlers and the web pages'
    route wrapper call this."""
    log_refusal(
        code=code,
        actor=actor,
        method=request.method,
        path=request.url.path,
        path_params=request.path_params,
        request_id=getattr(request.state, "request_id", None),
        client=request.client.host if request.client else None,
        detail=detail,
        channel=channel,
    )
