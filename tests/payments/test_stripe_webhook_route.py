"""POST /api/v1/providers/stripe/webhook: verified with Stripe's check, then each outcome
handed to the payments core's ``apply_provider_outcome``.

The core's function is not part of this module: here it is replaced by a recorder (and by one
that refuses, as the core does for an unknown movement), to check what the route hands over
and how it answers. The core's own tests cover what applying does."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairdeal.bootstrap import App
from fairdeal.domain.errors import NotFound
from fairdeal.entrypoints.api.app import create_app
from fairdeal.entrypoints.api.routes import stripe_webhook

from .stripe_events import SECRET, event, refund, signed

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

URL = "/api/v1/providers/stripe/webhook"


class Recorder:
    def __init__(self, refuse: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, str, str | None]] = []
        self.refuse = refuse

    def __call__(
        self, ctx: Any, movement_id: str, outcome: str, reference: str, failure: str | None
    ) -> None:
        assert ctx is not None
        if self.refuse is not None:
            raise self.refuse
        self.calls.append((movement_id, outcome, reference, failure))


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(stripe_webhook, "resolve_applier", lambda: recorder)
    return recorder


@pytest.fixture
def client(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    app.settings.stripe_webhook_secret = SECRET
    app.settings.storage_dir = str(tmp_path / "files")
    app.settings.secret_key = "stripe-webhook-test-secret-key-0123456789"
    with TestClient(create_app(app)) as test_client:
        yield test_client


def post(client: TestClient, payload: bytes, header: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return client.post(URL, content=payload, headers=headers)


def test_a_signed_event_is_applied(client: TestClient, applied: Recorder) -> None:
    payload, header = signed(event("refund.updated", refund("re_1", "mov_1")))

    answer = post(client, payload, header)

    assert answer.status_code == 200
    assert answer.json() == {"received": True, "applied": ["mov_1"]}
    assert applied.calls == [("mov_1", "succeeded", "re_1", None)]


def test_an_event_about_nothing_of_ours_is_acknowledged(
    client: TestClient, applied: Recorder
) -> None:
    payload, header = signed(event("refund.updated", refund("re_2", None)))

    answer = post(client, payload, header)

    assert answer.status_code == 200
    assert answer.json() == {"received": True, "applied": []}
    assert applied.calls == []


def test_a_bad_signature_is_refused_and_nothing_applied(
    client: TestClient, applied: Recorder
) -> None:
    payload, header = signed(event("refund.updated", refund("re_3", "mov_3", amount=100)))
    tampered = payload.replace(b'"amount": 100', b'"amount": 999')

    answer = post(client, tampered, header)

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "invalid_signature"
    assert body["field"] == "Stripe-Signature"
    assert "does not verify" in body["detail"]
    assert applied.calls == []


def test_no_signature_is_refused(client: TestClient, applied: Recorder) -> None:
    payload, _ = signed(event("refund.updated", refund("re_4", "mov_4")))

    answer = post(client, payload, None)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_signature"
    assert "missing" in answer.json()["detail"]
    assert applied.calls == []


def test_the_cores_refusal_answers_as_problem_json(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown movement: the core refuses (404), Stripe sees a failure and retries."""
    refusing = Recorder(refuse=NotFound("payment mov_x not found"))
    monkeypatch.setattr(stripe_webhook, "resolve_applier", lambda: refusing)
    payload, header = signed(event("refund.updated", refund("re_5", "mov_x")))

    answer = post(client, payload, header)

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_without_a_configured_secret_the_route_is_not_there(
    client: TestClient, applied: Recorder, app: App
) -> None:
    app.settings.stripe_webhook_secret = None
    payload, header = signed(event("refund.updated", refund("re_6", "mov_6")))

    answer = post(client, payload, header)

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    assert applied.calls == []
