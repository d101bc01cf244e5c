"""Hostile text: length limits on every free-text field (docs/api.md lists them), markup
escaped on every web page that shows it, and request logs that a newline or an ANSI escape in
a path or header cannot split into forged lines."""

from __future__ import annotations

import json
import logging
import re
import warnings
from typing import Any
from urllib.parse import unquote

import pytest

from e2e.support import Caller, World, ok
from fairdeal.entrypoints.api.app import create_app
from fairdeal.logs import RedactingJsonFormatter
from webpages import csrf_token

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# Every way the payload could appear unescaped or half-escaped in HTML.
# (An escaped "&lt;img src=x onerror=..." is text; only a raw "<" starts a tag.)
RAW = re.compile(r"<script>alert\(|<img src=x|<svg onload", re.IGNORECASE)


# --- length limits ------------------------------------------------------------------------


def _long(n: int) -> str:
    return "x" * n


@pytest.mark.parametrize(
    ("path_of", "body_of", "field", "limit"),
    [
        pytest.param(
            lambda d: f"/disputes/{d['id']}/messages",
            lambda t: {"body": t},
            "body",
            5000,
            id="message",
        ),
        pytest.param(
            lambda d: f"/disputes/{d['id']}",
            lambda t: {"description": t},
            "description",
            5000,
            id="description",
        ),
        pytest.param(
            lambda d: f"/disputes/{d['id']}/solutions",
            lambda t: {"kind": "return_and_refund", "amount": "5.00", "comment": t},
            "comment",
            2000,
            id="solution-comment",
        ),
    ],
)
def test_text_over_its_limit_is_refused_and_at_the_limit_accepted(
    world: World, path_of: Any, body_of: Any, field: str, limit: int
) -> None:
    dispute = world.open_dispute()
    path = path_of(dispute)
    method = world.buyer.patch if field == "description" else world.buyer.post
    refused = method(path, body_of(_long(limit + 1)))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "validation_error"
    assert field in f"{refused.json().get('field')} {refused.json()['detail']}"
    assert world.dispute(dispute["id"])["version"] == dispute["version"]
    accepted = method(path, body_of(_long(limit)))
    assert accepted.status_code in (200, 201), accepted.text


def test_opening_with_a_description_over_5000_characters_is_refused(world: World) -> None:
    order = world.shipped_order()
    body = world.dispute_body(order, description=_long(5001))
    response = world.buyer.post("/disputes", body)
    assert response.status_code == 422 and "description" in response.json()["field"]
    assert world.get_order(order["id"])["dispute_ids"] == []


def test_a_user_name_over_200_characters_is_refused(world: World) -> None:
    long_name = world.platform.post(
        "/users", {"role": "buyer", "name": _long(201), "email": "long@e2e.test"}
    )
    assert long_name.status_code == 422 and long_name.json()["field"] == "name"


# --- HTML escaped on every page -------------------------------------------------------------


def web_user(world: World, role: str, name: str) -> tuple[Caller, str]:
    n = len(name) + id(name) % 100000
    email = f"{role}{n}@xss.test"
    created = ok(
        world.platform.post(
            "/users", {"role": role, "name": name, "email": email, "password": PASSWORD}
        ),
        201,
    )
    return Caller(world.http, created["api_token"], created["id"], role), email


def page_as(world: World, email: str, paths: list[str]) -> dict[str, str]:
    with TestClient(create_app(world.app)) as http:
        login = http.get("/login")
        signed_in = http.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(login.text)},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        pages = {}
        for path in paths:
            response = http.get(path)
            assert response.status_code == 200, (path, response.status_code)
            pages[path] = response.text
        return pages


