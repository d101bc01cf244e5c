"""Emails from Jinja2 templates: one template per event type and recipient role
(``templates/email/<language>/<event>.<role>.j2``), each rendered twice -- as plain text and
as HTML -- inside a layout that adds the greeting, the deadline with what happens when it
passes, the link to the dispute and the footer. The recipient's language is used where a
translation exists, English otherwise."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, pass_context
from markupsafe import Markup, escape

from fairdeal.services.notifications import RenderedEmail

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_LANGUAGE = "en"

STRINGS: dict[str, dict[str, Any]] = {
    "en": {
        "dear": "Dear {name},",
        "what_you_can_do": "What you can do",
        "your_deadline": "Your deadline: {when}.",
        "their_deadline": "Next deadline, for the {party}: {when}.",
        "open": "Open the dispute",
        "footer": "You receive this email because you are the {role} in dispute {dispute}"
        " (order {order}). Replies to this address are not read: answer on the dispute page.",
        "roles": {
            "buyer": "buyer",
            "seller": "seller",
            "mediator": "mediator",
            "both": "buyer and the seller",
        },
        "kinds": {"refund_only": "refund only", "return_and_refund": "return and refund"},
        "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
        "months": [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        "date": "{day} {d} {month} {y}, {hm} UTC",
        "explanations": {},
    },
    "ru": {
        "dear": "Здравствуйте, {name}!",
        "what_you_can_do": "Что вы можете сделать",
        "your_deadline": "Ваш срок: {when}.",
        "their_deadline": "Ближайший срок ({party}): {when}.",
        "open": "Открыть спор",
        "footer": "Вы получили это письмо, потому что вы {role} в споре {dispute}"
        " (заказ {order}). Ответы на этот адрес не читаются: отвечайте на странице спора.",
        "roles": {
            "buyer": "покупатель",
            "seller": "продавец",
            "mediator": "медиатор",
            "both": "покупатель и продавец",
        },
        "kinds": {
            "refund_only": "только возврат денег",
            "return_and_refund": "возврат товара и денег",
        },
        "days": [
            "понедельник",
            "вторник",
            "среда",
            "четверг",
            "пятница",
            "суббота",
            "воскресенье",
        ],
        "months": [
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ],
        "date": "{day}, {d} {month} {y}, {hm} UTC",
        "explanations": {
            "seller_response": "Если продавец не ответит до этого времени, спор закроется в"
            " пользу покупателя на его условиях.",
            "buyer_answer": "Если покупатель не примет и не отклонит предложение продавца до"
            " этого времени, спор закроется на условиях продавца.",
            "decision_response": "Если никто не оспорит решение медиатора новыми"
            " доказательствами до этого времени, оно станет окончательным.",
            "return_shipment": "Если покупатель не отправит товар обратно с трек-номером до"
            " этого времени, спор закроется в пользу продавца без возврата денег.",
            "return_confirmation": "Если продавец не подтвердит получение возврата до этого"
            " времени, деньги вернутся покупателю.",
            "evidence_request": "Если запрошенные медиатором доказательства не будут"
            " предоставлены до этого времени, спор закроется в пользу другой стороны.",
        },
    },
}


def language_of(value: str | None) -> str:
    """ "ru-RU", "ru_RU" or "RU" -> "ru"; nothing -> English."""
    if not value:
        return DEFAULT_LANGUAGE
    return re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0] or DEFAULT_LANGUAGE


def _strings(context: Any) -> dict[str, Any]:
    return STRINGS.get(context.get("lang", DEFAULT_LANGUAGE), STRINGS[DEFAULT_LANGUAGE])


@pass_context
def _when(context: Any, value: datetime | str | None) -> str:
    """A moment as people read it, in UTC (the recipient's time zone is not known)."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = moment.astimezone(UTC)
    s = _strings(context)
    return str(s["date"]).format(
        day=s["days"][moment.weekday()],
        d=moment.day,
        month=s["months"][moment.month - 1],
        y=moment.year,
        hm=moment.strftime("%H:%M"),
    )


@pass_context
def _kind(context: Any, value: str) -> str:
    return str(_strings(context)["kinds"].get(value, value))


@pass_context
def _role(context: Any, value: str) -> str:
    return str(_strings(context)["roles"].get(value, value))


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
    """One environment per output kind for the process: templates compile once."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(when=_when, kind=_kind, role=_role)
    env.filters["paragraphs"] = _paragraphs if html else _text_paragraphs
    env.globals["escape"] = escape
    return env


class JinjaEmailRenderer:
    def __init__(self) -> None:
        self.text = _environment(html=False)
        self.html = _environment(html=True)

    def render(
        self, template: str, language: str | None, context: Mapping[str, Any]
    ) -> RenderedEmail | None:
        lang = language_of(language)
        for candidate in dict.fromkeys((lang, DEFAULT_LANGUAGE)):
            name = f"email/{candidate}/{template}.j2"
            try:
                text_template = self.text.get_template(name)
            except TemplateNotFound:
                continue
            html_template = self.html.get_template(name)
            values = {**context, "lang": candidate, "t": STRINGS.get(candidate, STRINGS["en"])}
            values["deadline_text"] = _deadline_text(values)
            subject_context = text_template.new_context(
                {**values, "layout": "email/_layout.txt.j2"}
            )
            subject = "".join(text_template.blocks["subject"](subject_context))
            text = text_template.render(**values, layout="email/_layout.txt.j2")
            html = html_template.render(**values, layout="email/_layout.html.j2")
            return RenderedEmail(
                " ".join(subject.split()), _tidy(text), html.strip() + "\n", candidate
            )
        return None


def _deadline_text(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(when and whose, what happens then) of the deadline the email names."""
    deadline = values.get("deadline")
    if not deadline:
        return None
    s = STRINGS.get(values["lang"], STRINGS["en"])
    when = _when({"lang": values["lang"]}, deadline["due_at"])
    if deadline["yours"]:
        head = str(s["your_deadline"]).format(when=when)
    else:
        party = s["roles"].get(deadline["party"], deadline["party"])
        head = str(s["their_deadline"]).format(when=when, party=party)
    explanation = s["explanations"].get(deadline["kind"], deadline["explanation"])
    return head, explanation


def _tidy(text: str) -> str:
    """At most one blank line in a row, no trailing spaces."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
