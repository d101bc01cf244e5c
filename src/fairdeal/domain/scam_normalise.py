"""Normalisation for the scam detector (``fairdeal.domain.scams``): undo the disguises a
message may wear before the patterns look at it.

``views(body)`` returns the texts the patterns run on:

1. the *plain* view: Unicode NFKC (full-width letters and digits become ASCII), case-folded,
   typographic quotes made plain, zero-width marks dropped, accents on Latin letters dropped;
   words that mix Latin and Cyrillic lookalikes (a Cyrillic "r" in "paypal", a Latin "y"
   ending a Russian word) written in one script;
   letters spaced or dotted out ("p a y p a l", "P-a-y-P-a-l") joined; leetspeak inside
   words ("p4yp4l", "d1spute") read as letters; spaces between Chinese characters removed;
   and every outside payment channel replaced by the marker ``§`` and every outside
   messenger by ``¤`` - found by brand name, also misspelt ("Western Unoin"), split
   ("pay pal"), or written in Cyrillic ("пейпал", "вестерн юнион", "тинькофф");
2. the *Cyrillic* view: the plain view with Russian written in Latin letters transliterated
   back ("zakroyte spor" -> "закройте спор"), present only when the message has Latin words.

Pure standard library, no I/O."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CHANNEL = "§"  # an outside payment channel: PayPal, Western Union, a crypto wallet, ...
MESSENGER = "¤"  # an outside messenger: WhatsApp, Telegram, WeChat, ...

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "«": '"',
        "»": '"',
        "„": '"',
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "ё": "е",
        "\u00a0": " ",
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)
_SPACES = re.compile(r"[^\S\n]+")
_LATIN_ACCENTS = re.compile(r"([a-z])[\u0300-\u036f]+")

# --- Latin and Cyrillic lookalikes ----------------------------------------------------------
_LAT_TO_CYR = str.maketrans("aceopxykmthb", "асеорхукмтнв")
_CYR_TO_LAT = str.maketrans("асеорхукмтнві", "aceopxykmthbi")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-яё]")
_WORD = re.compile(r"[^\W_]+")


def _one_script(match: re.Match[str]) -> str:
    word = match.group()
    latin = len(_LATIN.findall(word))
    cyrillic = len(_CYRILLIC.findall(word))
    if not latin or not cyrillic:
        return word
    return word.translate(_LAT_TO_CYR) if cyrillic >= latin else word.translate(_CYR_TO_LAT)


# --- letters spaced out, leetspeak ------------------------------------------------------------
# Three or more single letters with one or two separators between them: "p a y p a l",
# "p.a.y.p.a.l", "P-a-y-P-a-l", "支 付 宝". Digits are left alone ("1 2 3" is a number).
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*·•,/|]{1,2}){2,}[^\W\d_](?![^\W\d_])")
_SEPARATORS = re.compile(r"[ .\-_*·•,/|]")
# A digit or symbol standing for a letter inside a word: letters on both sides ("p4yp4l",
# "d1spute", "ref$nd"), or at the end of a word of three letters or more ("paypa1").
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


def _unleet(match: re.Match[str]) -> str:
    """Digits to letters; "1" is "l" before a vowel, after an "l" or at the end of a word
    ("c1ose", "zel1e", "paypa1"), "i" elsewhere ("d1spute")."""
    text = match.string
    out = []
    for offset, ch in enumerate(match.group()):
        at = match.start() + offset
        before = text[at - 1] if at else ""
        after = text[at + 1] if at + 1 < len(text) else ""
        if ch == "1" and (after in ("a", "e", "o", "u") or before == "l" or not after.isalpha()):
            out.append("l")
        else:
            out.append(ch.translate(_LEET))
    return "".join(out)


_LEET_INSIDE = re.compile(r"(?<=[a-z])[013457@$]+(?=[a-z])|(?<=[a-z]{3})[0134@](?![\w$])")
_CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")

# --- brand names of outside channels ----------------------------------------------------------
# Canonical Latin spellings (and Latin transliterations of the Russian ones); a word or two
# adjacent words of the message match when their phonetic key is the brand's, or differs by
# one edit (keys of 6-8 letters) or two (9 or more). Short keys must match exactly.
_PAYMENT_BRANDS = (
    "paypal",
    "westernunion",
    "moneygram",
    "alipay",
    "wechatpay",
    "weixinpay",
    "qiwi",
    "sber",
    "sberbank",
    "sberbankonline",
    "sbp",
    "tinkoff",
    "tinkov",
    "tinkoffbank",
    "zelle",
    "venmo",
    "revolut",
    "transferwise",
    "payoneer",
    "skrill",
    "cashapp",
    "webmoney",
    "yoomoney",
    "yumoney",
    "yumani",
    "yandexmoney",
    "yandeksdengi",
    "bitcoin",
    "btc",
    "usdt",
    "tether",
    "crypto",
    "kripto",
    "kripta",
    "cryptocurrency",
    "ethereum",
    "binance",
    "monobank",
    "privatbank",
    "unionpay",
    "perfectmoney",
)
_MESSENGER_BRANDS = (
    "whatsapp",
    "vatsap",
    "votsap",
    "telegram",
    "telegramm",
    "viber",
    "vaiber",
    "wechat",
    "vichat",
    "weixin",
    "skype",
    "skaip",
    "kakaotalk",
)
# Real words a misspelt brand would otherwise swallow.
_NOT_BRANDS = frozenset(
    {"revolt", "skill", "skills", "shrill", "crypt", "payer", "payee", "tither", "cryptic",
     "sober", "weber", "viper", "vibes", "tinker", "zeller", "tenmo", "telegrams"}
)  # fmt: skip
_BRAND_SPELLED = re.compile(
    # Brands that are also ordinary words count only after a word that sends money there.
    r"\b(?:via|through|by|ili|или|через|на)\s+(?:wise|line)\b"
)
_ZH_CHANNELS = re.compile(
    r"支付宝|贝宝|西联(?:汇款)?|速汇金|微信支付|财付通|比特币|泰达币|虚拟币|加密货币|数字货币|"
    r"云闪付|银联转账"
)
_ZH_MESSENGERS = re.compile(r"微信|威信|vx|v信|qq|电报|飞机号|whats\s?app|line号")
_RU_MESSENGERS = re.compile(r"\b(?:телег\w*|тг|лс|личк[уае]|личн\w+\s+сообщени\w*)\b")

_CYR_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_KEY_STEPS = (
    (re.compile(r"ph"), "f"),
    (re.compile(r"w"), "v"),
    (re.compile(r"q"), "k"),
    (re.compile(r"c"), "k"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"y"), "i"),
    (re.compile(r"j"), "i"),
    (re.compile(r"e(?=i)"), "a"),
    (re.compile(r"iu"), "u"),
    (re.compile(r"[^a-z0-9]"), ""),
    (re.compile(r"(.)\1+"), r"\1"),
)


def _key(word: str) -> str:
    """A rough phonetic key: spellings that sound alike get the same key ("peipal",
    "paypal"; "kiwi", "qiwi"; "tinkoff", "tinkof")."""
    word = "".join(_CYR_TO_LATIN.get(ch, ch) for ch in word)
    for pattern, replacement in _KEY_STEPS:
        word = pattern.sub(replacement, word)
    return word


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one), stopping early past limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


_BRAND_KEYS = tuple(
    [(_key(b), CHANNEL) for b in _PAYMENT_BRANDS]
    + [(_key(b), MESSENGER) for b in _MESSENGER_BRANDS]
)
# Keys long enough for a near match, by first letter (a misspelling keeps the first letter).
_NEAR_KEYS: dict[str, list[tuple[str, str]]] = {}
for _brand_key, _marker in _BRAND_KEYS:
    if len(_brand_key) >= 6:
        _NEAR_KEYS.setdefault(_brand_key[0], []).append((_brand_key, _marker))


# Russian case endings a brand name takes ("в биткоинах", "на киви", "по сбербанку").
_RU_ENDING = re.compile(r"(?:ами|ах|ом|ой|ою|ем|ов|ам|у|а|е|ы|и|ю)$")


@lru_cache(maxsize=4096)
def _brand(candidate: str) -> str | None:
    """The marker for a word (or two words run together) that names an outside channel."""
    if candidate in _NOT_BRANDS or len(candidate) < 3:
        return None
    found = _brand_exact_or_near(candidate)
    if found is None and _CYRILLIC.search(candidate):
        stem = _RU_ENDING.sub("", candidate)
        if stem != candidate and len(stem) >= 3:
            found = _brand_exact_or_near(stem)
    return found


def _brand_exact_or_near(candidate: str) -> str | None:
    key = _key(candidate)
    for brand_key, marker in _BRAND_KEYS:
        if key == brand_key:
            return marker
    for brand_key, marker in _NEAR_KEYS.get(key[:1], ()):
        if abs(len(brand_key) - len(key)) > 2:
            continue
        limit = 1 if len(brand_key) < 9 else 2
        if _distance(key, brand_key, limit) <= limit:
            return marker
    return None


_TOKEN = re.compile(r"[a-zа-я0-9]+")
_JOIN = re.compile(r"[ \-._]{0,2}")


def _mark_brands(text: str) -> str:
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        start, end, word = tokens[i]
        # Two adjacent words run together first ("pay pal", "western union", "wechat pay").
        if i + 1 < len(tokens) and _JOIN.fullmatch(text[end : tokens[i + 1][0]]):
            marker = _brand(word + tokens[i + 1][2])
            if marker is not None and not word.isdigit():
                spans.append((start, tokens[i + 1][1], marker))
                i += 2
                continue
        marker = None if word.isdigit() else _brand(word)
        if marker is not None:
            spans.append((start, end, marker))
        i += 1
    for start, end, marker in reversed(spans):
        text = f"{text[:start]} {marker} {text[end:]}"
    text = _BRAND_SPELLED.sub(f" {CHANNEL} ", text)
    text = _ZH_CHANNELS.sub(f" {CHANNEL} ", text)
    text = _ZH_MESSENGERS.sub(f" {MESSENGER} ", text)
    return _RU_MESSENGERS.sub(f" {MESSENGER} ", text)


# --- Russian written in Latin letters ---------------------------------------------------------
_TRANSLIT = (
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
    ("sh", "ш"), ("yu", "ю"), ("ju", "ю"), ("ya", "я"), ("ja", "я"), ("yo", "е"),
    ("ye", "е"), ("iy", "ий"), ("yy", "ый"), ("a", "а"), ("b", "б"), ("v", "в"),
    ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("j", "й"), ("k", "к"),
    ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"),
    ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "ц"), ("w", "в"), ("x", "кс"),
    ("q", "к"), ("'", "ь"),
)  # fmt: skip
_TRANSLIT_RE = re.compile("|".join(re.escape(latin) for latin, _ in _TRANSLIT) + "|y")
_TRANSLIT_MAP = dict(_TRANSLIT)
_LATIN_WORD = re.compile(r"\b[a-z']*[a-z][a-z']*\b")


# English words the rules need in any view: negations stay as they are.
_KEEP_LATIN = frozenset(
    {"not", "never", "no", "dont", "don't", "won't", "wont", "cannot", "can't", "didn't",
     "doesn't", "isn't", "aren't", "shouldn't", "refuse", "refused", "nobody", "neither", "nor",
     "without"}
)  # fmt: skip


def _to_cyrillic(match: re.Match[str]) -> str:
    word = match.group()
    if word in _KEEP_LATIN:
        return word

    def letter(m: re.Match[str]) -> str:
        if m.group() == "y":
            # "y" after a vowel is "й" (zakroyte), elsewhere "ы" (vyshlem).
            before = word[m.start() - 1] if m.start() else ""
            return "й" if before in "aeiou" else "ы"
        return _TRANSLIT_MAP[m.group()]

    return _TRANSLIT_RE.sub(letter, word)


def plain(body: str) -> str:
    text = unicodedata.normalize("NFKC", body).casefold().translate(_TRANSLATE)
    text = unicodedata.normalize(
        "NFC", _LATIN_ACCENTS.sub(r"\1", unicodedata.normalize("NFD", text))
    )
    text = _WORD.sub(_one_script, text)
    text = _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group()), text)
    text = _LEET_INSIDE.sub(_unleet, text)
    text = _CJK_SPACE.sub("", text)
    text = _mark_brands(text)
    return _SPACES.sub(" ", text).strip()


def views(body: str) -> tuple[str, ...]:
    """The plain view and, when the message has Latin words, the Cyrillic view."""
    text = plain(body)
    if not _LATIN.search(text):
        return (text,)
    return (text, _LATIN_WORD.sub(_to_cyrillic, text))
