"""Logs as a real ``fairdeal serve`` and ``fairdeal worker`` write them: one JSON object a
line with time, level, logger, message and request id, uvicorn's and httpx's lines included,
and none of the secrets the run handled (tokens, passwords, webhook secrets, a webhook URL's
query string) anywhere in the output."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairdeal import logs
from fairdeal.logs import RedactingJsonFormatter, redact
from notifications.support import WebhookReceiver
from ops.support import (
    Api,
    clean_env,
    fairdeal_command,
    open_dispute,
    people,
    processes,
    shipped_order,
    upload,
    wait_for,
)

PLATFORM_TOKEN = "fd_logs_platform_token_0123456789abcdefXYZ"
SECRET_KEY = "logs-test-secret-key-0123456789abcdef0123456789"
URL_SECRET = "QuErYsEcReT0123456789"
PASSWORD = "Pa55word-in-a-log-line"

pytestmark = pytest.mark.slow


def _lines(text: str) -> list[dict[str, Any]]:
    parsed = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message", "request_id"} <= set(record), line
        parsed.append(record)
    return parsed


def test_serve_and_worker_write_json_lines_without_secrets(tmp_path: Path) -> None:
    env = clean_env(
        FAIRDEAL_DATABASE_URL=f"sqlite:///{tmp_path / 'logs.db'}",
        FAIRDEAL_SANDBOX="true",
        FAIRDEAL_PLATFORM_TOKEN=PLATFORM_TOKEN,
        FAIRDEAL_SECRET_KEY=SECRET_KEY,
        FAIRDEAL_STORAGE_DIR=str(tmp_path / "files"),
        FAIRDEAL_WEBHOOK_ALLOW_PRIVATE="true",
    )
    with WebhookReceiver() as receiver, processes(tmp_path) as group:
        base = group.serve("api", env)
        api = Api([base])
        try:
            hook = f"{receiver.url}?token={URL_SECRET}&x=1"
            endpoint = api(
                "POST",
                "/webhook-endpoints",
                PLATFORM_TOKEN,
                201,
                json={"url": hook, "events": ["*"]},
            ).json()
            whsec = endpoint["secret"]
            assert whsec.startswith("whsec_")
            users = people(api, PLATFORM_TOKEN, "logs")
            api(
                "POST",
                "/users",
                PLATFORM_TOKEN,
                201,
                json={"role": "buyer", "name": "P", "email": "p@ops.test", "password": PASSWORD},
            )
            order = shipped_order(api, PLATFORM_TOKEN, users)
            photo = upload(api, users["buyer"]["api_token"])
            dispute = open_dispute(api, users, order, [photo["id"]])
            # A refused token, and one in the query string, are not echoed either.
            api("GET", "/orders", "fd_not_a_real_token_but_a_secret_one", 401)
            answered = api("GET", f"/disputes/{dispute['id']}?token={URL_SECRET}", PLATFORM_TOKEN)
            request_id = answered.headers["x-request-id"]
        finally:
            api.close()
        worker = subprocess.run(
            [*fairdeal_command(), "worker", "--once"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert worker.returncode == 0, worker.stderr
        wait_for("a webhook delivery", lambda: receiver.received)
        group.stop_all()
        served = group.procs[0].output()
    secrets = [
        PLATFORM_TOKEN,
        SECRET_KEY,
        URL_SECRET,
        PASSWORD,
        whsec,
        whsec.removeprefix("whsec_"),
        "fd_not_a_real_token_but_a_secret_one",
        *(u["api_token"] for u in users.values()),
    ]
    for name, text in (("serve", served), ("worker", worker.stdout + worker.stderr)):
        for secret in secrets:
            assert secret not in text, f"{name} logged a secret: {secret}"
    api_lines = _lines(served)
    loggers = {line["logger"] for line in api_lines}
    assert {"uvicorn.error", "fairdeal.http"} <= loggers, loggers
    assert not any("color_message" in line or "\x1b" in str(line) for line in api_lines)
    (mine,) = [line for line in api_lines if line["request_id"] == request_id]
    assert mine["logger"] == "fairdeal.http" and mine["status"] == 200
    assert mine["time"].endswith("Z") and mine["level"] == "INFO"
    worker_lines = _lines(worker.stderr)
    worker_text = "\n".join(line["message"] for line in worker_lines)
    sent = [line for line in worker_lines if line["logger"] == "httpx"]
    assert sent, worker_text  # httpx's own request line, as JSON
    assert all(receiver.url.split("//")[1] in line["message"] for line in sent)
    assert all("[redacted]" in line["message"] for line in sent)


@pytest.mark.parametrize(
    ("raw", "kept", "gone"),
    [
        ("POST https://hooks.example/x?sig=abc123&t=1 200", "https://hooks.example/x", "abc123"),
        ("Authorization: Bearer fd_aaaaaaaaaaaaaaaaaaaaaaaa", "Authorization", "fd_aaaa"),
        ("header bearer eyJhbGciOi.eyJzdWIi.sig", "header", "eyJhbGciOi"),
        ("secret whsec_c2VjcmV0c2VjcmV0c2VjcmV0", "secret", "c2VjcmV0"),
        ('{"password": "hunter22", "name": "x"}', '"name": "x"', "hunter22"),
        ("login with password=hunter22&next=/", "next=/", "hunter22"),
        ("smtp_password='topsecret1' host", "host", "topsecret1"),
        ("api_key: k-123456 rest", "rest", "k-123456"),
    ],
)
def test_redact_removes_secrets_and_keeps_the_rest(raw: str, kept: str, gone: str) -> None:
    cleaned = redact(raw)
    assert gone not in cleaned and kept in cleaned and "[redacted]" in cleaned


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise RuntimeError("delivery to https://h.example/p?token=abcdef failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, None)
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(RedactingJsonFormatter().format(record))
    assert "abcdef" not in json.dumps(line) and "https://h.example/p" in line["exc_info"]


def _every_pattern(text: str) -> str:
    """``redact`` without its shortcut: all four patterns over the text."""
    for pattern in logs._PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + logs.REDACTED, text)
    return text


_PIECES = [
    "GET /api/v1/disputes/dsp_1 200",
    '"path": "/x"',
    "https://hooks.example/p?sig=abc",
    "Bearer ",
    "BASIC abc",
    "fd_0123456789abcdef",
    "whsec_0123456789abcdef",
    "PassWord=",
    "passwd: ",
    "SECRET=",
    "token=",
    "Api-Key: ",
    "apikey=",
    "authorization: x",
    "ſecret=",  # the long s: the patterns' case folding reads it as "s"
    "tokın=",
    "paſſword=hunter22",
    "authorızation: hunter22",
    "K",
    " ",
    "=",
    '"',
    "hunter22",
    "é",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=8).map("".join))
def test_the_shortcut_redacts_exactly_what_the_patterns_do(text: str) -> None:
    assert redact(text) == _every_pattern(text)


def test_an_ordinary_request_line_is_left_as_it_is() -> None:
    line = '{"message": "GET /api/v1/disputes/dsp_1 200", "route": "/api/v1/disputes/{dispute_id}"}'
    assert redact(line) == line == _every_pattern(line)
