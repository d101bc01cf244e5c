"""In-app notifications (the caller's list of events, unread first to act on), and the
sandbox's mail catcher page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from fairdeal.entrypoints.api import serializers
from fairdeal.entrypoints.api.deps import Api, CurrentActor, Limit, Notifications
from fairdeal.entrypoints.api.errors import ApiError
from fairdeal.entrypoints.api.routes.common import errors
from fairdeal.services import notifications

router = APIRouter()


class NotificationOut(BaseModel):
    id: str
    event_id: str
    type: str
    dispute_id: str | None
    title: str
    created_at: str
    read: bool
    read_at: str | None


class NotificationPage(BaseModel):
    data: list[NotificationOut]
    next_cursor: str | None


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[StrictStr, Field(max_length=64)]] | None = Field(
        default=None, max_length=500, description="the notifications to mark; all when left out"
    )


class ReadOut(BaseModel):
    marked: int


@router.get(
    "/api/v1/notifications",
    response_model=NotificationPage,
    tags=["notifications"],
    responses=errors(401, 422),
)
def list_notifications(
    actor: CurrentActor,
    notifier: Notifications,
    limit: Limit,
    unread: bool = False,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Your notifications, newest first: what happened in the disputes you are on (``unread``
    lists only those not marked read)."""
    rows = notifications.list_notifications(
        notifier, actor, unread_only=unread, after=cursor, limit=limit
    )
    data = [
        {
            "id": n.id,
            "event_id": n.event_id,
            "type": n.event_type,
            "dispute_id": n.dispute_id,
            "title": n.title,
            "created_at": serializers.ts(n.created_at),
            "read": n.read_at is not None,
            "read_at": serializers.ts(n.read_at),
        }
        for n in rows
    ]
    return {"data": data, "next_cursor": data[-1]["id"] if len(data) == limit else None}


@router.post(
    "/api/v1/notifications/read",
    response_model=ReadOut,
    tags=["notifications"],
    responses=errors(401, 422),
)
def mark_read(
    actor: CurrentActor, notifier: Notifications, body: ReadIn | None = None
) -> dict[str, int]:
    """Mark your notifications read: those named in ``ids``, or all of them."""
    ids = body.ids if body is not None else None
    return {"marked": notifications.mark_read(notifier, actor, ids)}


_MAILBOX = Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Mailbox (sandbox)</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1f2933}
header{background:#1f2933;color:#fff;padding:14px 24px}
main{max-width:960px;margin:0 auto;padding:16px}
details{background:#fff;border:1px solid #e1e4e8;border-radius:6px;margin:0 0 10px}
summary{padding:10px 14px;cursor:pointer} .meta{color:#6b7785;font-size:13px}
.mail{padding:0 14px 14px} pre{white-space:pre-wrap;background:#f8f9fa;padding:10px}
iframe{width:100%;height:520px;border:1px solid #e1e4e8;background:#fff}
</style></head><body>
<header><strong>Fairdeal sandbox mailbox</strong> &middot; {{ messages|length }} message(s)
caught {% if catcher %}by the local SMTP server on {{ catcher }}{% endif %}</header>
<main>
{% if not catcher %}<p>No mail catcher runs in this process: <code>fairdeal demo</code>
starts one. Emails go to FAIRDEAL_SMTP_HOST, or are only logged when it is unset.</p>{% endif %}
{% if catcher and not messages %}<p>No mail yet. Open a dispute, or advance the sandbox clock,
and the worker relays the emails here within a second or two.</p>{% endif %}
{% for m in messages %}
<details{% if loop.first %} open{% endif %}><summary><strong>{{ m.subject }}</strong>
<span class="meta">&middot; to {{ m.to }} &middot; {{ m.at }}</span></summary>
<div class="mail"><p class="meta">From {{ m.sender }} &middot; Message-ID {{ m.message_id }}
&middot; {{ m.event }}</p>
<iframe sandbox="" srcdoc="{{ m.html }}" title="HTML version"></iframe>
<details><summary>Plain-text version</summary><pre>{{ m.text }}</pre></details></div>
</details>
{% endfor %}
</main></body></html>"""
)


@router.get("/dev/mailbox", include_in_schema=False)
def mailbox(api: Api) -> HTMLResponse:
    """The mail the demo's local SMTP server caught, newest first (sandbox mode only)."""
    app = api.app
    if app.sandbox_clock is None:
        raise ApiError("not_found", "the sandbox is off on this server")
    catcher = app.mailbox
    caught = list(reversed(catcher.mailbox.messages())) if catcher is not None else []
    messages = [
        {
            "subject": m.subject,
            "to": ", ".join(m.rcpt_tos),
            "sender": m.mail_from,
            "at": serializers.ts(m.received_at.replace(microsecond=0)),
            "message_id": m.message_id,
            "event": m.header("X-Fairdeal-Event"),
            "html": m.body("html"),
            "text": m.body("plain"),
        }
        for m in caught
    ]
    where = f"{catcher.host}:{catcher.port}" if catcher is not None else None
    return HTMLResponse(_MAILBOX.render(messages=messages, catcher=where))