def test_markup_from_users_is_escaped_on_every_page(world: World) -> None:
    buyer, buyer_email = web_user(world, "buyer", f"Mallory {SCRIPT}")
    seller, seller_email = web_user(world, "seller", '<img src=x onerror=alert("seller")>')
    mediator, mediator_email = web_user(world, "mediator", "Maya <svg onload=alert(1)>")
    body = world.order_body(buyer=buyer, seller=seller)
    body["items"][0]["title"] = '<img src=x onerror=alert("title")>'
    body["items"][0]["sku"] = SCRIPT
    order = world.ship(ok(world.platform.post("/orders", body), 201), by=seller)
    photo = ok(
        buyer.post(
            "/files",
            files={"file": ("<svg onload=alert(1)>.png", _png(), "image/png")},
        ),
        201,
    )
    dispute = world.open_dispute(
        order, buyer=buyer, description=f"Broken. {SCRIPT}", evidence_file_ids=[photo["id"]]
    )
    did = dispute["id"]
    ok(buyer.post(f"/disputes/{did}/messages", {"body": f"Hello {SCRIPT}"}), 201)
    ok(
        seller.post(
            f"/disputes/{did}/solutions",
            {"kind": "refund_only", "amount": "1.00", "comment": f"Take it {SCRIPT}"},
        ),
        201,
    )
    ok(seller.post(f"/disputes/{did}/messages", {"body": '"><img src=x onerror=alert(2)>'}), 201)
    second = ok(seller.post("/files", files={"file": ("x.png", _png(), "image/png")}), 201)
    ok(
        seller.post(f"/disputes/{did}/evidence", {"file_id": second["id"], "description": SCRIPT}),
        201,
    )
    offer = world.dispute(did)["solutions"][-1]
    ok(buyer.post(f"/disputes/{did}/solutions/{offer['id']}/reject"))
    world.advance(days=8)  # negotiation window over: escalated
    ok(mediator.post(f"/disputes/{did}/assign", {}))
    ok(mediator.post(f"/disputes/{did}/notes", {"body": f"Note {SCRIPT}"}), 201)
    ok(
        mediator.post(
            f"/disputes/{did}/evidence-requests",
            {"party": "seller", "request": f"Label please {SCRIPT}"},
        ),
        201,
    )
    ok(
        mediator.post(
            f"/disputes/{did}/decisions",
            {
                "solutions": [{"kind": "refund_only", "amount": "2.00", "comment": SCRIPT}],
                "rationale": f"Because {SCRIPT}",
            },
        ),
        201,
    )

    pages = {
        **page_as(world, buyer_email, [f"/disputes/{did}", "/disputes", "/orders"]),
        **{
            f"seller {k}": v
            for k, v in page_as(world, seller_email, [f"/disputes/{did}", "/disputes"]).items()
        },
        **{
            f"mediator {k}": v
            for k, v in page_as(world, mediator_email, [f"/disputes/{did}", "/mediator"]).items()
        },
    }
    for where, html in pages.items():
        found = RAW.search(html)
        assert found is None, (
            f"unescaped markup on {where}: ...{html[max(0, found.start() - 80) : found.end() + 80]}..."
        )
    case_file = pages[f"mediator /disputes/{did}"]
    for shown in (
        "Broken. " + ESCAPED,
        "Hello " + ESCAPED,
        "Because " + ESCAPED,
        "Note " + ESCAPED,
    ):
        assert shown in case_file, f"{shown!r} is not on the mediator's page"
    assert "Mallory " + ESCAPED in pages[f"seller /disputes/{did}"]


def _png() -> bytes:
    from e2e.support import png_bytes

    return png_bytes()


# --- no forged log lines --------------------------------------------------------------------


FORGED = '{"request_id": "forged", "status": 200, "path": "/admin"}'


def _one_json_line_each(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    """Each record as the processes write it (fairdeal.logs: one JSON object a line)."""
    formatter = RedactingJsonFormatter()
    lines = []
    for record in records:
        message = formatter.format(record)
        assert "\n" not in message and "\r" not in message, f"a log line split: {message!r}"
        assert "\x1b" not in message, f"an ANSI escape reached the log: {message!r}"
        lines.append(json.loads(message))
    return lines


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/disputes/x%0A" + FORGED.replace(" ", "%20").replace('"', "%22"),
        "/api/v1/disputes/x%0D%0Aforged",
        "/api/v1/disputes/%1B%5B2J%1B%5B31mRED",
        "/disputes/x%0Aforged-web-line",
    ],
    ids=["lf-json", "crlf", "ansi", "web-page"],
)
def test_a_newline_or_escape_in_a_path_does_not_forge_a_log_line(
    world: World, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    mediator = world.mediator  # made (and its request logged) before the capture starts
    caplog.set_level(logging.INFO, logger="fairdeal.http")
    caplog.clear()
    if path.startswith("/api/"):
        mediator.get(path)
    else:
        world.http.get(path, follow_redirects=False)
    lines = _one_json_line_each([r for r in caplog.records if r.name == "fairdeal.http"])
    assert all(line["request_id"] != "forged" for line in lines)
    (hostile,) = [line for line in lines if line["path"] == unquote(path)]
    assert {"\n", "\r", "\x1b"} & set(hostile["path"])  # kept, but escaped inside its string


def test_a_hostile_request_id_header_is_not_echoed_into_the_log(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fairdeal.http")
    caplog.clear()
    response = world.platform.get("/orders", headers={"X-Request-Id": "abc\x1b[31m forged"})
    (line,) = _one_json_line_each([r for r in caplog.records if r.name == "fairdeal.http"])
    assert (
        "forged" not in line["request_id"]
        and line["request_id"] == response.headers["x-request-id"]
    )


def test_a_body_with_newlines_is_never_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    dispute = world.open_dispute()
    ok(
        world.buyer.post(f"/disputes/{dispute['id']}/messages", {"body": f"hi\n{FORGED}\x1b[0m"}),
        201,
    )
    assert not any("forged" in r.getMessage() for r in caplog.records)


def test_an_unexpected_error_logs_the_path_as_a_literal(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fairdeal.services import disputes

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(disputes, "get_dispute", broken)
    caplog.set_level(logging.INFO)
    caplog.clear()
    with TestClient(create_app(world.app), raise_server_exceptions=False) as http:
        response = http.get(
            "/api/v1/disputes/x%0Aunhandled%20error%20forged",
            headers={"Authorization": f"Bearer {world.buyer.token}"},
        )
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    messages = [r.getMessage() for r in caplog.records if r.name == "fairdeal.api"]
    assert messages and all("\n" not in m for m in messages), messages
