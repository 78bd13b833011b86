"""The built-in risk_control plugin seen through the engine: what a customer gets back."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kefu
from kefu.plugins import risk_control
from kefu.plugins.pii import mask_pii

BOT = """
version: 1
bot: {name: 测试, threshold: 0.3}
entities:
  order_id: {builtin: order_id}
  phone: {builtin: mobile}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
  - name: hotline
    examples: [客服电话多少, 怎么联系你们, 联系方式是什么, 给个电话, 热线号码]
    responses: [请拨打客服专线 13812345678]
  - name: order_status
    examples: [我的订单到哪了, 查订单, 订单到哪了, 帮我查一下订单, 物流到哪了]
    slots:
      order_id: {entity: order_id, required: true, prompt: 请提供订单号}
    responses: ["订单 {order_id} 正在配送中"]
  - name: change_phone
    examples: [修改手机号, 换绑手机, 手机号改成, 我要改手机号]
    slots:
      phone: {entity: phone, required: true, prompt: 请提供新手机号}
    responses: ["已将手机号改为 {phone}"]
"""
REFUND = "好的，这就为您办理退款"
WORDS = "[傻逼, 草泥马, 诈骗, SB]"
ORDER_ID = "2024112712345678"  # passes the Luhn check, like a bank-card number
# Reads as a first-generation 15-digit ID number: 江苏 320102, born 1985-06-12, sequence 731.
ORDER_15 = "320102850612731"

MakeEngine = Callable[..., kefu.Engine]


@pytest.fixture
def make_engine(write_bot: Callable[..., Path]) -> MakeEngine:
    """``make_engine(settings, **options)``: the test bot with ``risk_control: <settings>``."""

    def make(settings: str, **options: Any) -> kefu.Engine:
        folder = write_bot(**{"bot.yaml": BOT + f"plugins:\n  risk_control: {settings}\n"})
        return kefu.Engine.from_path(folder, seed=0, **options)

    return make


class Clock:
    """A clock the test moves by hand (times are exact binary fractions)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def luhn_valid(number: str) -> bool:
    """Luhn as usually written: double every second digit from the right, add digit sums."""
    digits = [int(c) for c in reversed(number)]
    return sum(d if i % 2 == 0 else sum(divmod(2 * d, 10)) for i, d in enumerate(digits)) % 10 == 0


# -- verdicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "action", "handoff", "reason"),
    [
        ("block", "blocked", False, None),  # the warning, and the conversation goes on
        ("handoff", "handoff", True, "sensitive:傻逼"),  # the warning, and a human takes over
    ],
)
def test_verdict_block_and_handoff(
    make_engine: MakeEngine, verdict: str, action: str, handoff: bool, reason: str | None
) -> None:
    engine = make_engine(f"{{words: {WORDS}, verdict: {verdict}, reply: 请文明用语}}")
    reply = engine.reply("傻逼，我要退款", session_id="v")
    assert (reply.text, reply.action, reply.intent) == ("请文明用语", action, None)
    assert (reply.handoff, reply.handoff_reason) == (handoff, reason)
    assert reply.trace == ("blocked by risk_control: sensitive:傻逼",)
    # Blocked, the conversation carries on; handed off, the bot stays silent.
    after = engine.reply("我要退款", session_id="v")
    assert (after.action, after.text) == (("handed_off", "") if handoff else ("respond", REFUND))


