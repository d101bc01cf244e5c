"""Scam and pressure detection in the messages of a dispute.

The seed lists six tricks used to get a dispute closed without the buyer being made whole:
paying or refunding outside the platform, closing the dispute for a promise, five stars or a
removed review for money, re-ordering for a token price, changing the reason to "not needed",
and sending the item back outside a return solution. ``scan_message`` recognises them in
English, Russian and Chinese, in messages from sellers and from buyers (a buyer may propose
the trick, or agree to it), and returns stable warning codes; ``WARNING_TEXT`` says why each
is dangerous. Nothing here blocks a message: the warning is shown next to it.

How it works. Rules, no model. The message is normalised first (``scam_normalise``: case,
NFKC, lookalike letters, spaced-out and leetspeak words, misspelt or Cyrillic brand names of
outside payment channels, Russian written in Latin letters). Each trick is then an ACTION
(pay, close the dispute, change the review, re-order, change the reason, send the item back)
found together with the CONDITION that makes it a trick (an outside channel; a promise or
money; a token price; a no-fault reason; before a refund and outside a return solution). An
action does not count when it is negated in its clause ("I will NOT pay outside", "не
закрывайте спор", "不要关闭纠纷"), or when its sentence reports or asks about a trick rather
than proposing one ("the seller asked me to pay by PayPal, is that allowed?", "это
мошенничество?", "卖家让我..."). The patterns are written for the trick's wording in each
language, not for particular messages; the labelled set in ``tests/unit/scams/`` measures
them (docs/scams.md has the figures). Pure standard library, no I/O."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from fairdeal.domain.scam_normalise import CHANNEL, MESSENGER, views

PAY_OUTSIDE_PLATFORM = "pay_outside_platform"
CLOSE_FOR_PROMISE = "close_for_promise"
FEEDBACK_PRESSURE = "feedback_pressure"
TOKEN_PRICE_REORDER = "token_price_reorder"
CHANGE_REASON_NOT_NEEDED = "change_reason_not_needed"
RETURN_OUTSIDE_SOLUTION = "return_outside_solution"

# The order of the API contract; ``scan_message`` answers in this order.
CODES = (
    PAY_OUTSIDE_PLATFORM,
    CLOSE_FOR_PROMISE,
    FEEDBACK_PRESSURE,
    TOKEN_PRICE_REORDER,
    CHANGE_REASON_NOT_NEEDED,
    RETURN_OUTSIDE_SOLUTION,
)

WARNING_TEXT: dict[str, str] = {
    PAY_OUTSIDE_PLATFORM: (
        "Money paid or refunded outside Fairdeal is not protected: only a solution accepted "
        "in the dispute moves money, and refunds go to your original payment method."
    ),
    CLOSE_FOR_PROMISE: (
        "Agreements in messages have no force: only an accepted solution moves money, and a "
        "closed dispute cannot be opened again for the same item."
    ),
    FEEDBACK_PRESSURE: (
        "Refunds do not depend on reviews: trading five stars or a removed review for money "
        "breaks the rules, and the refund promised for it is not protected."
    ),
    TOKEN_PRICE_REORDER: (
        "A new order for a token price is protected only up to that price: if the promise is "
        "broken you can claim back cents, and this dispute will be lost."
    ),
    CHANGE_REASON_NOT_NEEDED: (
        'Changing the reason to "not needed" says the seller did nothing wrong: such disputes '
        "are usually lost and you may have to pay to ship the item back."
    ),
    RETURN_OUTSIDE_SOLUTION: (
        "An item sent back outside an accepted return solution is not tracked by Fairdeal: "
        "you may lose both the item and the refund, and pay the postage yourself."
    ),
}


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Up to 40 characters (EN/RU) or 8 (ZH) inside one clause: lets a pattern skip a few words.
_GAP = r"[^.!?。;\n]{0,40}?"
_ZGAP = r"[^.!?。;\n]{0,8}?"
_CH = re.escape(CHANNEL)
_MS = re.escape(MESSENGER)

# --- sentences, clauses, negation, reports ----------------------------------------------------
# A decimal point is not a full stop ("0.01"); NFKC has already made "，！？" ASCII.
_SENTENCE_END = re.compile(r"(?<!\d)\.(?!\d)|[!?。;\n]+")
_CLAUSE_END = re.compile(r",|、|:|—|–|\s-\s")
# A negation before the action, in the same clause, cancels it: "I will NOT pay outside",
# "never close the dispute for a promise", "не закрывайте", "不要关闭".
_NEGATION = _rx(
    r"\b(?:not|never|no|don'?t|dont|doesn'?t|won'?t|wont|can'?t|cannot|shouldn'?t|didn'?t|"
    r"isn'?t|aren'?t|refuse\w*|nobody|neither|nor)\b",
    r"\b(?:не|ни|нет|никогда|нельзя|отказ\w*|незачем)\b",
    r"不|别|没|勿|拒绝|从未|禁止",
)
# "... не нужно", "... не надо" after the action also cancels it (Russian puts it last).
_NEGATION_AFTER = _rx(
    r"^[^,.!?]{0,12}?\b(?:не\s+(?:нужно|надо|обязательно|требуется|стоит)|is\s+not\s+needed)\b"
)
# A sentence that reports, quotes or asks about a trick instead of proposing it.
_REPORT = _rx(
    r"\b(?:scam\w*|fraud\w*|warn\w*|cheat\w*|suspicious|refused|reported|escalat\w*)\b",
    r"\bseller\s+(?:has\s+|had\s+|is\s+)?(?:ask\w*|want\w*|offer\w*|suggest\w*|told|tell\w*|"
    r"say\w*|said|propos\w*|insist\w*|keeps?)\b",
    r"\bis\s+(?:that|this|it)\s+(?:allowed|ok|okay|normal|safe|legit|legal)\b",
    r"\bwhat\s+(?:does|do|is)\b[^.?!]*\bmean\b",
    # "paying outside the platform is not safe": a warning, not an offer.
    r"\b(?:paying|refunding|closing|sending|changing|reordering|re-ordering|returning)\b"
    r"[^.!?]{0,60}\b(?:is|are)\s+(?:not\s+safe|unsafe|dangerous|risky|not\s+allowed|forbidden|"
    r"against\s+the\s+rules)",
    r"\b(?:is|are|be)\s+(?:not\s+safe|unsafe|dangerous|risky|against\s+the\s+rules)\b",
    r"\b(?:мошен\w*|развод\w*|обман\w*|предупрежд\w*|подозрит\w*|отказал\w*|пожаловал\w*)",
    r"\bпродав\w*\s+(?:меня\s+|мне\s+)?(?:проси\w*|попроси\w*|предлага\w*|предложи\w*|"
    r"хоч\w*|хотел\w*|требу\w*|потребова\w*|говори\w*|сказа\w*|написа\w*|пиш\w*|уговарива\w*)",
    r"\bчто\s+значит\b|\bэто\s+(?:разрешено|нормально|законно|безопасно)\b",
    r"\b(?:небезопасн|опасн|запрещ[её]н|рискованн)\w*|\bпротив\s+правил\b",
    r"骗|诈|提醒|警告|举报|投诉了卖家|拒绝|什么意思|可疑|不安全|危险|违规|不允许",
    r"卖家(?:让|要|叫|说|提出|要求|建议|劝|想让|一直)",
)


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    clauses: tuple[tuple[int, int], ...]  # (start, end) of each clause in text
    # The same sentence in every view, for cues that do not depend on the view ("paid",
    # "reason", "first"): a cue written in English is not lost in the Cyrillic view.
    context: str


def _split(view: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(view)]


def _sentences(body: str) -> list[_Sentence]:
    split = [_split(view) for view in views(body)]
    if len({len(parts) for parts in split}) != 1:  # cannot pair them up: each on its own
        groups = [[part] for parts in split for part in parts]
    else:
        groups = [list(group) for group in zip(*split, strict=True)]
    out = []
    for group in groups:
        context = " | ".join(group)
        if not context.strip(" |") or _REPORT.search(context):
            continue
        for text in dict.fromkeys(group):
            if not text:
                continue
            bounds = [0] + [m.end() for m in _CLAUSE_END.finditer(text)] + [len(text) + 1]
            clauses = tuple((bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1))
            out.append(_Sentence(text, clauses, context))
    return out


def _live(
    pattern: re.Pattern[str], sentence: _Sentence, unless: re.Pattern[str] | None = None
) -> bool:
    """The pattern matches somewhere in the sentence without a negation in its clause (nor
    anything ``unless`` matches in that clause)."""
    for match in pattern.finditer(sentence.text):
        clause_start, clause_end = next(
            (s, e) for s, e in sentence.clauses if s <= match.start() < e
        )
        before = sentence.text[clause_start : match.start()]
        after = sentence.text[match.end() : match.end() + 30]
        if _NEGATION.search(before) or _NEGATION_AFTER.search(after):
            continue
        if unless is not None and unless.search(sentence.text[clause_start:clause_end]):
            continue
        return True
    return False


class _Message:
    """The sentences of every view of one message (reports and questions about tricks left
    out), with helpers the rules share."""

    def __init__(self, body: str) -> None:
        self.sentences = _sentences(body)

    def live(self, pattern: re.Pattern[str]) -> bool:
        return any(_live(pattern, s) for s in self.sentences)

    def has(self, pattern: re.Pattern[str]) -> bool:
        return any(pattern.search(s.context) for s in self.sentences)


# --- pay_outside_platform -------------------------------------------------------------------
# The seed's first warning: refunding "via PayPal" (and then opening a PayPal dispute against
# the buyer) or being paid bypassing the site. An outside payment channel (the normaliser's
# marker) named in a live clause is the signal, unless the sentence is about how the order
# was paid or where the platform's refund goes. Without a brand: money sent "directly",
# "personally", "off-site"; a request for a card number, bank details or a wallet; money
# promised over an outside messenger.
_PAY_ABOUT_ORDER = _rx(
    # "I paid with PayPal on your site", "my PayPal was charged", "will the refund go back to
    # PayPal?", "all payments are on the platform".
    r"\b(?:i|we)\s+(?:have\s+|had\s+|already\s+)?(?:paid|bought|ordered|purchased|payed)\b",
    r"\b(?:paid|payed)\s+(?:for\s+\w+\s+)?(?:with|by|via|using|through|on)\b|\bcharged\b",
    r"\b(?:will|would|does|do|can|could)\s+(?:the|my|a)\s+(?:refund|money)\b",
    r"\b(?:go|goes|come|comes|be\s+sent|returned)\s+back\s+to\b",
    r"\b(?:shows|statement|history|receipt)\b|\bpayment\s+to\b",
    r"(?<!than\s)\b(?:on|through|via|in|within|by)\s+(?:the|this|your|our)\s+(?:platform|site|website|"
    r"marketplace|dispute)\b",
    r"\boriginal\s+(?:payment|method)",
    r"\b(?:the|my|your)\s+refund\s+(?:takes|will\s+take|goes|will\s+go|arrives|will\s+arrive|"
    r"reaches|will\s+reach|is\s+sent|will\s+be\s+sent)\b|\bto\s+reach\b",
    r"\b(?:platform|site|fairdeal|marketplace)\s+(?:says|will\s+refund|refunds)\b",
    r"\b(?:оплатил\w*|оплачивал\w*|заплатил\w*|платил\b|списал\w*|вернутся|поступ\w*|"
    r"придут)",
    r"(?<!чем\s)\b(?:на|через)\s+(?:площадк|платформ|сайт|спор)\w*|\bс\s+которой\b",
    r"付的|付款的|支付的|买的|扣了|扣款|原路|退回到|会退回|在平台上|都在平台|平台上付",
)
_PAY_DIRECT = _rx(
    # "I refund you personally", "transfer the money directly", "I will transfer the refund
    # myself", "settle this off-site", "refund outside aliexpress"
    r"(?:\b(?:pay|transfer|wire|refund|reimburs|compensat|settle)\w*\b|"
    r"\b(?:send|give|return)\w*\b[^.!?;\n]{0,30}?(?:\b(?:money|cash|refund|funds|payment|usd|"
    r"dollars?|euros?)\b|\$))"
    + _GAP
    + r"\b(?:directly|personally|privately|myself|himself|herself|in\s+cash|by\s+hand|"
    r"off[\s-]?(?:site|platform|line)|outside\b|bypass\w*|around\s+the\s+(?:site|platform))",
    r"\b(?:directly|personally|privately)\s+(?:pay|send|transfer|wire|refund|reimburs)\w*",
    r"\b(?:outside|off|bypass\w*|around|skip\w*|avoid\w*|without|not\s+through|not\s+via|"
    r"instead\s+of)\s+(?:of\s+)?(?:the\s+|this\s+)?(?:platform|site|website|aliexpress|"
    r"marketplace|escrow|fairdeal|system)(?:\s+fees?)?\b"
    + _GAP
    + r"\b(?:pay|send|transfer|wire|refund|return|give|money|settle|deal|compensat|cash)\w*",
    r"\b(?:pay|send|transfer|wire|refund|money|settle|cash|compensat)\w*"
    + _GAP
    + r"\b(?:outside|off|bypass\w*|skip\w*|without|not\s+through|not\s+via)\s+(?:of\s+)?"
    r"(?:the\s+|this\s+)?(?:platform|site|website|aliexpress|marketplace|escrow|fairdeal)\b",
    r"\b(?:bank|wire|swift|sepa)\s+transfer\b|\biban\b|\bswift\s+code\b",
    # Russian: "верну лично", "переведу на карту", "напрямую", "в обход площадки",
    # "по номеру телефона", "скину на карту".
    # Only who sends the money: "верну", "переведём", "скиньте" - not "деньги вернутся".
    r"\b(?:(?:верн|перевед|перечисл|заплач|заплат|оплач|оплат|скин|кин|закин|компенсиру|"
    r"отправл)(?:у|ю|[её]м|им|ите|ьте)|дам|дадим)\b"
    r"(?:(?!товар|посылк|обратно|назад)[^.!?;\n]){0,40}?"
    r"\b(?:напрямую|лично|сам\b|сама\b|сами\b|наличн\w*|переводом|по\s+номеру|"
    r"на\s+(?:\w+\s+)?карт[уы]\b|на\s+сч[её]т\b|на\s+телефон|в\s+обход|мимо\s+площадк|"
    r"без\s+(?:площадк|сайт|платформ|али\b|комисси))",
    r"\b(?:напрямую|лично)\b" + _GAP + r"\b(?:верн|перевед|переве|перечисл|заплат|оплат|деньг)",
    r"\b(?:вне|мимо|в\s+обход|минуя|без)\s+(?:\w+\s+)?(?:площадк|платформ|сайт|али\b|"
    r"aliexpress|систем)\w*",
    r"\bбанковск\w+\s+перевод\w*",
    # Chinese: off-platform, privately, directly, personally transfer.
    r"(?:私下|线下|平台外|站外|绕过平台|绕开平台|不(?:通过|走|用)(?:这个)?(?:平台|网站)|"
    r"不要通过(?:这个)?(?:平台|网站))",
    r"(?:直接|个人|私人)(?:给你|把\S{0,4})?(?:转账|打款|汇款|打钱|转钱|转给|打给|退给|退你|转)",
)
_PAY_DETAILS = _rx(
    # Asking for what an outside payment needs.
    r"\b(?:card|account)\s+(?:number|details|no\b|num\b|info\w*)|"
    r"\bbank\s+(?:account|details|info\w*|data)\b",
    r"\b(?:wallet|crypto)\s+address\b|\bqr[\s-]?code\b|\bpayment\s+(?:code|link|details)\b",
    r"\bfull\s+name\s+and\s+(?:city|country|address)\b",
    r"\b(?:your|ur)\s+(?:payment\s+|bank\s+|account\s+|card\s+)?details\b|"
    r"\b(?:personal|private|own)\s+(?:account|card|wallet)\b",
    r"\bномер\s+(?:\w+\s+)?(?:карты|сч[её]та|кошел\w*)|\bреквизит\w*|\bкошел[её]?к\w*|"
    r"\bфио\b|\bсбп\b|\bкошел\w*",
    r"卡号|银行卡号|银行账号|银行账户|收款账号|收款码|付款码|钱包地址|二维码|"
    + _CH
    + r"\s*(?:账号|账户)",
)
_MONEY = _rx(
    r"\b(?:refund\w*|pay\w*|money|cash|send|transfer\w*|compensat\w*|reimburs\w*|usd|"
    r"dollars?|euros?)\b|\$",
    r"\b(?:верн\w*|возврат\w*|деньг\w*|денег|денги|перевед\w*|переве\w*|компенс\w*|оплат\w*|"
    r"заплат\w*|рубл\w*|доллар\w*)",
    r"退款|退钱|退你|退给|打款|打钱|转账|转给|付款|补偿|赔|块|元|钱|红包",
)
_CHANNEL_RX = re.compile(_CH)
_MESSENGER_RX = re.compile(_MS)


def _pay_outside(m: _Message) -> bool:
    for s in m.sentences:
        if _live(_CHANNEL_RX, s) and not _PAY_ABOUT_ORDER.search(s.context):
            return True
        if _live(_PAY_DETAILS, s):
            return True
        if _live(_PAY_DIRECT, s) and not _PAY_ABOUT_ORDER.search(s.context):
            return True
    # "add me on WhatsApp, we arrange the refund there"
    return m.live(_MESSENGER_RX) and m.live(_MONEY)


# --- close_for_promise ----------------------------------------------------------------------
# "They tearfully beg you to close the dispute ... promising to send the same product, but
# only if the dispute is resolved." A request (or an offer) to close the dispute together with
# any promise or inducement, anywhere in the message. A request alone is not flagged.
_DISPUTE = r"(?:dispute|claim|complaint|case|request|ticket|refund\s+request)s?\b"
_CLOSE = _rx(
    r"\b(?:close|cancel|withdraw|finish|end|drop|stop|resolve|retract|remove|delete)\w*\b"
    r"(?:\s+\w+){0,3}?\s+" + _DISPUTE,
    r"\b(?:dispute|claim|complaint|case)\s+(?:is\s+|gets?\s+|has\s+been\s+|will\s+be\s+|was\s+|"
    r"to\s+be\s+)?(?:closed|cancell?ed|withdrawn|finished|ended|removed)\b",
    r"\b(?:after|once|when|as\s+soon\s+as)\s+(?:it|this)\s+(?:is|gets|has\s+been)\s+"
    r"(?:closed|cancell?ed|withdrawn)\b",
    r"\b(?:закр|отмен|отзов|отозв|сним|убер|заверш|прекрат|удал|закро)\w*"
    + _GAP
    + r"\b(?:спор(?:а|у|ом|е|ы|ов)?\b|диспут|претензи|жалоб|заявк)\w*",
    r"\b(?:закрыт|отмен|заверш)\w*\s+(?:\w+\s+)?(?:спор|диспут|претенз)\w*",
    r"\b(?:спор|диспут|претензи)\w*\s+(?:будет\s+|буд\w+\s+)?(?:закрыт|отмен|заверш)\w*",
    r"\b(?:спор|диспут|претензи|жалоб)\w*\s+(?:\w+\s+)?(?:закро|закр[оы]|отмен|отзов|сним|заверш)\w*",
    r"(?:关闭|取消|撤销|撤回|撤掉|关掉|结束|关了|撤了|撤)"
    + _ZGAP
    + r"(?:纠纷|争议|投诉|申诉|退款申请|售后)",
    r"(?:纠纷|争议|投诉|申诉)" + _ZGAP + r"(?:关闭|关掉|关了|取消|撤销|撤回|撤了|撤掉|结束)",
    r"撤诉",
)
_PROMISE = _rx(
    r"\b(?:refund\w*|re-?send\w*|re-?ship\w*|replace\w*|replacement|discount\w*|coupon\w*|"
    r"gift\w*|bonus\w*|compensat\w*|promis\w*|guarantee\w*|free|reimburs\w*|voucher\w*)\b",
    r"\b(?:send|ship|deliver|mail|give)\w*\b" + _GAP + r"\b(?:again|new|another|replacement|"
    r"same|missing|money|cash|pieces?|items?|one)\b",
    r"\b(?:new|another|second)\s+(?:one|item|parcel|package|piece|pair)\b",
    r"\b(?:money|pay\s+you|cash)\s+back\b|\bno\s+(?:charge|cost)\b|\bat\s+no\s+cost\b",
    r"\bmy\s+word\b|\btrust\s+me\b|\bmake\s+it\s+(?:right|up)\b|\bdouble\b|\d+\s*%",
    r"\b(?:верн|возвра|вышл|отправ|пришл|дошл|замен|скидк|купон|подар|бонус|компенс|обеща|"
    r"гарант|бесплатн|деньг|переш|повторн)\w*",
    r"\b(?:новый|новую|новое|второй|вторую|ещ[её]\s+одн)\w*|\bдаю\s+слово\b|\bчестно\b|\d+\s*%",
    r"退款|退钱|退你|返现|补发|重发|再发|重新(?:发|寄)|补寄|寄新|新的|全额|折|优惠|礼物|赠|送你|送您|"
    r"补偿|赔|保证|承诺|免费|包邮|放心|说到做到|寄过去|再给你|再(?:给)?(?:你|您)?(?:发|寄)|(?:发|寄)一(?:件|个)",
)


# A refund the platform makes is no promise of the other party's: "I will close the dispute
# once the platform refunds me" is not the trick.
_PLATFORM_PAYS = _rx(
    r"\b(?:platform|site|fairdeal|marketplace|mediator)\s+(?:refunds?|pays?|will\s+(?:refund|pay))\b|"
    r"\brefund\s+from\s+(?:the\s+)?(?:platform|site|fairdeal)\b",
    r"\b(?:площадк|платформ|сайт|медиатор)\w*\s+(?:верн|возмест|заплат)\w*|\bот\s+площадки\b",
    r"平台(?:退款|会退|给我退|退)",
    # Closing once the money or the item has arrived is no trade for a promise.
    r"\b(?:as\s+soon\s+as|once|when|after)\s+(?:i\s+(?:receive|get|have)\b|(?:the|my)\s+"
    r"(?:refund|money|item|replacement|parcel|package|part)\s+(?:shows\s+up|arrives|is\s+received|"
    r"reaches|comes))",
    r"\b(?:когда|как\s+только|после\s+того\s+как)\s+(?:я\s+)?получу\b|"
    r"\bкогда\s+(?:деньги|товар|замена|посылка)\s+прид\w*",
    r"等我收到|收到(?:退款|货|钱)(?:后|以后|之后)?(?:我|再)",
)


def _close_for_promise(m: _Message) -> bool:
    return m.live(_CLOSE) and any(
        _live(_PROMISE, s) and not _PLATFORM_PAYS.search(s.context) for s in m.sentences
    )


# --- feedback_pressure ----------------------------------------------------------------------
# Five stars, a positive review, or a negative one removed or changed, traded for a refund,
# money, a gift or a replacement - from a seller offering it or a buyer demanding it.
_REVIEW = r"(?:reviews?|feedbacks?|ratings?|comments?|stars?|evaluation)"
_FEEDBACK = _rx(
    r"\b(?:remove|delete|take\s+down|withdraw|change|edit|update|correct|modify|raise|improve|"
    r"fix|erase|hide|revise|rewrite|amend|switch)\w*\b(?:\s+\S+){0,4}?\s+" + _REVIEW + r"\b",
    r"\b(?:5|five)[\s-]*(?:stars?\b|\*)|\bfive-star\b|\b5-star\b",
    r"\b(?:positive|good|great|nice|excellent|high(?:est)?|best|top)\s+(?:\w+\s+)?"
    + _REVIEW
    + r"\b",
    r"\b(?:bad|negative|poor|low|1[\s-]?star|one[\s-]?star)\s+(?:\w+\s+)?" + _REVIEW + r"\b"
    r"[^.!?]{0,30}(?:\b(?:delete|remove|take\s+down|change)\w*)",
    r"\b(?:delete|remove|take\s+down|change)\w*\s+(?:it|that|this)\b",
    r"\b(?:удал|убер|сотр|измен|помен|исправ|перепиш|сним|смен|подправ|скорректир)\w*"
    + _GAP
    + r"\b(?:отзыв|оценк|негатив|звезд|рейтинг|коммент)\w*",
    r"\b(?:5|пять)\s*звезд\w*|\bпят[её]рк\w*|\b(?:высш|максимальн)\w*\s+(?:оценк|балл)\w*",
    r"\b(?:положительн|хорош|отличн|высок)\w*\s+(?:\w+\s+)?(?:отзыв|оценк)\w*",
    r"\bотзыв\w*\s+(?:на\s+)?(?:5|пять)\b|\bпятизв[её]здочн\w*|\b5[\s-]*звезд\w*",
    r"\bоцени\w*\b[^.!?]{0,20}\b(?:на\s+)?(?:5|пять|пят[её]рк\w*|отлично)\b",
    r"\b(?:отзыв|оценк|негатив)\w*\s+(?:\w+\s+)?(?:удал|убер|сотр|измен|помен|исправ|перепиш|"
    r"сним)\w*",
    r"好评|五星|5星|(?:删|改|撤|去掉|修改|更改|追加)" + _ZGAP + r"(?:差评|评价|评论|评分)|"
    r"(?:差评|评价|评论|评分|一星|1星)" + _ZGAP + r"(?:删|改|撤|去掉)",
)
_REWARD = _rx(
    r"\b(?:refund\w*|money|pay\w*|compensat\w*|reimburs\w*|coupon\w*|gift\w*|voucher\w*|"
    r"discount\w*|cash\w*|usd|dollars?|euros?|bucks?|replacement|approve|accept\w*)\b|\$|\d+\s*%",
    r"\b(?:send|give|return|ship)\w*\b" + _GAP + r"\b(?:free|new|missing|part|money|\d+)\b",
    r"\b(?:верн|возврат|компенс|деньг|заплат|оплат|подар|вышл(?:ем|ю|ите|им)|отправ|рубл|руб\b|доллар|купон|"
    r"скидк|бонус|полн\w*\s+сумм)\w*|\d+\s*(?:%|р\b|₽)",
    r"退款|退钱|退你|退一半|返现|返你|补偿|赔|红包|礼物|礼品|送|补发|全额|块|元|美元|领取|同意退款|退全款|退",
)


# Feedback already given, or thanked for, is no pressure: "thank you for the 5 stars".
_FEEDBACK_DONE = _rx(
    r"\b(?:already|thanks?|thank\s+you|last\s+time|earlier)\b",
    r"\b(?:уже|спасибо|благодар\w*|в\s+прошлый\s+раз)\b",
    r"已经|谢谢|感谢|上次|给了",
)


# Feedback promised for the item working is an honest review, not a trade.
_FEEDBACK_EARNED = _rx(
    r"\bif\s+(?:it|the\s+\w+|everything)\s+(?:\w+\s+)?(?:works|arrives|is\s+(?:ok|fine|good))",
    r"\bесли\s+(?:\w+\s+)?(?:заработает|работает|прид[её]т)",
    r"如果\S{0,8}(?:能用|好用|修好|到了)",
)


def _feedback_pressure(m: _Message) -> bool:
    return m.live(_REWARD) and any(
        _live(_FEEDBACK, s, _FEEDBACK_DONE) and not _FEEDBACK_EARNED.search(s.context)
        for s in m.sentences
    )


# --- token_price_reorder --------------------------------------------------------------------
# "Make a new order for a symbolic price of $0.01 ... he will only owe you $0.01." A re-order
# (or a special link to buy) together with a token price; either alone is shop talk.
_REORDER = _rx(
    r"\bre[\s-]?(?:order|buy|purchase)\w*",
    r"\b(?:place|make|create|put|open|submit)\w*\s+(?:a\s+|an\s+|one\s+)?"
    r"(?:new\s+|another\s+|second\s+|separate\s+|extra\s+)?order\b",
    r"\b(?:new|another|second|separate|extra)\s+order\b",
    r"\b(?:order|buy|purchase)\w*\b(?:\s+\w+){0,3}?\s+(?:again|once\s+more|one\s+more\s+time|"
    r"a\s+second\s+time)\b",
    r"\b(?:order|buy|purchase|pay)\w*\s+(?:it|this|that|the)\b",
    r"\b(?:link|listing|lot)\b",
    r"\bперезака[зж]\w*|\bнов\w+\s+заказ\w*|\bзакаж\w*|\bзаказ\w*\s+(?:снова|ещ[её]\s+раз|заново)",
    r"\b(?:оформ|сдела|размест|повтор)\w*" + _GAP + r"\bзаказ\w*",
    r"\bкуп\w*\b" + _GAP + r"\b(?:снова|ещ[её]\s+раз|заново|повторно)\b",
    r"\b(?:ссылк|лот|оплатите\s+его)\w*",
    r"重新下单|重新拍|重拍|补拍|再(?:下|拍|买)|下(?:一|个)?单|拍(?:一下|这个|那个|一个|一单)|新(?:的)?订单|"
    r"专属链接|链接|重新购买|重新买",
)
_TOKEN_PRICE = _rx(
    # $0.01, $ 0.5, $1, US$0.10, USD 0.01 - but not $1,000, $10 or $0.99.
    r"(?:\$|\busd\s*|\bus\$\s*)\s*(?:0?[.,](?:0\d|[1-5]0?)|1(?:[.,]00?)?)(?![.,]?\d)",
    r"(?<![\d.,])(?:0?[.,](?:0\d|[1-5]0?)|1)\s*(?:\$|usd\b|dollars?\b|bucks?\b|cents?\b|"
    r"euros?\b|€|руб\w*|₽|юан\w*)",
    r"(?<![\d.,])0[.,]0[1-9](?!\d)",
    r"\b(?:one|a|1)\s*(?:cent|penny|dollar|buck|euro)s?\b|\bpenny\b|\bfew\s+cents\b",
    r"\b(?:token|symbolic|nominal|minimum|minimal)\s+(?:price|amount|sum|payment|cost|fee|\d|"
    r"\$|1)",
    r"\bсимволическ\w*|\bкопе\w*|(?<![\d.,])(?:1|один|одну|одна)\s*(?:рубл\w*|руб\b|р\b|₽|"
    r"цент\w*|копе\w*|доллар\w*|\$)",
    r"\bза\s+(?:рубль|цент|копейку|доллар)\b",
    r"象征性|(?<![\d.])0?\.(?:0\d|[1-5]0?)(?!\d)|(?<![\d一二三四五六七八九十百千万两])[一1]\s*(?:美分|分钱|分|毛钱?|"
    r"美元|美金|刀|块钱?|元钱?)",
)


def _token_price_reorder(m: _Message) -> bool:
    return m.live(_REORDER) and m.live(_TOKEN_PRICE)


# --- change_reason_not_needed ---------------------------------------------------------------
# "If he asks you instead of 'Poor quality product' or 'Counterfeit' to write 'Product not
# needed' ..." A request to change or pick the reason, and a no-fault reason, in one sentence.
_NO_FAULT = _rx(
    r"\bnot\s+(?:needed|required|wanted|necessary)\b|\bno\s+longer\b|\bunwanted\b",
    r"\b(?:don'?t|do\s+not|does\s+not|doesn'?t|didn'?t)\s+(?:really\s+)?(?:need|want|like)\b",
    r"\bchanged?\s+(?:your|my|his|her|their)\s+mind\b|\bpersonal\s+reasons?\b|\bremorse\b",
    r"\b(?:by\s+mistake|mistaken\w*|ordered\s+(?:wrong|the\s+wrong|by)|wrong\s+(?:size|order)|"
    r"accident\w*|no[\s-]fault|no\s+reason)\b",
    r"\bне\s+(?:нужен|нужна|нужны|нужно|требуется|понрав\w*|подош\w*|подходит)\b|"
    r"\bбольше\s+не\b|\bпередума\w*|\bличн\w+\s+причин\w*|\bпо\s+ошибке\b|\bошиб\w*|"
    r"\bнет\s+необходимости\b|\bбез\s+причин\w*",
    r"不需要|不想要|不要了|不再需要|个人原因|买错|拍错|买多|不喜欢|不合适|无理由|多拍|误拍",
)
_REASON_CHANGE = _rx(
    r"\b(?:change|modify|edit|switch|update|correct|select|choose|pick|put|write|mark|set|say|"
    r"tell|state|specify|indicate|enter|use)\w*\b",
    r"\b(?:should|must|needs?\s+to|has\s+to)\s+be\b",
    r"\b(?:измен|помен|смен|исправ|постав|выбер|выбр|укаж|указ|напиш|отмет|перепиш|замен|"
    r"перевыбер|переключ)\w*|\bдолж\w+\s+быть\b",
    r"改|换|选|写|填|修改|更改|设为|设置",
)
_REASON_WORD = _rx(
    r"\breasons?\b|\binstead\s+of\b|\brather\s+than\b|\b(?:dispute|claim|case)\s+(?:as|to)\b",
    r"\bпричин\w*|\bвместо\b",
    r"原因|理由|而不是",
)
_PICK_NO_FAULT = _rx(
    r"\b(?:select|choose|pick|mark|tick)\w*\b\s+(?:the\s+|option\s+)?\"?(?:item\s+)?"
    r"(?:not\s+needed|no\s+longer|changed?\s+my\s+mind)",
    r"\b(?:выбер|выбр|отмет)\w*\s+\"?(?:не\s+нуж|передума|личн|по\s+ошибке)",
    r"(?:选|改成|改为|换成)\S{0,2}(?:不需要|不想要|不要了|个人原因|拍错|买错|无理由)",
)


def _change_reason(m: _Message) -> bool:
    for s in m.sentences:
        if _live(_PICK_NO_FAULT, s):
            return True
        if (
            _NO_FAULT.search(s.context)
            and _REASON_WORD.search(s.context)
            and _live(_REASON_CHANGE, s)
        ):
            return True
    return False


# --- return_outside_solution ----------------------------------------------------------------
# "Send it back to us by post first, then we refund": the item goes back outside a return
# solution - no label, no tracking the platform sees, no refund bound to the delivery. An
# item sent back under an accepted solution (its label, its address) is the normal path.
_SEND_BACK = _rx(
    r"\b(?:send|ship|mail|post|return)\w*\b(?:\s+(?!money|refund|cash|funds|"
    r"payment)[\w']+){0,3}?\s+back\b(?!\s+(?:your\s+|the\s+)?(?:money|refund|payment|cash))",
    r"\breturn\w*\s+(?:it|them|this|that|the\s+\w+|goods|items?|products?|parcel)\s+"
    r"(?:by|via|with|to\s+(?:me|us|our|my|the\s+seller|this|the\s+factory|the\s+warehouse))\b",
    r"\b(?:send|ship|mail|post)\w*\s+(?:it|them|the\s+(?!refund|money|payment|cash)\w+)\s+to\s+"
    r"(?:me|us|our|my|the\s+seller|"
    r"this\s+address)\b",
    r"\b(?:отправ|вышл|высыл|пошл|отошл|пришл|верн|сда|перешл)\w*"
    r"(?:(?!деньг|денег|сумм|оплат|компенс)[^.!?;\n]){0,40}?"
    r"\b(?:обратно|назад|нам\b|продавцу|на\s+(?:наш|мой|этот)\s+(?:адрес|склад)|на\s+склад|"
    r"представител\w*|почтой|по\s+почте)",
    r"\b(?:верни|вернуть|верн[её]те|отправьте|отправить|вышлите|выслать|пришлите|прислать|"
    r"пошлите|отошлите)\s+(?:\w+\s+)?(?:товар|посылк|вещ|телефон)\w*",
    r"寄回|发回|寄还|邮寄回|退回给|寄给我们|寄到我们|先退货|货退回|东西退回|寄到这个|寄回到",
)
_BEFORE_REFUND = _rx(
    r"\b(?:first|before|then|after|once|until|when)\b|\brefund\w*|\bmoney\b|\breimburs\w*|"
    r"\bpay\w*\b|\baddress\b|\bpost\b|\bcourier\b|\bwarehouse\b|\bfactory\b|\bagent\b|"
    r"\bown\s+cost\b|\byourself\b|\binspect\w*|\bcheck\w*",
    r"\bсначала\b|\bпотом\b|\bпосле\b|\bдо\s+возврат\w*|\bвозврат\w*|\bденьг\w*|\bадрес\w*|"
    r"\bсклад\w*|\bпочт\w*|\bсдэк\w*|\bза\s+св\w+\s+сч|\bсами\b|\bсам\b|\bкак\s+получ\w*|"
    r"\bоплат\w*|\bкомпенс\w*|\bпредставител\w*|\bобратно\b|\bназад\b",
    r"先|收到|之后|以后|再|退款|退钱|打款|地址|仓库|自费|邮政|快递|代理|验货|检查|退",
)
_SOLUTION = _rx(
    # The normal path: the return solution, its label, its address.
    r"\b(?:return|accepted|our|the|this|that|a)\s+(?:return\s+)?(?:solution|label)s?\b|"
    r"\breturn[\s-]and[\s-]refund\b|\bprepaid\s+label\b",
    r"\bрешени\w*|\bэтикетк\w*",
    r"方案|标签|面单",
)
_OUTSIDE_SOLUTION = _rx(
    r"\b(?:not|without|no\s+need\s+(?:to\s+)?(?:go\s+through|use|open)?|don'?t\s+(?:use|open)|"
    r"instead\s+of|skip|outside)\s+(?:the\s+|a\s+)?(?:via\s+)?(?:return\s+(?:solution|option|"
    r"request|in\s+(?:the\s+)?system)|dispute|platform|system)\b",
    r"\b(?:platform|site|system)\s+return\s+is\s+(?:too\s+)?slow\b",
    r"\bбез\s+оформлени\w*|\bоформлять\s+возврат\w*[^.!?]{0,30}не\s+надо|"
    r"\bне\s+через\s+(?:платформ|площадк|сайт)",
    r"不用走平台|不需要在系统|不走平台|平台的退货太慢|不用申请退货|私下",
)


def _return_outside(m: _Message) -> bool:
    sent_back = any(_live(_SEND_BACK, s) and _BEFORE_REFUND.search(s.context) for s in m.sentences)
    if not sent_back:
        return False
    if m.has(_OUTSIDE_SOLUTION):
        return True
    return not m.live(_SOLUTION)


_RULES = (
    (PAY_OUTSIDE_PLATFORM, _pay_outside),
    (CLOSE_FOR_PROMISE, _close_for_promise),
    (FEEDBACK_PRESSURE, _feedback_pressure),
    (TOKEN_PRICE_REORDER, _token_price_reorder),
    (CHANGE_REASON_NOT_NEEDED, _change_reason),
    (RETURN_OUTSIDE_SOLUTION, _return_outside),
)


def scan_message(body: str) -> list[str]:
    """Warning codes for a message of a dispute, in the order of ``CODES``, without repeats;
    an empty list when nothing suspicious was found."""
    message = _Message(body)
    return [code for code, rule in _RULES if rule(message)]


# --- counting ---------------------------------------------------------------------------------


class _Authored(Protocol):
    @property
    def author_id(self) -> str: ...

    @property
    def warnings(self) -> Sequence[str]: ...


class _HasMessages(Protocol):
    @property
    def seller_id(self) -> str: ...

    @property
    def messages(self) -> Sequence[_Authored]: ...


def count_warnings(messages: Iterable[_Authored], author_id: str) -> Counter[str]:
    """How many times each warning code was raised on the messages one user wrote."""
    counts: Counter[str] = Counter()
    for message in messages:
        if message.author_id == author_id:
            counts.update(message.warnings)
    return counts


def warnings_received(dispute: _HasMessages) -> Counter[str]:
    """The warnings the seller of a dispute received: each code, counted once per message of
    the seller's that raised it (for the metrics' ``warnings_received``)."""
    return count_warnings(dispute.messages, dispute.seller_id)
