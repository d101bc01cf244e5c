"""Scam and pressure detection in the messages a seller sends a buyer during a dispute.

The seed lists the pressure tactics sellers use to get a dispute closed without paying:
refunding through PayPal or another channel the platform cannot see, closing the dispute for
a promise, re-ordering the item for a token price, and changing the reason to "not needed".
``scan_message`` recognises them in English, Russian and Chinese and returns stable warning
codes; ``WARNING_TEXT`` says to the buyer why each is dangerous. Nothing here blocks a
message: the warning is shown next to it.

Each warning is a rule. Some phrases are enough on their own ("pay via PayPal"); others are
innocent alone and only suspicious together ("close the dispute" is a request, "I will send
a new one" is a promise; both in one message is the trick). The patterns run on a
normalised copy of the text (NFKC, case-folded, typographic quotes made plain, runs of
spaces collapsed), so full-width characters, capitals and odd spacing do not hide a phrase.
Pure standard library, no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PAY_OUTSIDE_PLATFORM = "pay_outside_platform"
CLOSE_FOR_PROMISE = "close_for_promise"
TOKEN_PRICE_REORDER = "token_price_reorder"
CHANGE_REASON_NOT_NEEDED = "change_reason_not_needed"

WARNING_TEXT: dict[str, str] = {
    PAY_OUTSIDE_PLATFORM: (
        "Money paid or refunded outside Fairdeal is not protected: only a solution accepted "
        "in the dispute moves money, and refunds go to your original payment method."
    ),
    CLOSE_FOR_PROMISE: (
        "Agreements in messages have no force: only an accepted solution moves money, and a "
        "closed dispute cannot be opened again for the same item."
    ),
    TOKEN_PRICE_REORDER: (
        "A new order for a token price is protected only up to that price: if the promise is "
        "broken you can claim back cents, and this dispute will be lost."
    ),
    CHANGE_REASON_NOT_NEEDED: (
        'Changing the reason to "not needed" says the seller did nothing wrong: such disputes '
        "are usually lost and you may have to pay to ship the item back."
    ),
}


# Up to 40 characters inside one sentence: lets a pattern skip a few words or a comma but not
# run into the next sentence ("close the window. The dispute ..." is not one phrase).
_GAP = r"[^.!?。！？\n]{0,40}?"
# The same for Chinese, where there are no spaces and phrases are short.
_ZH_GAP = r"[^。！？!?\n]{0,10}?"


def _spaced(word: str) -> str:
    """A brand name that may be broken up to dodge filters: "pay pal", "p.a.y.p.a.l"."""
    return r"\b" + r"[\W_]?".join(re.escape(letter) for letter in word) + r"\b"


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


@dataclass(frozen=True, slots=True)
class _Rule:
    """A warning fires when any ``alone`` pattern matches, or when at least one pattern of
    every group in ``together`` matches somewhere in the message."""

    code: str
    alone: tuple[re.Pattern[str], ...] = ()
    together: tuple[tuple[re.Pattern[str], ...], ...] = ()

    def matches(self, text: str) -> bool:
        if any(pattern.search(text) for pattern in self.alone):
            return True
        return bool(self.together) and all(
            any(pattern.search(text) for pattern in group) for group in self.together
        )


# --- pay_outside_platform -------------------------------------------------------------------
# The seed's first warning: a seller offers to refund "via PayPal" (and may then open a PayPal
# dispute against the buyer) or to be paid bypassing the site. Naming an outside payment
# channel in a dispute is already the signal, so brands match on their own; generic words
# ("directly", "card") need a money verb next to them.
_PAY_CHANNELS = _compile(
    # English and Latin-script brand names, also written with spaces or dots in between.
    _spaced("paypal"),
    r"\bwestern[\W_]*union\b",
    r"\bmoney[\W_]?gram\b",
    r"\bwe[\W_]?chat[\W_]?pay\b",
    _spaced("alipay"),
    r"\b(?:payoneer|skrill|venmo|zelle|cash\s?app|revolut|webmoney|qiwi|yoomoney)\b",
    r"\b(?:bitcoin|btc|usdt|crypto\w*)\b",
    # Russian spellings of the same channels.
    r"\bпэ?е?й[\W_]?пал\w*",
    r"\bвестерн[\W_]*юнион\w*",
    r"\bюмани\b|\bяндекс[\W_]*деньг\w*|\bвебмани\b",
    r"\b(?:на|через|по)\s+(?:киви|сбер\w*|тинько\w*|тинькоф\w*|юмани)\b",
    # Chinese: PayPal, Western Union, MoneyGram, Alipay, bank transfer, wire.
    r"贝宝|西联|速汇金|支付宝|银行转账|银行汇款|电汇",
)
_PAY_DIRECT = _compile(
    # "send the money directly", "I will refund you personally", "pay me directly"
    r"\b(?:pay|send|transfer|wire|refund|return|give)\w*\b"
    + _GAP
    + r"\b(?:money|payment|refund|funds|cash)\b"
    + _GAP
    + r"\b(?:directly|personally|privately)\b",
    r"\b(?:pay|refund|transfer)\w*\s+(?:you\s+|me\s+)?(?:back\s+)?"
    r"(?:directly|personally|privately)\b",
    r"\bdirect\s+(?:bank\s+)?(?:transfer|payment|deposit)\b",
    r"\b(?:outside|off|bypass\w*|not\s+through|without)\s+(?:of\s+)?(?:the\s+)?"
    r"(?:platform|site|website|aliexpress|marketplace|escrow|fairdeal)\b",
    r"\b(?:bank|wire|swift|sepa)\s+transfer\b|\biban\b|\bswift\s+code\b",
    r"\b(?:card|bank\s+account)\s+(?:number|details)\b",
    # Russian: "переведу на карту", "верну деньги напрямую", "номер карты", "реквизиты",
    # "в обход площадки", "банковский перевод". A refund "на вашу карту" alone is innocent:
    # that is where a platform refund goes too.
    r"\b(?:перевед|переве|перечисл|скин|кин|закин|отправ)\w*"
    + _GAP
    + r"\bна\s+(?:\w+\s+)?карт[уы]\b",
    r"\bна\s+(?:мою|нашу|эту|другую|личную)\s+карт[уы]\b",
    r"\b(?:верн|перевед|переве|перечисл|заплач|оплач|отправ|скин)\w*" + _GAP + r"\bнапрямую\b",
    r"\bнапрямую\b" + _GAP + r"\b(?:верн|перевед|переве|перечисл|заплат|оплат|деньг)\w*",
    r"\bномер\s+(?:\w+\s+)?(?:карты|счета|кошелька)\b|\bреквизит\w*",
    r"\b(?:вне|мимо|в\s+обход|минуя)\s+(?:\w+\s+)?(?:площадк|платформ|сайт|али|aliexpress|систем)",
    r"\bбанковск\w+\s+перевод\w*",
    # Chinese: "WeChat transfer", "refund privately / offline / off-platform", "transfer
    # directly", "card number", "my payment QR code". A refund "to your bank card" is innocent.
    r"微信" + _ZH_GAP + r"(?:支付|转账|付款|红包|退款|打款|转钱)",
    r"(?:退款|转账|付款|打款|汇款|退钱|转钱)" + _ZH_GAP + r"微信",
    r"(?:私下|线下|平台外|站外|绕过平台|不(?:通过|走)平台)"
    + _ZH_GAP
    + r"(?:付|转|退|汇|打|交易|钱|款)",
    r"直接(?:给你)?(?:转账|打款|汇款|打钱|转钱)",
    r"卡号|银行账号|收款账号|收款码|(?:转|打|汇)(?:钱|款)?到(?:你的|您的|我的)?(?:银行卡|账户)",
)
_PAY_OUTSIDE = _Rule(PAY_OUTSIDE_PLATFORM, alone=_PAY_CHANNELS + _PAY_DIRECT)


# --- close_for_promise ----------------------------------------------------------------------
# "They tearfully beg you to close the dispute ... promising to send the same product, but
# only if the dispute is resolved." A closed dispute cannot be reopened, so a promise made for
# closing it is worth nothing. A request to close alone is not flagged (the seller may be
# asking out of ignorance); a request plus any promise or inducement is.
_CLOSE_REQUEST = _compile(
    # "please don't close the dispute" asks the opposite: the lookbehinds skip it.
    r"(?<!n't\s)(?<!not\s)\b(?:close|cancel|withdraw|finish|remove|drop|delete|stop)\w*\b"
    + _GAP
    + r"\b(?:dispute|claim|complaint)s?\b",
    r"\b(?:after|once|when|if|as\s+soon\s+as)\s+(?:the\s+|this\s+|your\s+)?"
    r"(?:dispute|claim|complaint)\s+(?:is|gets?|has\s+been|will\s+be|was)\s+"
    r"(?:closed|cancell?ed|withdrawn|finished|removed)\b",
    # Russian: "закройте спор", "отмените диспут", "отзовите претензию", "после закрытия спора".
    r"(?<!не\s)\b(?:закр|отмен|отзов|отозв|сним|убер)\w*\b"
    + _GAP
    + r"\b(?:спор(?:а|у|ом|е|ы|ов)?\b|диспут|претензи|жалоб)\w*",
    # Chinese: "close/cancel/withdraw the dispute / complaint / refund request".
    r"(?<!不要)(?<!不)(?<!别)(?:关闭|取消|撤销|撤回|撤掉|关掉|结束)"
    + _ZH_GAP
    + r"(?:纠纷|争议|投诉|申诉|退款申请|售后)",
)
_CLOSE_PROMISE = _compile(
    r"\b(?:refund\w*|re-?send\w*|replace\w*|replacement|discount\w*|coupon\w*|gift\w*|"
    r"bonus\w*|compensat\w*|promise\w*|guarantee\w*|free)\b",
    r"\bsend\w*\b" + _GAP + r"\b(?:again|new|another|replacement|same)\b",
    r"\b(?:new|another)\s+(?:one|item|parcel|package)\b",
    r"\b(?:money|pay\s+you)\s+back\b",
    r"\b(?:5|five)\s*stars?\b",
    r"\b(?:верн|возвра|вышл|отправ|пришл|скидк|купон|подар|бонус|компенс|обеща|гарант|"
    r"бесплатн)\w*",
    r"\b(?:5|пять)\s+звезд\w*",
    r"退款|退钱|返现|补发|重发|再发|重新(?:发|寄)|补寄|折扣|优惠|礼物|赠品|补偿|保证|承诺|免费|五星|5星",
)
_CLOSE_FOR_PROMISE = _Rule(CLOSE_FOR_PROMISE, together=(_CLOSE_REQUEST, _CLOSE_PROMISE))


# --- token_price_reorder --------------------------------------------------------------------
# "The seller offers you to close the current dispute ... make a new order for a symbolic price
# of $0.01 ... he will only owe you $0.01." Needs both a re-order request and a token price;
# either alone is ordinary shop talk.
_REORDER = _compile(
    r"\bre[\W_]?(?:order|buy|purchase)\w*",
    r"\b(?:place|make|create|put|open|submit)\w*\s+(?:a\s+|an\s+|one\s+)?"
    r"(?:new\s+|another\s+|second\s+|separate\s+|extra\s+)?order\b",
    r"\b(?:new|another|second|separate|extra)\s+order\b",
    r"\b(?:order|buy|purchase)\w*\s+(?:it\s+|this\s+|the\s+item\s+)?(?:again|once\s+more)\b",
    r"\b(?:special|private|custom)\s+(?:link|listing)\b",
    r"\bперезака[зж]\w*|\bнов\w+\s+заказ\w*|\bзакаж\w*|\bзаказ\w*\s+(?:снова|ещ[её]\s+раз|заново)",
    r"\b(?:оформ|сдела|размест)\w*" + _GAP + r"\bзаказ\w*",
    r"\bкуп\w*\s+(?:\w+\s+)?(?:снова|ещ[её]\s+раз|заново|повторно)\b",
    r"重新下单|重新拍|重拍|补拍|再(?:下|拍)(?:一)?(?:个|单)|(?:下|拍)(?:一)?单|新(?:的)?订单",
    r"特殊链接|专属链接",
)
_TOKEN_PRICE = _compile(
    # $0.01, $ 0.5, $1, US$0.10, USD 0.01 - but not $1,000 or $10.
    r"(?:\$|\busd\s*|\bus\$\s*)\s*(?:0?[.,]\d{1,2}|1(?:[.,]0{1,2})?)(?![.,]?\d)",
    r"(?<![\d.,])0?[.,]\d{1,2}\s*(?:\$|usd\b|dollars?\b|bucks?\b|cents?\b)",
    r"\b(?:1|one|a)\s*(?:cent|penny|dollar|buck)s?\b",
    # 0.01 .. 0.09 on its own is a token price in any currency.
    r"(?<![\d.,])0[.,]0[1-9](?![\d])",
    r"\b(?:token|symbolic|nominal|minimum|minimal)\s+(?:price|amount|sum|payment|cost)\b",
    r"\bсимволическ\w*|\b(?:1|один|одну)\s*(?:рубл\w*|руб\b|р\.|₽|цент\w*|копе\w*|доллар\w*)",
    r"象征性|(?<![\d.])0?\.\d{1,2}\s*(?:美元|美金|刀|元|块)",
    r"(?<![\d一二三四五六七八九十百千万两])[一1]\s*(?:美分|分钱|美元|美金|刀|块钱?)",
)
_TOKEN_PRICE_REORDER = _Rule(TOKEN_PRICE_REORDER, together=(_REORDER, _TOKEN_PRICE))


# --- change_reason_not_needed ---------------------------------------------------------------
# "If he asks you instead of 'Poor quality product' or 'Counterfeit' to write 'Product not
# needed' ..." A "not needed" dispute blames nobody and tends to be lost; the buyer may also
# have to pay for the return. Needs a request about the reason plus a not-needed phrase, or a
# phrase that names the not-needed reason outright.
_REASON_REQUEST = _compile(
    r"\b(?:change|modify|edit|switch|update|correct|select|choose|pick|put|write|mark|set)\w*"
    r"\b" + _GAP + r"\breasons?\b",
    r"\breasons?\b" + _GAP + r"\b(?:to|as|into|with)\b",
    r"\b(?:измен|помен|смен|исправ|постав|выбер|выбр|укаж|напиш|отмет)\w*" + _GAP + r"\bпричин\w*",
    r"\bпричин\w*" + _GAP + r"\b(?:на|как)\b",
    r"(?:改|换|选|写)" + _ZH_GAP + r"(?:原因|理由)|(?:原因|理由)" + _ZH_GAP + r"(?:改|换|选|写)",
)
_NOT_NEEDED = _compile(
    # "not needed", "don't need it anymore", "no longer need", "changed my mind" - but not
    # "you don't need to send it back".
    r"\bnot\s+needed\b",
    r"\b(?:don'?t|do\s+not|does\s+not|doesn'?t|no\s+longer)\s+(?:need|want)\b(?!\s+to\b)",
    r"\bchanged?\s+(?:your|my|his|her|their)\s+mind\b|\bpersonal\s+reasons?\b",
    # Russian "не нужен/нужна/нужны" (item not needed), not "не нужно" (no need to ...).
    r"\bне\s+нужн?(?:ен|на|ны)\b|\bпередумал\w*|\bличн\w+\s+причин\w*",
    # Chinese "不需要" but not "不需要退货/寄回/提供" (no need to return / send / provide).
    r"不需要(?!退|寄|发|提供|再|担心|付|支付|做|给)|不想要|不要了|不再需要|个人原因|买错|不喜欢",
)
_NOT_NEEDED_ALONE = _compile(
    r"\breasons?\b" + _GAP + r"\b(?:not\s+needed|no\s+longer\s+needed)\b",
    r"\bпричин\w*" + _GAP + r"\bне\s+нужн?(?:ен|на|ны)\b",
    r"(?:改|修改|更改|换|选)(?:成|为)" + _ZH_GAP + r"(?:不需要|不想要|不要了|不再需要|个人原因)",
)
_CHANGE_REASON_NOT_NEEDED = _Rule(
    CHANGE_REASON_NOT_NEEDED,
    alone=_NOT_NEEDED_ALONE,
    together=(_REASON_REQUEST, _NOT_NEEDED),
)


_RULES: tuple[_Rule, ...] = (
    _PAY_OUTSIDE,
    _CLOSE_FOR_PROMISE,
    _TOKEN_PRICE_REORDER,
    _CHANGE_REASON_NOT_NEEDED,
)

# Characters that look like quotes or spaces but are not ASCII ones, and zero-width marks
# that can be slipped inside a word to break a filter.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "«": '"',
        "»": '"',
        "ё": "е",
        "\u00a0": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)
_SPACES = re.compile(r"[^\S\n]+")


def _normalise(body: str) -> str:
    text = unicodedata.normalize("NFKC", body).casefold().translate(_TRANSLATE)
    return _SPACES.sub(" ", text)


def scan_message(body: str) -> list[str]:
    """Warning codes for a message a seller sent a buyer, in a fixed order, without repeats;
    an empty list when nothing suspicious was found."""
    text = _normalise(body)
    return [rule.code for rule in _RULES if rule.matches(text)]