def test_verdict_mask_lets_the_bot_answer_the_masked_text(make_engine: MakeEngine) -> None:
    engine = make_engine(f"{{words: {WORDS}, verdict: mask}}")
    seen: list[str] = []

    class Spy:
        @kefu.hookimpl
        def intent_matched(self, match: kefu.Match) -> None:
            seen.append(match.text)

    engine.register_plugin(Spy(), name="spy")
    try:
        reply = engine.reply("傻逼，我要退款", session_id="m")
    finally:
        engine.unregister_plugin("spy")
    assert (reply.text, reply.action, reply.intent) == (REFUND, "respond", "refund")
    assert seen == ["**，我要退款"]
    assert reply.trace == ("rewritten by risk_control",)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # 子 belongs to both 傻子 and 子弹: the whole of 傻子弹 is masked, not **弹.
        ("你这傻子弹，我要退款", "你这***，我要退款"),
        # Padding between overlapping words goes with them, as inside one word.
        ("傻 子*弹，我要退款", "***，我要退款"),
        # An overlap, then a word right after it: one run of five, where 弹 used to show.
        ("傻子弹头目，我要退款", "*****，我要退款"),
    ],
)
def test_verdict_mask_covers_overlapping_words(make_engine: MakeEngine, text: str, masked: str) -> None:
    engine = make_engine("{words: [傻子, 子弹, 头目], verdict: mask}")
    seen: list[str] = []

    class Spy:
        @kefu.hookimpl
        def intent_matched(self, match: kefu.Match) -> None:
            seen.append(match.text)

    engine.register_plugin(Spy(), name="spy")
    try:
        reply = engine.reply(text, session_id="m")
    finally:
        engine.unregister_plugin("spy")
    assert seen == [masked]
    assert (reply.text, reply.action) == (REFUND, "respond")


# -- evasion through the engine -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("你是傻 逼吗", "傻逼"),  # a space inside the word
        ("傻*逼客服", "傻逼"),  # a symbol inside the word
        ("你个ＳＢ", "SB"),  # full-width letters, reported as listed
        ("傻\u200b逼，退款", "傻逼"),  # a zero-width space
        ("草_泥_马", "草泥马"),  # padding after every character
        ("这是诈骗吧", "诈骗"),  # plainly written
    ],
)
def test_evasion_variants_are_blocked(make_engine: MakeEngine, text: str, word: str) -> None:
    engine = make_engine(f"{{words: {WORDS}}}")
    reply = engine.reply(text, session_id="e")
    assert (reply.text, reply.action) == (risk_control.DEFAULT_REPLY, "blocked")
    assert reply.trace == (f"blocked by risk_control: sensitive:{word}",)


@pytest.mark.parametrize(
    "text",
    [
        "我的USB接口坏了，我要退款",  # listed "sb" inside a Latin word
        "我要退款",  # nothing listed at all
        "傻等了三天，逼得我要退款",  # 傻 and 逼 with other words between them
    ],
)
def test_clean_messages_reach_the_bot(make_engine: MakeEngine, text: str) -> None:
    engine = make_engine(f"{{words: {WORDS}}}")
    reply = engine.reply(text, session_id="c")
    assert (reply.text, reply.action, reply.trace) == (REFUND, "respond", ())


@pytest.mark.parametrize(
    ("pinyin", "text", "word"),
    [
        (True, "cnm", "草泥马"),  # pinyin initials of a listed word
        (True, "你个SB，我要退款", "傻逼"),  # upper case, next to Chinese
        (True, "我的USB接口坏了，我要退款", None),  # initials only as a whole token
        (False, "cnm，我要退款", None),  # off by default
    ],
)
def test_pinyin_initials(make_engine: MakeEngine, pinyin: bool, text: str, word: str | None) -> None:
    pytest.importorskip("pypinyin")
    flag = "true" if pinyin else "false"
    engine = make_engine(f"{{words: [傻逼, 草泥马], pinyin_initials: {flag}}}")
    reply = engine.reply(text, session_id="p")
    if word is None:
        assert (reply.text, reply.action) == (REFUND, "respond")
    else:
        assert (reply.action, reply.trace) == ("blocked", (f"blocked by risk_control: sensitive:{word}",))


# -- a 10,000-word list ---------------------------------------------------------------------


