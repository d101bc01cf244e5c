"""Every user-facing string of the web pages and of the emails goes through gettext (Babel
catalogues in ``fairdeal/locale/<lang>/LC_MESSAGES/messages.po``, compiled to ``.mo`` beside
them). English is the source language. The language and time zone being rendered live in a
context variable, set by the page pipeline or by ``use`` (the email renderer): ``_``,
``ngettext`` and ``pgettext`` read it, so the view helpers, the page templates and the emails
translate alike. This module sits outside ``entrypoints`` because the notification adapter
uses it too. Money, dates and relative times are formatted for the locale with Babel, times in
the reader's time zone with the zone named. See docs/web.md, "Languages and time zones"."""

from __future__ import annotations

import gettext as gettext_module
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import (
    DateTimePattern,
    format_timedelta,
    get_date_format,
    get_datetime_format,
    get_time_format,
    get_timezone_location,
)
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import (
    NumberPattern,
    get_currency_precision,
    get_currency_symbol,
    parse_pattern,
)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT = "en"
# code -> the language's own name (what the switcher shows, in every language alike).
LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский", "zh_Hans": "简体中文"}
# The HTML lang attribute of each.
HTML_LANG = {"en": "en", "ru": "ru", "zh_Hans": "zh-Hans"}
COOKIE = "fairdeal_lang"
TZ_COOKIE = "fairdeal_tz"


@dataclass(frozen=True, slots=True)
class Prefs:
    language: str = DEFAULT
    time_zone: str = "UTC"

    @property
    def zone(self) -> tzinfo:
        return zone_of(self.time_zone) or UTC

    @property
    def locale(self) -> Locale:
        return _babel_locale(self.language)


_current: ContextVar[Prefs | None] = ContextVar("fairdeal_web_prefs", default=None)
_ENGLISH_UTC = Prefs()


def current() -> Prefs:
    return _current.get() or _ENGLISH_UTC


def set_current(prefs: Prefs) -> None:
    """Set the language and zone for the rest of this request (the pipeline calls it)."""
    _current.set(prefs)


@contextmanager
def use(language: str, time_zone: str = "UTC") -> Iterator[None]:
    """Render in ``language`` and ``time_zone`` inside the block (tests, emails)."""
    token = _current.set(Prefs(normalise(language) or DEFAULT, time_zone))
    try:
        yield
    finally:
        _current.reset(token)


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    if language == DEFAULT:
        return gettext_module.NullTranslations()
    try:
        return gettext_module.translation("messages", LOCALE_DIR, languages=[language])
    except FileNotFoundError:
        return gettext_module.NullTranslations()


@cache
def _babel_locale(language: str) -> Locale:
    return Locale.parse({"zh_Hans": "zh_Hans_CN", "en": "en_GB"}.get(language, language))


def _(message: str) -> str:
    return translations(current().language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current().language).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(current().language).pgettext(context, message)


def gettext(message: str) -> str:
    return _(message)


# --- choosing the language and the zone -----------------------------------------------------


def normalise(value: str | None) -> str | None:
    """A language code as given by a user setting, a cookie or a browser ("ru-RU", "zh-CN",
    "zh-Hans", "zh_Hans") -> one of LANGUAGES, or None."""
    if not value:
        return None
    code = value.strip().replace("-", "_").lower()
    if code.startswith("zh"):
        # Traditional Chinese readers get Simplified rather than English.
        return "zh_Hans"
    base = code.split("_", 1)[0]
    return base if base in LANGUAGES else None


_QUALITY = re.compile(r"^\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*)\s*(?:;\s*q=([0-9.]+))?\s*$")


def from_accept_language(header: str | None) -> str | None:
    """The best of LANGUAGES for an Accept-Language header, or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        match = _QUALITY.match(part)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        code = normalise(match.group(1))
        if code and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else None


def choose(user_language: str | None, cookie: str | None, accept: str | None) -> str:
    """The user's setting, else the switcher's cookie, else the browser's, else English."""
    return normalise(user_language) or normalise(cookie) or from_accept_language(accept) or DEFAULT


