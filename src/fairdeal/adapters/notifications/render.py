"""Emails from Jinja2 templates, in the recipient's language and time zone.

One template per event type and recipient role (``templates/email/<event>.<role>.j2``), with
every sentence marked for gettext (``{% trans %}``): the same catalogues as the web pages
(``fairdeal/locale``, ``make messages``), so there are no per-language copies to drift apart.
Each is rendered twice -- as plain text and as HTML -- inside a layout that adds the greeting,
the deadline said to this reader (``wording.deadline_words``, the words of the dispute page),
the link to the dispute and the footer. Money and moments are formatted by Babel for the
recipient's locale, moments in their time zone with the zone named (UTC when they set none);
the moments are the product's (the sandbox clock's in sandbox mode), as the dispute has them."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound
from markupsafe import Markup

from fairdeal import i18n, wording
from fairdeal.domain.dispute import Dispute, Role
from fairdeal.i18n import _
from fairdeal.services.notifications import RenderedEmail

TEMPLATES = Path(__file__).parent / "templates"


def _kind(value: str) -> str:
    """A solution's kind inside a sentence ("refund only, 12.00 EUR"), as the timeline says it."""
    return wording.kind_label(value).lower()


def _blocks(value: str) -> Iterator[tuple[bool, list[str]]]:
    """Block text's blocks (blank lines part them): (is it a list, its stripped lines); list
    items are the lines starting "- ", without the dash."""
    for chunk in re.split(r"\n\s*\n", str(value).strip()):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            yield True, [line[2:] for line in lines]
        elif lines:
            yield False, lines


def _paragraphs(value: str) -> Markup:
    """Block text to HTML paragraphs and lists. The text is the template's own, with every
    value already escaped (autoescape)."""
    html = []
    for is_list, lines in _blocks(value):
        if is_list:
            items = "".join(f'<li style="margin:0 0 6px">{line}</li>' for line in lines)
            html.append(f'<ul style="margin:0 0 14px;padding-left:20px">{items}</ul>')
        else:
            html.append(f'<p style="margin:0 0 14px">{" ".join(lines)}</p>')
    # The pieces come from autoescaped output: already safe.
    return Markup("".join(html))


def _text_paragraphs(value: str) -> str:
    """Block text to plain text: paragraphs joined into lines, list items kept."""
    return "\n\n".join(
        "\n".join(f"  * {line}" for line in lines) if is_list else " ".join(lines)
        for is_list, lines in _blocks(value)
    )


@functools.cache
def _environment(*, html: bool) -> Environment:
    """One environment per output kind for the process: templates compile once. The gettext
    callables read the language set by ``i18n.use``, so one environment serves every language."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
    )
    env.filters.update(when=wording.when_text, money=wording.money, kind=_kind)
    env.filters["paragraphs"] = _paragraphs if html else _text_paragraphs
    return env


class JinjaEmailRenderer:
    def __init__(self) -> None:
        self.text = _environment(html=False)
        self.html = _environment(html=True)

    def render(
        self,
        template: str,
        language: str | None,
        context: Mapping[str, Any],
        *,
        time_zone: str | None = None,
    ) -> RenderedEmail | None:
        name = f"email/{template}.j2"
        try:
            text_template = self.text.get_template(name)
        except TemplateNotFound:
            return None  # no email for this event and audience
        lang = i18n.normalise(language) or i18n.DEFAULT
        with i18n.use(lang, time_zone or "UTC"):
            values = {**context, **_said(context), "lang": i18n.HTML_LANG[lang]}
            subject_context = text_template.new_context(
                {**values, "layout": "email/_layout.txt.j2"}
            )
            subject = "".join(text_template.blocks["subject"](subject_context))
            text = text_template.render(**values, layout="email/_layout.txt.j2")
            html = self.html.get_template(name).render(**values, layout="email/_layout.html.j2")
        return RenderedEmail(" ".join(subject.split()), _tidy(text), html.strip() + "\n", lang)


def _said(context: Mapping[str, Any]) -> dict[str, Any]:
    """What the renderer phrases from the case itself, in the language in use: the items (or
    the order, when none are named), the reason's title, the outcome's explanation and the
    deadline as the dispute page says it to this reader."""
    case: Dispute = context["case"]
    role = str(context["recipient"]["role"])
    items = list(context["order"]["items"])
    said: dict[str, Any] = {
        "items": ", ".join(items) or _("order %(id)s") % {"id": context["order"]["id"]},
        "dispute": {
            **context["dispute"],
            "reason": wording.reason_title_of(case, case.reason),
        },
        "outcome_text": wording.outcome_text(case),
        "deadline_words": None,
    }
    deadline = context.get("next_deadline")
    if deadline is not None:
        said["deadline_words"] = wording.deadline_words(
            deadline, case, Role(role), set(context.get("allowed", ()))
        )
    return said


def _tidy(text: str) -> str:
    """At most one blank line in a row, no trailing spaces."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