def generated_words(count: int = 10_000, seed: int = 20240601) -> list[str]:
    """Random 2-4 character words over the CJK Unified Ideographs, fixed seed."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def test_ten_thousand_words_from_a_file_next_to_the_bot(
    write_bot: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = generated_words()
    settings = "{words: [诈骗], words_file: lists/sensitive.txt}"
    folder = write_bot(**{"bot.yaml": BOT + f"plugins:\n  risk_control: {settings}\n"})
    (folder / "lists").mkdir()
    (folder / "lists" / "sensitive.txt").write_text("# 生成的词表\n" + "\n".join(words), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the file is found next to the bot file, not in the cwd
    engine = kefu.Engine.from_path(folder / "bot.yaml", seed=0)

    blocked = {f"客服，{words[i]}！": words[i] for i in (0, 4321, 9999)} | {"这是诈骗吧": "诈骗"}
    clean = {"我要退款": REFUND, "客服电话多少": "请拨打客服专线 13812345678"}
    for text, word in blocked.items():
        assert [w for w in [*words, "诈骗"] if w in text] == [word]  # exactly one listed word
        reply = engine.reply(text, session_id="big")
        assert (reply.action, reply.trace) == ("blocked", (f"blocked by risk_control: sensitive:{word}",))
    for text, answer in clean.items():
        assert [w for w in words if w in text] == []  # the seed put none of them here
        assert engine.reply(text, session_id="big").text == answer


# -- rate limiting --------------------------------------------------------------------------


def test_rate_limit_bursts_refills_and_is_per_session(make_engine: MakeEngine) -> None:
    clock = Clock()
    engine = make_engine("{rate_limit: {per_second: 0.5, burst: 3}, rate_reply: 慢一点}", clock=clock)
    script = [
        (0.0, "a", "respond"),  # a burst of three is allowed
        (0.0, "a", "respond"),
        (0.0, "a", "respond"),
        (0.0, "a", "blocked"),  # the fourth at the same moment is not
        (0.0, "b", "respond"),  # another customer has a bucket of their own
        (1.5, "a", "blocked"),  # 0.75 of a token after 1.5 s
        (0.5, "a", "respond"),  # a whole token after 2 s
        (0.0, "a", "blocked"),
        (100.0, "a", "respond"),  # a long pause refills the bucket, but only up to the burst
        (0.0, "a", "respond"),
        (0.0, "a", "respond"),
        (0.0, "a", "blocked"),
    ]
    got = []
    for advance, session, _ in script:
        clock.now += advance
        reply = engine.reply("我要退款", session_id=session)
        got.append(reply.action)
        expected = REFUND if reply.action == "respond" else "慢一点"
        assert reply.text == expected
    assert got == [action for _, _, action in script]


def test_rate_limit_reply_and_trace(make_engine: MakeEngine) -> None:
    engine = make_engine("{rate_limit: {per_second: 1, burst: 1}}", clock=Clock())
    engine.reply("我要退款", session_id="r")
    reply = engine.reply("我要退款", session_id="r")
    assert (reply.text, reply.action, reply.trace) == (
        risk_control.DEFAULT_RATE_REPLY,
        "blocked",
        ("blocked by risk_control: rate_limit",),
    )


# -- personal data in replies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "text", "answer"),
    [
        # The shop's own number, written in its template, stays: masked, customers could
        # not call it.
        ("{}", "客服电话多少", "请拨打客服专线 13812345678"),
        # An echoed order number that looks like a bank card stays: echoing it is the point.
        ("{}", f"订单{ORDER_ID}到哪了", f"订单 {ORDER_ID} 正在配送中"),
        # An echoed mobile number is masked even though it is a slot value ...
        ("{}", "我要改手机号13987654321", "已将手机号改为 139****4321"),
        # ... unless it is the shop's own, which the bot gives out anyway.
        ("{}", "我要改手机号13812345678", "已将手机号改为 13812345678"),
        # Masking off.
        ("{mask_replies: false}", "客服电话多少", "请拨打客服专线 13812345678"),
    ],
)
def test_personal_numbers_in_replies(make_engine: MakeEngine, settings: str, text: str, answer: str) -> None:
    engine = make_engine(settings)
    assert engine.reply(text, session_id="pii").text == answer


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("nothing_to_cancel_reply", ["算了"]),  # a cancel word while the bot asked nothing
        ("give_up_reply", ["查订单", "不知道", "忘了", "找不到"]),  # the order question given up
    ],
)
def test_a_number_in_the_bots_own_replies_is_the_shops(
    write_bot: Callable[..., Path], key: str, said: list[str]
) -> None:
    # Masked like a customer's number, it could not be called.
    bot = BOT.replace("threshold: 0.3}", f"threshold: 0.3, {key}: '有事请拨 13700001111'}}")
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot + "plugins:\n  risk_control: {}\n"}), seed=0)
    assert [engine.reply(text, session_id="s").text for text in said][-1] == "有事请拨 13700001111"


@pytest.mark.parametrize("id_number", ["11010519491231002X", "11010519491231002x"])
def test_an_id_number_whose_check_digit_is_x_is_not_echoed_as_an_order_number(
    make_engine: MakeEngine, id_number: str
) -> None:
    # Its first 17 digits were taken for an order number and echoed back unmasked
    # ("订单 11010519491231002 正在配送中"): the X follows from them, so the whole ID leaked.
    engine = make_engine("{}")
    reply = engine.reply(f"订单{id_number}到哪了", session_id="id")
    assert "1231002" not in reply.text
    assert reply.text == "请提供订单号"


def test_the_shops_numbers_are_those_of_the_bot_now_serving(make_engine: MakeEngine) -> None:
    engine = make_engine("{}")
    bot = engine.spec.files[0]
    text = Path(bot).read_text(encoding="utf-8").replace("专线 13812345678", "专线 13900001111")
    Path(bot).write_text(text, encoding="utf-8")
    engine.reload()
    assert engine.reply("客服电话多少", session_id="new").text == "请拨打客服专线 13900001111"
    # The old hotline is no longer the shop's: echoed back, it is a customer's number.
    assert engine.reply("我要改手机号13812345678", session_id="old").text == "已将手机号改为 138****5678"


@pytest.mark.parametrize(
    "order",
    [
        ORDER_ID,
        # 15 digits are an order number the builtin finds; reading them as an ID number as
        # well must not mask the order the customer asked about.
        ORDER_15,
    ],
)
def test_an_order_number_echoed_from_an_open_context_stays_visible(
    write_bot: Callable[..., Path], order: str
) -> None:
    """docs/intents.md's follow-up ("订单 {order.order_id} 满99元包邮") sent ************5678:
    only the reply's own slots were kept, not those of the context it read."""
    bot = BOT.replace(
        '    responses: ["订单 {order_id} 正在配送中"]\n',
        '    responses: ["订单 {order_id} 正在配送中"]\n    contexts: {out: [order]}\n',
    )
    bot += (
        "  - name: fee_followup\n    examples: [那运费呢, 运费怎么算呢, 这单运费多少]\n"
        '    contexts: {in: [order]}\n    responses: ["订单 {order.order_id} 满99元包邮"]\n'
    )
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": bot}), seed=0)
    reply = engine.reply(f"订单{order}到哪了", session_id="c")
    assert (reply.slots, reply.text) == ({"order_id": order}, f"订单 {order} 正在配送中")
    assert engine.reply("那运费呢", session_id="c").text == f"订单 {order} 满99元包邮"


