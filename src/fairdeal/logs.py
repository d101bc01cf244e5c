"""Process-wide logging for ``fairdeal serve``, ``worker`` and ``demo``: one JSON object per
line (python-json-logger) with ``time``, ``level``, ``logger``, ``message`` and the
``request_id`` of the HTTP request being served (a context variable the request middleware
sets), for every logger — ours, uvicorn's and httpx's alike, all through the root handler.

Every line passes through ``redact`` after it is formatted, so no webhook URL's query
string, bearer or API token, webhook signing secret or password reaches a log, whatever
the logger or the exception's traceback carried."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fairdeal_request_id", default=None
)

REDACTED = "[redacted]"

# Each pattern keeps group 1 (the context) and replaces what follows it.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # A URL's query string and fragment (webhook URLs carry tokens there): keep the path.
    re.compile(r"""(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'?#<>\\]*)[?#][^\s"'<>\\]*"""),
    # Authorization: Bearer <token>, Basic <credentials>.
    re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+"),
    # Fairdeal API tokens (fd_…), webhook signing secrets (whsec_…).
    re.compile(r"(\b)(?:fd|whsec)_[A-Za-z0-9_+/=-]{8,}"),
    # password=…, "password": "…", token: …, secret=… (keys in query strings, JSON, text).
    re.compile(
        r"""(?i)((?:password|passwd|secret|token|api[_-]?key|authorization)\\?["']?\s*[:=]\s*\\?["']?)"""
        r"""[^\s"'&,;}\\]+"""
    ),
)


# Every pattern above needs one of these words in the text. An ASCII line without any of them
# (in its lower case: the patterns ignore case) -- the request log line of every ordinary
# request -- is returned as it is, without running the four patterns over it: they were the
# largest part of a request line's cost in the profile (performance.md). A line with other
# characters always runs them, as the patterns' case folding knows letters that ``lower``
# does not map to ASCII (the long s, the dotless i).
_CLUES = (
    "://",
    "bearer",
    "basic",
    "fd_",
    "whsec_",
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
)


def redact(text: str) -> str:
    """``text`` without URL query strings, tokens, secrets and passwords."""
    if text.isascii():
        lowered = text.lower()
        if not any(clue in lowered for clue in _CLUES):
            return text
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record: the one the record was given (``extra=``), else
    the request being served in this context, else null."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's copy of its message with terminal colours: the plain one is there.
        record.__dict__.pop("color_message", None)
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter with fixed field names, then ``redact`` on the line."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            json_ensure_ascii=False,
            json_default=str,
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def configure(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with one JSON line handler (stderr by default).
    Library loggers that had handlers of their own (uvicorn's) are made to propagate here."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingJsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    # httpcore's DEBUG chatter is not wanted even at DEBUG; httpx's request lines (INFO) are.
    logging.getLogger("httpcore").setLevel(max(level, logging.INFO))
    logging.captureWarnings(True)


def uvicorn_log_config() -> dict[str, Any]:
    """A log_config for ``uvicorn.run`` that leaves the root handler in charge: uvicorn's own
    loggers get no handlers and propagate (``configure`` must have run)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": "INFO"},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": "INFO"},
            "uvicorn.access": {"handlers": [], "propagate": True, "level": "INFO"},
        },
    }
