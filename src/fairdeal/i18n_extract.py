"""Babel extractor for the policy presets (babel.cfg): every reason's title, guidance,
evidence hint, warning and refusal, with the context ``reason:<code>:<field>`` the web pages
translate them by (``views.reason_text``). The API keeps the TOML's English."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from typing import IO, Any

FIELDS = ("title", "guidance", "evidence_hint", "warning", "refused")


def policy_texts(data: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(code, field, English text) of every reason and category override of one preset."""
    for code, reason in data.get("reasons", {}).items():
        for name in FIELDS:
            if reason.get(name):
                yield code, name, reason[name]
    for overrides in data.get("categories", {}).values():
        for code, reason in overrides.items():
            for name in FIELDS:
                if isinstance(reason, dict) and reason.get(name):
                    yield code, name, reason[name]


def extract_policy(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    data = tomllib.loads(fileobj.read().decode("utf-8"))
    for code, name, text in policy_texts(data):
        yield 0, "pgettext", (f"reason:{code}:{name}", text), []