@pytest.mark.parametrize(
    ("slots", "masked"),
    [
        # Not a value the customer gave: an old ID number a backend wrote into the reply.
        ({}, "证件 320*********731 已核验，订单已发货"),
        # The same digits echoed as the order number the customer gave stay.
        ({"order_id": ORDER_15}, f"证件 {ORDER_15} 已核验，订单已发货"),
    ],
)
def test_a_15_digit_id_number_in_a_reply_is_masked_unless_echoed(slots: dict[str, str], masked: str) -> None:
    plugin = risk_control.RiskControl(None)
    text = f"证件 {ORDER_15} 已核验，订单已发货"
    reply = kefu.Reply(text=text, intent="order_status", confidence=1.0, action="respond", slots=slots)
    changed = plugin.response_built(reply, kefu.Session("s", 0.0))
    assert (changed.text if changed is not None else text) == masked


WAYBILL_BOT = """
version: 1
bot: {name: 测试, threshold: 0.3}
entities:
  waybill: {regex: '[0-9][0-9 Xx]{14,40}[0-9Xx]'}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的，这就为您办理退款]
  - name: waybill_status
    examples: [查运单, 运单到哪了, 帮我查运单, 快递到哪了, 查一下运单]
    slots:
      waybill: {entity: waybill, required: true, prompt: 请提供运单号}
    responses: ["运单 {waybill} 正在派送"]
plugins:
  risk_control: {}
"""


