"""An email is dated when its event happened on the product's clock (the sandbox's in sandbox
mode, issue 13): the Date header comes from the event, not from the wall clock at sending."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from builders import open_dispute
from fairdeal.adapters.notifications.smtp import build_message
from fairdeal.services.notifications import (
    OutgoingEmail,
    RenderedEmail,
    _email_payload,
    _outgoing,
)
from fairdeal.services.ports import StoredEvent, User


def test_the_email_carries_the_events_sandbox_date_not_the_sending_day() -> None:
    sandbox_moment = datetime(2031, 6, 1, 9, 30, tzinfo=UTC)  # years from the real date
    dispute, _ = open_dispute()
    event = StoredEvent(1, "evt_1", "dispute.opened", sandbox_moment, {})
    user = User("usr_1", "buyer", "Alice", "alice@example.test", sandbox_moment)
    payload = _email_payload(
        RenderedEmail("Subject", "text", "<p>html</p>", "en"), user, event, dispute
    )
    assert parsedate_to_datetime(json.loads(payload)["headers"]["Date"]) == sandbox_moment

    class Row:  # the delivery row the relay reads back
        address = "alice@example.test"
        message_id = "<m1@fairdeal.invalid>"

    Row.payload = payload  # type: ignore[attr-defined]
    message = build_message(_outgoing(Row()), "Fairdeal <noreply@fairdeal.invalid>")  # type: ignore[arg-type]
    assert len(message.get_all("Date")) == 1
    assert parsedate_to_datetime(message["Date"]) == sandbox_moment
    assert parsedate_to_datetime(message["Date"]).year == 2031


def test_an_email_without_a_date_is_dated_now() -> None:
    email = OutgoingEmail("a@example.test", "", "S", "t", "<p>h</p>", "<m2@x>", {})
    message = build_message(email, "noreply@fairdeal.invalid")
    assert len(message.get_all("Date")) == 1
    assert abs((parsedate_to_datetime(message["Date"]) - datetime.now(UTC)).total_seconds()) < 60
