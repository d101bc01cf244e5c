"""The case file's PDF: ``templates/case.html`` rendered with Jinja2, laid out for A4 by
WeasyPrint. The template is given the dispute exactly as the caller's ``dispute.json`` holds
it, so the PDF cannot show what the caller's JSON does not."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda m: "—" if not m else f"{m['value']} {m['currency']}"
    env.filters["when"] = _when
    env.filters["label"] = lambda v: "—" if v is None else str(v).replace("_", " ")
    return env


def _when(text: str | None) -> str:
    if not text:
        return "—"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.strftime("%d %b %Y %H:%M UTC")


def render_html(
    dispute: dict[str, Any],
    *,
    names: dict[str, str],
    files: list[dict[str, Any]],
    generated_at: str,
    timeline_head: str | None,
    caller_role: str,
) -> str:
    return (
        _environment()
        .get_template("case.html")
        .render(
            d=dispute,
            names=names,
            files=files,
            generated_at=generated_at,
            timeline_head=timeline_head,
            caller_role=caller_role,
        )
    )


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported late: loading Pango costs a few hundred ms

    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf
