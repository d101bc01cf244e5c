"""Scam and pressure detection in dispute messages (fairdeal.domain.scams): hand-picked
cases for each disguise and each trick. The measured figures come from the labelled set in
tests/unit/scams/."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from fairdeal.domain.scams import (
    CHANGE_REASON_NOT_NEEDED,
    CLOSE_FOR_PROMISE,
    CODES,
    FEEDBACK_PRESSURE,
    PAY_OUTSIDE_PLATFORM,
    RETURN_OUTSIDE_SOLUTION,
    TOKEN_PRICE_REORDER,
    WARNING_TEXT,
    scan_message,
    warnings_received,
)

# (warning, language, message): each message must produce exactly that one warning.
POSITIVE = [
    # --- pay or refund outside the platform ---
    (PAY_OUTSIDE_PLATFORM, "en", "I will refund you via PayPal, please give me your email."),
    (PAY_OUTSIDE_PLATFORM, "en", "Please pay me by Western Union, it is faster for both of us"),
    (PAY_OUTSIDE_PLATFORM, "en", "I can send you the money directly, no need for the platform."),
    (PAY_OUTSIDE_PLATFORM, "en", "pay-pal is better, friend"),
    (PAY_OUTSIDE_PLATFORM, "en", "Let's settle outside the platform: 10 USD by bank transfer"),
    (PAY_OUTSIDE_PLATFORM, "en", "Tell me your card number and I refund you today"),
    (PAY_OUTSIDE_PLATFORM, "en", "We can do WeChat Pay or Alipay, whatever you like"),
    (PAY_OUTSIDE_PLATFORM, "ru", "Верну деньги через PayPal, напишите ваш email"),
    (PAY_OUTSIDE_PLATFORM, "ru", "Давайте я переведу вам деньги на карту, напишите номер карты"),
    (PAY_OUTSIDE_PLATFORM, "ru", "Оплатите напрямую на мою карту, так дешевле"),
    (PAY_OUTSIDE_PLATFORM, "ru", "Вернём вам деньги через пейпал, без площадки"),
    (PAY_OUTSIDE_PLATFORM, "ru", "Пришлите реквизиты, мы всё вернём в обход площадки"),
    (PAY_OUTSIDE_PLATFORM, "zh", "我可以通过贝宝给你退款"),
    (PAY_OUTSIDE_PLATFORM, "zh", "请加我微信，我用微信转账给你"),
    (PAY_OUTSIDE_PLATFORM, "zh", "我们私下退款给你，这样更快"),
    (PAY_OUTSIDE_PLATFORM, "zh", "把你的卡号发给我，我直接打款"),
    # --- close the dispute for a promise ---
    (CLOSE_FOR_PROMISE, "en", "Please close the dispute and I will send you a new one."),
    (CLOSE_FOR_PROMISE, "en", "If you cancel the dispute I promise to refund you 50%"),
    (CLOSE_FOR_PROMISE, "en", "Once the dispute is closed, we will resend the item for free."),
    (CLOSE_FOR_PROMISE, "en", "Dear pls CLOSE   DISPUTE, we give you big discount next time"),
    (CLOSE_FOR_PROMISE, "ru", "Закройте спор, пожалуйста, и я вышлю вам новый товар"),
    (CLOSE_FOR_PROMISE, "ru", "Отмените диспут, обещаю вернуть деньги"),
    (CLOSE_FOR_PROMISE, "ru", "После закрытия спора мы отправим замену бесплатно"),
    (CLOSE_FOR_PROMISE, "zh", "请关闭纠纷，我们会给你补发一个新的"),
    (CLOSE_FOR_PROMISE, "zh", "取消纠纷后我保证给你退款"),
    (CLOSE_FOR_PROMISE, "zh", "亲，撤销一下投诉吧，下次给你优惠"),
    # --- re-order for a token price ---
    (TOKEN_PRICE_REORDER, "en", "Please place a new order for $0.01 and I will ship the item"),
    (TOKEN_PRICE_REORDER, "en", "Reorder the item at a token price, 1 cent, we ship immediately"),
    (TOKEN_PRICE_REORDER, "en", "Buy it again from this special link, price is 0.01 USD"),
    (TOKEN_PRICE_REORDER, "en", "make another order of US $ 0.10, then we deliver"),
    (TOKEN_PRICE_REORDER, "ru", "Оформите новый заказ за 1 рубль, и я отправлю товар"),
    (TOKEN_PRICE_REORDER, "ru", "Сделайте заказ за 0,01$ и мы пришлем вам товар"),
    (TOKEN_PRICE_REORDER, "ru", "Перезакажите товар по символической цене"),
    (TOKEN_PRICE_REORDER, "zh", "请重新下单，0.01美元，我们马上发货"),
    (TOKEN_PRICE_REORDER, "zh", "你拍一单一分钱的链接，我们发给你"),
    (TOKEN_PRICE_REORDER, "zh", "麻烦补拍一个0.01的链接"),
    # --- change the reason to "not needed" ---
    (CHANGE_REASON_NOT_NEEDED, "en", 'Could you change the reason to "not needed"? Then I accept'),
    (CHANGE_REASON_NOT_NEEDED, "en", "Please select the reason “I don’t need it anymore”"),
    (CHANGE_REASON_NOT_NEEDED, "en", "Modify dispute reason to: no longer needed, thank you"),
    (CHANGE_REASON_NOT_NEEDED, "en", "pls switch the reason, say you changed your mind"),
    (CHANGE_REASON_NOT_NEEDED, "ru", "Измените причину спора на «товар больше не нужен»"),
    (CHANGE_REASON_NOT_NEEDED, "ru", 'Поменяйте причину на "передумал", тогда я соглашусь'),
    (CHANGE_REASON_NOT_NEEDED, "ru", "Укажите причину: личные причины, товар не нужен"),
    (CHANGE_REASON_NOT_NEEDED, "zh", "请把纠纷原因改成不需要了"),
    (CHANGE_REASON_NOT_NEEDED, "zh", "麻烦修改一下原因，选个人原因"),
    (CHANGE_REASON_NOT_NEEDED, "zh", "原因换成不想要了就可以"),
    # --- five stars or a removed review for money ---
    (FEEDBACK_PRESSURE, "en", "Remove the 1-star review and I will refund you 20 dollars"),
    (FEEDBACK_PRESSURE, "en", "5 stars please, then the refund is yours"),
    (FEEDBACK_PRESSURE, "ru", "Удалите плохой отзыв, и мы вернём деньги"),
    (FEEDBACK_PRESSURE, "ru", "Поставьте пятёрку, а мы вышлем подарок"),
    (FEEDBACK_PRESSURE, "zh", "给个好评，我们马上退款"),
    (FEEDBACK_PRESSURE, "zh", "差评删了给你返现"),
    # --- send the item back outside a return solution ---
    (RETURN_OUTSIDE_SOLUTION, "en", "Mail the item back to our warehouse first, then refund"),
    (RETURN_OUTSIDE_SOLUTION, "en", "Just post it back to me, I refund when it arrives"),
    (RETURN_OUTSIDE_SOLUTION, "ru", "Отправьте товар обратно почтой, потом вернём деньги"),
    (RETURN_OUTSIDE_SOLUTION, "ru", "Верните товар на наш склад, деньги после проверки"),
    (RETURN_OUTSIDE_SOLUTION, "zh", "请先把商品寄回来，收到后退款"),
    (RETURN_OUTSIDE_SOLUTION, "zh", "自己寄回仓库，我们检查后退钱"),
]

# Ordinary messages from a seller: none of them may raise a warning.
INNOCENT = [
    ("en", "I shipped it yesterday, tracking number is LP00123456789CN"),
    ("en", "Please send a photo of the damage"),
    ("en", "Sorry for the problem. I can offer a partial refund of $5 through the dispute."),
    ("en", "You don't need to return the item, I accept refund only."),
    ("en", "Please don't close the dispute yet, I will check with the warehouse and refund."),
    ("en", "The refund will go back to your card within 10 days."),
    ("en", "The reason you chose is fine, we will send the refund in the dispute."),
    ("en", "Your order was paid $1,000 and the new price list is attached."),
    ("en", "We will send it directly to your address by express."),
    ("en", "Please close the window and open the dispute page again."),
    ("ru", "Я отправил посылку вчера, трек-номер LP123456789CN"),
    ("ru", "Пришлите, пожалуйста, фото повреждения"),
    ("ru", "Деньги вернутся на вашу карту в течение 10 дней"),
    ("ru", "Вам не нужно отправлять товар обратно, оставьте его себе"),
    ("ru", "Не закрывайте спор, мы вернём деньги через площадку"),
    ("ru", "Ваш заказ стоит 11 рублей доставки, посылка уже в пути"),
    ("zh", "我昨天已经发货了，物流单号是LP123456789CN"),
    ("zh", "请发一张损坏的照片给我们"),
    ("zh", "退款会退回您的银行卡"),
    ("zh", "原因是运输损坏，你不需要退货"),
    ("zh", "不要关闭纠纷，我们会通过平台给你退款"),
    ("zh", "包裹在海关，请耐心等待十一天"),
    ("es", "Le envié el paquete ayer, aquí está el número de seguimiento."),
    ("en", ""),
]


@pytest.mark.parametrize(
    ("code", "language", "message"),
    POSITIVE,
    ids=[f"{code}-{language}-{n}" for n, (code, language, _) in enumerate(POSITIVE)],
)
def test_scam_message_is_flagged(code: str, language: str, message: str) -> None:
    assert scan_message(message) == [code], (language, message)


@pytest.mark.parametrize(
    ("language", "message"),
    INNOCENT,
    ids=[f"{language}-{n}" for n, (language, _) in enumerate(INNOCENT)],
)
def test_innocent_message_is_not_flagged(language: str, message: str) -> None:
    assert scan_message(message) == [], (language, message)


def test_a_message_may_carry_several_tricks() -> None:
    message = "Withdraw your claim and give 5 stars, we send again same item"
    assert scan_message(message) == [CLOSE_FOR_PROMISE, FEEDBACK_PRESSURE]


def test_every_warning_has_examples_in_three_languages() -> None:
    for code in CODES:
        languages = {language for c, language, _ in POSITIVE if c == code}
        assert languages >= {"en", "ru", "zh"}, code


def test_several_warnings_come_back_in_a_fixed_order() -> None:
    message = (
        "Please close the dispute, I promise to send again. Or reorder for $0.01. "
        "Or I refund you by PayPal. Or change the reason to not needed. "
        "Delete the bad review and I pay you 5 dollars. "
        "Or mail the item back to my address first, then I refund."
    )
    assert scan_message(message) == list(CODES)
    assert CODES == (
        PAY_OUTSIDE_PLATFORM,
        CLOSE_FOR_PROMISE,
        FEEDBACK_PRESSURE,
        TOKEN_PRICE_REORDER,
        CHANGE_REASON_NOT_NEEDED,
        RETURN_OUTSIDE_SOLUTION,
    )


def test_each_warning_is_reported_once() -> None:
    assert scan_message("PayPal PayPal PayPal, Western Union too") == [PAY_OUTSIDE_PLATFORM]


@pytest.mark.parametrize(
    "message",
    [
        "I WILL REFUND YOU BY PAYPAL",
        "refund by p a y p a l",
        "refund by p.a.y.p.a.l",
        "refund by pay\u200bpal",
        "ＰａｙＰａｌ ｐｌｅａｓｅ",
        "refund by\u00a0\u00a0PayPal",
        "refund by P-a-y-P-a-l",
        "refund by p4yp4l",
        "refund by paypa1",
        "refund by рaypal",  # a Cyrillic "р" among Latin letters
        "refund by pay pal",
        "refund by Pay-Pal",
        "refund by paypall",
        "refund by Western Unoin",
        "верну через пейпал",
        "верну через пеи пал",
        "верну через ВестернЮнион",
        "верну на тинькоф",
        "верну в биткоинах",
        "vernu dengi cherez pei pal",
        "我用 p a y p a l 退你",
        "我用支 付 宝退你",
    ],
)
def test_case_spacing_and_lookalikes_do_not_hide_a_phrase(message: str) -> None:
    assert scan_message(message) == [PAY_OUTSIDE_PLATFORM]


def test_full_width_token_price() -> None:
    assert scan_message("请重新下单，价格＄０．０１") == [TOKEN_PRICE_REORDER]


def test_a_token_price_without_a_reorder_is_not_flagged() -> None:
    assert scan_message("The shipping insurance costs $0.50 per parcel.") == []


def test_a_close_request_without_a_promise_is_not_flagged() -> None:
    assert scan_message("Please close the dispute.") == []


@pytest.mark.parametrize(
    ("message", "codes"),
    [
        # Russian written in Latin letters.
        ("zakroyte spor, vyshlem zamenu besplatno", [CLOSE_FOR_PROMISE]),
        ("vernite tovar po pochte snachala, potom dengi", [RETURN_OUTSIDE_SOLUTION]),
        ("pomenyayte prichinu na ne nuzhen", [CHANGE_REASON_NOT_NEEDED]),
        # Numbers written out.
        ("Please reorder for one cent, we ship again", [TOKEN_PRICE_REORDER]),
        ("Оформите новый заказ за копейку", [TOKEN_PRICE_REORDER]),
        ("重新下单一分钱，我们补发", [TOKEN_PRICE_REORDER]),
        ("Сделайте заказ за 1 рубль, отправим", [TOKEN_PRICE_REORDER]),
        ("Place a new order at 0,01 and we send", [TOKEN_PRICE_REORDER]),
        # Leetspeak in the action, mixed languages.
        ("pls c1ose d1spute, we send new one", [CLOSE_FOR_PROMISE]),
        ("Please 关闭纠纷，we send new one 马上", [CLOSE_FOR_PROMISE]),
    ],
)
def test_transliteration_numbers_and_mixing(message: str, codes: list[str]) -> None:
    assert scan_message(message) == codes


@pytest.mark.parametrize(
    "message",
    [
        # The issue's own examples of innocent mentions.
        "I paid with PayPal on your site",
        "I'll leave 5 stars if it works",
        "the price was 0.01 off",
        "I'll return the item through the return solution",
        "why did you choose this reason?",
        "the platform will refund me",
        "How long does the refund take?",
        # Negations, and a buyer quoting the warning or reporting the trick.
        "I will NOT pay outside the platform",
        "never close the dispute for a promise",
        "Я не буду закрывать спор за обещание новой посылки",
        "我不会为了补发关闭纠纷",
        "The seller asked me to pay on PayPal, is that allowed?",
        "Продавец предлагает перезаказать за копейку, это мошенничество?",
        "卖家让我一分钱重新下单，这是骗局吧？",
        "Paying outside the platform is not safe.",
        "Thanks for the 5 stars last time, sorry about this order.",
        "I will close the dispute once the platform refunds me.",
    ],
)
def test_innocent_mentions_stay_clean(message: str) -> None:
    assert scan_message(message) == []


@dataclass
class _Msg:
    author_id: str
    warnings: list[str]


@dataclass
class _Dispute:
    seller_id: str
    messages: list[_Msg] = field(default_factory=list)


def test_warnings_received_counts_the_sellers_warned_messages() -> None:
    dispute = _Dispute(
        "seller-1",
        [
            _Msg("seller-1", [PAY_OUTSIDE_PLATFORM, CLOSE_FOR_PROMISE]),
            _Msg("buyer-1", [CLOSE_FOR_PROMISE]),
            _Msg("seller-1", [PAY_OUTSIDE_PLATFORM]),
            _Msg("seller-1", []),
        ],
    )
    assert warnings_received(dispute) == Counter({PAY_OUTSIDE_PLATFORM: 2, CLOSE_FOR_PROMISE: 1})
    assert warnings_received(_Dispute("seller-1")) == Counter()


def test_warning_text_explains_every_code_in_one_sentence() -> None:
    assert set(WARNING_TEXT) == set(CODES)
    for code, text in WARNING_TEXT.items():
        assert text.endswith("."), code
        assert ". " not in text, code
        assert len(text) < 200, code
    assert "only an accepted solution moves money" in WARNING_TEXT[CLOSE_FOR_PROMISE]