def gb11643_check(first17: str) -> str:
    """The ID check character computed with GB 11643's weights, not the plugin's code."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def test_the_numbers_below_are_what_they_claim() -> None:
    assert luhn_valid("6222021234567002138")  # 6222021234567002 138 reads as a 19-digit card
    assert luhn_valid("4111111111111111") and luhn_valid("1111111111111000")
    assert gb11643_check("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("waybill", "answer"),
    [
        # Read as a 19-digit card ending in 138, the value hid the mobile 138 1234 5678 and was
        # echoed whole; now the mobile's middle is masked (the card keeps its last 4 digits).
        ("6222021234567002 138 1234 5678", "运单 ***************2 138 **** 5678 正在派送"),
        # An ID number ending in X with digits after it is an ID number: masked, not echoed.
        ("11010519491231002X123", "运单 110***********002X123 正在派送"),
        ("11010519491231002X13812345678", "运单 110***********002X138****5678 正在派送"),
        # Still kept: a value whose every reading is a bank card (two overlapping cards here).
        ("4111 1111 1111 1111 1000", "运单 4111 1111 1111 1111 1000 正在派送"),
    ],
)
def test_an_echoed_value_holding_a_mobile_or_id_number_is_masked(
    write_bot: Callable[..., Path], waybill: str, answer: str
) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": WAYBILL_BOT}), seed=0)
    reply = engine.reply(f"查运单{waybill}", session_id="waybill")
    assert (reply.slots["waybill"], reply.text) == (waybill, answer)


@pytest.mark.parametrize(
    ("slots", "text", "masked"),
    [
        # The card value stays, but its last 3 digits and the next slot's 8 are a mobile
        # (138 1234 5678): masked piece by piece around the card, the mobile went out whole.
        (
            {"card": "4111 1111 1111 1111 138", "extension": "1234 5678"},
            "卡 4111 1111 1111 1111 138 1234 5678",
            "卡 4111 1111 1111 1111 138 **** 5678",
        ),
        # A kept value inside a longer digit run is no longer that value: the run is a card.
        (
            {"order_id": "2024112712345678"},
            "编号 02024112712345678",
            "编号 " + "*" * 13 + "5678",
        ),
    ],
)
def test_a_number_running_out_of_a_kept_value_is_masked(
    slots: dict[str, str], text: str, masked: str
) -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111111138")
    assert luhn_valid("02024112712345678")
    plugin = risk_control.RiskControl(None)
    reply = kefu.Reply(text=text, intent="card", confidence=1.0, action="respond", slots=slots)
    changed = plugin.response_built(reply, kefu.Session("s", 0.0))
    assert changed is not None and changed.text == masked


def test_the_echoed_order_number_would_be_masked_as_a_bank_card() -> None:
    # What makes the slot exemption above necessary.
    assert luhn_valid(ORDER_ID)
    assert mask_pii(f"订单 {ORDER_ID}") == "订单 ************5678"


def test_mask_logs_masks_personal_numbers_in_kefu_log_records(
    make_engine: MakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    make_engine("{mask_logs: true}")
    with caplog.at_level(logging.INFO, logger="kefu"):
        logging.getLogger("kefu").info("用户手机 %s", "13812345678")
        logging.getLogger("kefu.manager").info("用户手机 %s", "13812345678")
        logging.getLogger("kefu").info("旧身份证 %s", "110105491231002")
    assert [r.getMessage() for r in caplog.records] == [
        *["用户手机 138****5678"] * 2,
        "旧身份证 110*********002",  # a first-generation 15-digit number: was logged whole
    ]


class QuotingParser:
    """A plugin that fails quoting the message it was handed, as many exceptions do."""

    @kefu.hookimpl
    def message_received(self, message: kefu.Message) -> None:
        """Fail on every message."""
        raise ValueError(f"无法解析 {message.text}")


def test_mask_logs_masks_personal_numbers_in_a_logged_traceback(
    make_engine: MakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine("{mask_logs: true}")
    engine.register_plugin(QuotingParser(), name="parser")
    with caplog.at_level(logging.ERROR, logger="kefu"):
        engine.reply("手机 13812345678 卡号 4111 1111 1111 1111", session_id="t")
    # The traceback kefu logs for the failing plugin printed both numbers in full.
    [record] = caplog.records
    assert record.getMessage() == "plugin 'parser' raised in message_received; skipped"
    assert caplog.text.rstrip().endswith("ValueError: 无法解析 手机 138****5678 卡号 **** **** **** 1111")
    assert logging.Formatter().format(record).endswith("138****5678 卡号 **** **** **** 1111")


# -- failure --------------------------------------------------------------------------------


def test_a_failing_word_filter_blocks_the_message(
    make_engine: MakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"{{words: {WORDS}}}")

    def broken(text: str) -> bool:
        raise RuntimeError("word filter broke")

    monkeypatch.setattr(engine.plugin("risk_control").words, "contains", broken)
    reply = engine.reply("我要退款", session_id="f")
    assert (reply.text, reply.action, reply.intent) == ("", "blocked", None)
    assert reply.trace == ("blocked by risk_control: plugin risk_control failed",)
    assert engine.plugin_errors == {"risk_control": 1}


def test_a_failing_reply_mask_withholds_the_reply(
    make_engine: MakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine("{}")

    def broken(text: str) -> str:
        raise RuntimeError("masking broke")

    monkeypatch.setattr("kefu.plugins.risk_control.mask_pii", broken)
    reply = engine.reply("客服电话多少", session_id="f")
    assert (reply.text, reply.action) == ("", "blocked")  # the phone number never goes out
    assert reply.trace[-1] == "withheld: risk_control failed"
    assert engine.plugin_errors == {"risk_control": 1}


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plugin", "setting", "message"),
    [
        # one word written without a list
        ("risk_control", "words: 诈骗", "`plugins.risk_control.words` must be a list of text, not text"),
        (
            "risk_control",
            "words: 3",
            "`plugins.risk_control.words` must be a list of text, not a whole number",
        ),
        # an emoji folds to padding: the word could never match
        (
            "risk_control",
            'words: [诈骗, "🤬"]',
            "`plugins.risk_control.words[1]`: word '🤬' has no letter or digit, so it can never match",
        ),
        # an empty reply was sent to customers as the text "None"
        (
            "risk_control",
            "reply:",
            "`plugins.risk_control.reply` is empty; give a value or leave the key out",
        ),
        (
            "risk_control",
            "rate_reply:",
            "`plugins.risk_control.rate_reply` is empty; give a value or leave the key out",
        ),
        (
            "risk_control",
            "verdict: foo",
            "`plugins.risk_control.verdict` must be one of block, mask, handoff (got 'foo')",
        ),
        (
            "risk_control",
            "rate_limit: {per_second: fast}",
            "`plugins.risk_control.rate_limit.per_second` must be a number, not text",
        ),
        # NaN tokens never reach 1: every message was blocked as too fast
        (
            "risk_control",
            "rate_limit: {per_second: 1, burst: .nan}",
            "`plugins.risk_control.rate_limit.burst` must be a finite number >= 1 (got nan)",
        ),
        (
            "risk_control",
            "rate_limit: {per_second: .inf}",
            "`plugins.risk_control.rate_limit.per_second` must be a finite number >= 0 (got inf)",
        ),
        (
            "risk_control",
            "rate_limit: {per_second: 0}",
            "`plugins.risk_control.rate_limit.per_second` must be greater than 0",
        ),
        (
            "risk_control",
            "rate_limit: 5",
            "`plugins.risk_control.rate_limit` must be a mapping, not a whole number",
        ),
        (
            "risk_control",
            "max_gap: 2.5",
            "`plugins.risk_control.max_gap` must be a whole number, not a decimal number",
        ),
        (
            "risk_control",
            "max_gap: true",
            "`plugins.risk_control.max_gap` must be a whole number, not true/false",
        ),
        # building the filter took minutes
        (
            "risk_control",
            "max_gap: 100000000",
            "`plugins.risk_control.max_gap` must be between 0 and 10 (got 100000000)",
        ),
        # the text 'false' was true
        (
            "risk_control",
            "mask_replies: 'false'",
            "`plugins.risk_control.mask_replies` must be true or false, not text",
        ),
        (
            "risk_control",
            "mask_logs: 1",
            "`plugins.risk_control.mask_logs` must be true or false, not a whole number",
        ),
        (
            "risk_control",
            "words_file: missing.txt",
            "{bot}/missing.txt:1: cannot read word list: No such file or directory",
        ),
        # a misspelt key was ignored
        (
            "risk_control",
            "word: [诈骗]",
            "unknown key 'word' (did you mean 'words'?); known: mask_logs, mask_replies, max_gap, "
            "pinyin_initials, rate_limit, rate_reply, reply, verdict, words, words_file",
        ),
        (
            "handoff_keywords",
            "keywords: 投诉",
            "`plugins.handoff_keywords.keywords` must be a list of text, not text",
        ),
        # normalizing the message removes the emoji, so the keyword never matched
        (
            "handoff_keywords",
            'keywords: [投诉, "😡"]',
            "`plugins.handoff_keywords.keywords[1]`: keyword '😡' has no letter or digit,"
            " so it can never match",
        ),
        (
            "handoff_keywords",
            "reply:",
            "`plugins.handoff_keywords.reply` is empty; give a value or leave the key out",
        ),
        ("default_fallback", "x: 1", "plugin 'default_fallback' takes no settings"),
    ],
)
def test_bad_settings_of_bundled_plugins_are_reported_with_file_and_line(
    write_bot: Callable[..., Path], plugin: str, setting: str, message: str
) -> None:
    settings = f"plugins:\n  {plugin}:\n    {setting}\n"  # block style: one line per setting
    folder = write_bot(**{"bot.yaml": BOT + settings})
    file = folder / "bot.yaml"
    line = file.read_text(encoding="utf-8").splitlines().index(f"    {setting}") + 1
    with pytest.raises(kefu.SpecError) as caught:
        kefu.load_spec(folder)
    assert str(caught.value) == f"{file}:{line}: {message.replace('{bot}', str(folder))}"


def test_the_engine_does_not_start_without_its_risk_control(make_engine: MakeEngine) -> None:
    # Before, the plugin was dropped with one log line and "诈骗" was served.
    with pytest.raises(kefu.SpecError, match=re.escape("`plugins.risk_control.words` must be")):
        make_engine("{words: 诈骗}")


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"reply": None}, "`plugins.risk_control.reply` is empty; give a value or leave the key out"),
        (
            {"rate_limit": {"burst": float("nan")}},
            "`plugins.risk_control.rate_limit.burst` must be a finite number >= 1 (got nan)",
        ),
        ({"max_gap": 10**8}, "`plugins.risk_control.max_gap` must be between 0 and 10 (got 100000000)"),
        ({"mask_replies": "false"}, "`plugins.risk_control.mask_replies` must be true or false, not text"),
    ],
)
def test_settings_given_in_code_are_checked_too(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(error)}$"):
        risk_control.make_plugin(settings)


def test_good_settings_are_converted_as_written(write_bot: Callable[..., Path]) -> None:
    folder = write_bot(**{"words.txt": "诈骗\n", "bot.yaml": BOT})
    plugin = risk_control.make_plugin(
        {
            "words": ["傻逼"],
            "words_file": "words.txt",
            "verdict": "handoff",
            "reply": 12315,  # a number is text, as everywhere in a bot file
            "max_gap": 10,
            "rate_limit": {"per_second": 2, "burst": 3},
            "mask_replies": False,
            "mask_logs": False,
            "_base_dir": str(folder),
        }
    )
    assert plugin.words is not None and len(plugin.words) == 2 and plugin.words.max_gap == 10
    assert (plugin.verdict, plugin.reply, plugin.rate_reply) == (
        "handoff",
        "12315",
        risk_control.DEFAULT_RATE_REPLY,
    )
    assert plugin.rate_limit == risk_control.RateLimit(2.0, 3.0)
    assert plugin.mask_replies is False