def zone_of(name: str | None) -> ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def zone_names() -> list[str]:
    """Every IANA zone a person may choose, sorted."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    return [*zones, "UTC"]


# --- formatting -----------------------------------------------------------------------------


def format_money(minor: int, currency: str, exponent: int) -> str:
    """Russian and Chinese in their own currency format ('1 234,50 €', '€1,234.50');
    English keeps the ISO code after the amount, as the API and the emails write it
    ('1234.50 EUR'): unambiguous across borders."""
    amount = Decimal(minor).scaleb(-exponent)
    language = current().language
    pattern = _money_pattern(language, currency, exponent)
    text: str = pattern.apply(amount, _money_locale(language))
    return text.replace("\xa0", " ").replace("\u202f", " ")


def _money_locale(language: str) -> Locale:
    return _babel_locale("en") if language == DEFAULT else _babel_locale(language)


@cache
def _money_pattern(language: str, currency: str, exponent: int) -> NumberPattern:
    """What Babel's ``format_currency`` does for one language and currency, prepared once:
    the number pattern with the currency's code or symbol written into it and the decimals
    fixed. ``format_currency`` parses the pattern and looks the currency's name, symbol and
    digits up on every call: a queue page formats a sum on every row (docs/performance.md,
    "Web pages")."""
    locale = _money_locale(language)
    if language == DEFAULT:
        pattern = parse_pattern("0." + "0" * exponent + "\xa0¤¤" if exponent else "0\xa0¤¤")
        decimals = pattern.frac_prec  # the pattern's own (currency_digits=False)
    else:
        pattern = locale.currency_formats["standard"]
        decimals = (get_currency_precision(currency),) * 2
    symbol = get_currency_symbol(currency, locale)

    def with_currency(affix: str) -> str:
        # As NumberPattern.apply substitutes them (the long name, ¤¤¤, is in no pattern used
        # here: it would depend on the amount).
        if "¤¤¤" in affix:
            raise ValueError(f"a currency pattern naming the currency: {pattern.pattern!r}")
        return affix.replace("¤¤", currency.upper()).replace("¤", symbol)

    return NumberPattern(
        pattern.pattern,
        (with_currency(pattern.prefix[0]), with_currency(pattern.prefix[1])),
        (with_currency(pattern.suffix[0]), with_currency(pattern.suffix[1])),
        pattern.grouping,
        pattern.int_prec,
        decimals,
        pattern.exp_prec,
        pattern.exp_plus,
        pattern.number_pattern,
    )


_SECONDS = re.compile(r"(\d{1,2}:\d{2}):\d{2}")


@dataclass(frozen=True, slots=True)
class _MomentFormat:
    """A language's medium date-and-time format, its patterns parsed (Babel's
    ``format_datetime`` looks them up and parses them on every call)."""

    combined: str  # '{1}, {0}': the date, then the time
    date: DateTimePattern
    time: DateTimePattern


@cache
def _moment_format(language: str) -> _MomentFormat:
    locale = _babel_locale(language)
    return _MomentFormat(
        str(get_datetime_format("medium", locale=locale)).replace("'", ""),
        parse_date_pattern(get_date_format("medium", locale=locale).pattern),
        parse_date_pattern(get_time_format("medium", locale=locale).pattern),
    )


def when(moment: datetime) -> str:
    """A moment in the reader's zone, with the zone named: '3 Dec 2026, 14:05 (Moscow)'.
    As Babel's ``format_datetime(moment, "medium")`` writes it, the patterns parsed once."""
    prefs = current()
    locale, moment_format = prefs.locale, _moment_format(prefs.language)
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(prefs.zone)
    time_text = moment_format.time.apply(local.timetz(), locale, reference_date=local.date())
    text = moment_format.combined.replace("{0}", time_text).replace(
        "{1}", moment_format.date.apply(local.date(), locale)
    )
    text = _SECONDS.sub(r"\1", text)  # no seconds
    # The brackets are the reader's: Chinese sets the zone in full-width ones.
    return _("%(moment)s (%(zone)s)") % {"moment": text, "zone": zone_label()}


def zone_label(name: str | None = None) -> str:
    """The reader's zone, named: its city in their language and its offset now
    ('Шанхай, UTC+8'; Chinese with a full-width comma), or UTC."""
    prefs = current()
    # Worked out once a minute per zone and language: a page names the zone with every time
    # it shows (a queue page a hundred times), and the offset only changes at a DST switch.
    return _zone_label(name or prefs.time_zone, prefs.language, int(time.time() // 60))


@lru_cache(maxsize=256)
def _zone_label(zone_name: str, language: str, minute: int) -> str:
    zone = zone_of(zone_name)
    if zone_name == "UTC" or zone is None:
        return "UTC"
    city = _city(zone_name, language)
    if city is None:
        return zone_name
    delta = datetime.now(UTC).astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    offset = f"{sign}{hours}" + (f":{rest:02d}" if rest else "")
    # The comma is the reader's: Chinese writes a full-width one ('伦敦，UTC+0').
    pattern = translations(language).gettext("%(city)s, UTC%(offset)s")
    return pattern % {"city": city, "offset": offset}


@cache
def _city(zone_name: str, language: str) -> str | None:
    """The zone's city in ``language`` (None when Babel has no name for it). Looked up once:
    Babel walks its locale data on every call, and a queue page names the zone on every row
    (docs/performance.md, "Web pages")."""
    zone = zone_of(zone_name)
    try:
        city: str = get_timezone_location(zone, locale=_babel_locale(language), return_city=True)
    except (LookupError, ValueError):
        return None
    return city


def relative(span: timedelta) -> str:
    """A length of time for the locale: '3 days', '3 дня', '3天'."""
    return format_timedelta(span, threshold=1.5, locale=current().locale)
