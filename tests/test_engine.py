"""The Engine API on the demo bot: matching, replies, and input that must never crash."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kefu
from kefu.runtime import cached_model_dir
from kefu.spec import BotSettings, MatcherSettings, NlpSettings


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的快递到哪了", "order_status"),  # the README's example
        ("怎么退货啊", "return_request"),
        ("转人工", "human"),
        ("你好", "greeting"),
        ("谢谢你", "thanks"),
        # a bare "yes" asks nothing: it got the 正品 answer, and 对 the wrong-item apology
        ("是的", "acknowledge"),
        ("对", "acknowledge"),
        ("嗯 好的", "acknowledge"),  # acknowledgements strung together
        ("可以的", "acknowledge"),
    ],
)
def test_match_names_the_demo_intent(demo_engine: kefu.Engine, text: str, intent: str) -> None:
    match = demo_engine.match(text)
    assert match.intent == intent
    assert match.candidates[0].intent == intent
    assert 0.0 < match.confidence <= 1.0


@pytest.mark.parametrize("text", ["今天股市怎么样", "帮我写一首关于秋天的诗", "asdkjh qweoiu zxcmn"])
def test_out_of_scope_text_falls_back(demo_engine: kefu.Engine, text: str) -> None:
    assert demo_engine.match(text).intent is None
    reply = demo_engine.reply(text, session_id=f"oos-{text}")
    assert reply.action == "fallback"
    assert reply.text in demo_engine.spec.settings.fallback


@pytest.mark.parametrize(
    "text",
    # no letters or digits at all, or only characters the bot never saw
    ["😀", "", "？？？", "\x00", "   ", "犇", "犇犇 犇", "こんにちは", "Zq"],
)
def test_a_message_with_nothing_the_bot_knows_falls_back_even_at_a_low_threshold(
    write_bot: Callable[..., Path], text: str
) -> None:
    # Only the padding spaces were left to score, and every example has them: the bot
    # asked "您是想问：1. 我要退款 2. 转人工" about an emoji, or about 犇.
    bot = write_bot(**{"bot.yaml": LOW_THRESHOLD_BOT})
    engine = kefu.Engine.from_path(bot)
    assert engine.match(text).candidates == ()
    assert engine.reply(text, session_id="s").action == "fallback"
    # One character the bot knows is enough to be judged again.
    assert engine.match(f"{text}退").candidates[0].intent == "refund"


KEYWORD_BOT = """version: 1
bot: {name: s, threshold: 0.7}
intents:
  - name: promotion
    examples: [有什么活动, 最近有优惠吗]
    responses: ["活动"]
    keywords: [618, vip, 转人工, 价保]
  - name: weather
    examples: [今天天气怎么样, 明天下雨吗]
    responses: ["天气"]
"""


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("618买什么划算", "keyword:618"),
        ("今年618", "keyword:618"),
        ("vip天气", "keyword:vip"),
        ("转人工吧", "keyword:转人工"),
        # nor is a keyword read across a comma: 价，保质期 does not ask about 价保
        ("这个价，保质期多久", None),
        # inside a longer number or Latin word, a keyword is not what the customer said
        ("订单2023061812345天气", None),
        ("svip天气", None),
        ("vipx天气", None),
    ],
)
def test_keywords_with_latin_or_digit_edges_match_whole_words_only(
    write_bot: Callable[..., Path], text: str, rule: str | None
) -> None:
    # The order number 2023061812345 raised the promotion intent through its keyword 618,
    # which the hand-off keywords plugin and risk control never did.
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": KEYWORD_BOT}))
    match = engine.match(text)
    assert match.rule == rule
    assert (match.intent == "promotion") == (rule is not None)


LOW_THRESHOLD_BOT = """version: 1
bot: {name: s, threshold: 0.3, fallback: ["抱歉"]}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱啊]
    responses: ["退款"]
  - name: human
    examples: [转人工, 人工客服]
    action: handoff
"""


BAD_INPUTS = [
    pytest.param("", id="empty"),
    pytest.param("   \t\n  ", id="whitespace"),
    pytest.param("订单" * 50_000, id="100k-chars"),
    pytest.param("😀😀🙏🏻👍", id="emoji-only"),
    pytest.param("\x00\x01\x07\x1b[31m退款\x7f", id="control-chars"),
    pytest.param("我要\ud800退款\udfff", id="lone-surrogates"),
    pytest.param("iPhone15 Pro 256G 有货吗？？？ＡＢＣ１２３", id="mixed-width"),
    pytest.param("1" * 10_000, id="10k-digits"),
    pytest.param("\u202e\u200b\ufeff", id="invisible-only"),
]


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_gets_a_reply_not_an_exception(demo_engine: kefu.Engine, text: str) -> None:
    reply = demo_engine.reply(text, session_id="bad-input")
    assert isinstance(reply, kefu.Reply)
    assert reply.action in {"fallback", "respond", "prompt", "clarify", "handoff", "handed_off"}
    session = demo_engine.session("bad-input")
    assert session is not None
    # The kept transcript holds the message cut to the configured maximum length.
    assert len(session.history[-1][1]) <= demo_engine.spec.settings.max_input_length
    demo_engine.end_session("bad-input")


def test_text_longer_than_the_limit_is_truncated_before_matching(demo_engine: kefu.Engine) -> None:
    limit = demo_engine.spec.settings.max_input_length
    padded = "我的快递到哪了" + "啊" * (limit * 3)
    assert (
        demo_engine.match(padded).candidates[0].intent
        == demo_engine.match(padded[:limit]).candidates[0].intent
    )


@pytest.mark.parametrize(("texts", "n_jobs", "workers"), [(4_000, 10**6, 2), (9_999, 3, 3), (3_999, 8, None)])
def test_match_many_starts_no_more_workers_than_it_has_shares_of_texts(
    demo_engine: kefu.Engine, in_process: list[int], texts: int, n_jobs: int, workers: int | None
) -> None:
    messages = ["我要退款", "几天能发货", "你好"] * (texts // 3) + ["转人工"] * (texts % 3)
    matches = demo_engine.match_many(messages, n_jobs=n_jobs)
    assert [m.intent for m in matches] == [demo_engine.match(t).intent for t in messages]
    assert in_process == ([] if workers is None else [workers])  # None: under two shares, in-process


def test_match_many_over_workers_serves_a_bot_built_in_code(in_process: list[int]) -> None:
    """Such a bot has no files and no fingerprint: its cache folder was kefu's "models"
    folder itself, shared by every such bot (the second bot's workers answered with the
    first bot's model) or refused by save_model when the cache held other models."""
    refund, shipping = ("我要退款", "怎么退钱", "退款多久到账"), ("什么时候发货", "快递到哪了", "几天能到")
    messages = ["退款", "发货了吗"] * 2_000
    for first, second in [(refund, shipping), (shipping, refund)]:  # the same texts, names swapped
        intents = (kefu.IntentSpec("refund", first), kefu.IntentSpec("shipping", second))
        spec = kefu.BotSpec(BotSettings(), NlpSettings(), MatcherSettings(), (), intents)
        engine = kefu.Engine(kefu.train(spec), builtin_plugins=(), load_entry_points=False)
        matches = engine.match_many(messages, n_jobs=2)
        assert [m.intent for m in matches] == [engine.match(t).intent for t in messages]
    assert cached_model_dir(spec).parent.name == "models"


def test_a_damaged_cache_entry_is_rebuilt_not_kept(
    write_bot: Callable[..., Path], in_process: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """save_model refused to replace the damaged folder ("it holds ", no names), so every
    start retrained, and match_many's workers loaded the damaged folder and failed."""
    bot = write_bot(**{"bot.yaml": LOW_THRESHOLD_BOT})
    cached = cached_model_dir(kefu.load_spec(bot))
    kefu.Engine.from_path(bot)
    (cached / "model.json").write_text("[", encoding="utf-8")
    with caplog.at_level("WARNING"):
        engine = kefu.Engine.from_path(bot, builtin_plugins=(), load_entry_points=False)
    assert "refusing to replace" not in caplog.text
    assert kefu.load_model(cached, bot=bot).matcher.intents == engine.model.matcher.intents  # rebuilt
    (cached / "model.json").write_text("[", encoding="utf-8")  # damaged while serving
    messages = ["我要退款", "转人工"] * 2_000
    assert [m.intent for m in engine.match_many(messages, n_jobs=2)] == ["refund", "human"] * 2_000
    assert in_process == [2, 2]  # the damaged copy failed the first run; it was written again


def test_one_context_as_a_str_is_that_context_not_its_characters(demo_engine: kefu.Engine) -> None:
    assert demo_engine.match("那运费呢").intent is None  # a follow-up: needs the "order" context
    expected = demo_engine.match("那运费呢", contexts=("order",))
    assert expected.intent == "shipping_fee_followup"
    assert demo_engine.match("那运费呢", contexts="order") == expected  # was {"o", "r", "d", "e"}
    assert demo_engine.match("那运费呢", contexts=None) == demo_engine.match("那运费呢")


def test_library_calls_with_the_wrong_kind_of_argument_say_what_is_wrong(demo_engine: kefu.Engine) -> None:
    with pytest.raises(TypeError, match="match_many takes a list of texts, not one str"):
        demo_engine.match_many("你好")  # was one match per character
    store = demo_engine.store
    assert isinstance(store, kefu.MemoryStore)
    before = len(store)
    with pytest.raises(TypeError, match="metadata must be a mapping"):
        demo_engine.reply("你好", "typed", metadata=[("channel", "web")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata must be a mapping"):
        asyncio.run(demo_engine.areply("你好", "typed", metadata=[("channel", "web")]))  # type: ignore[arg-type]
    # A misspelled keyword is refused at the call, not inside the worker thread.
    with pytest.raises(TypeError, match="unexpected keyword argument 'metdata'"):
        demo_engine.areply("你好", "typed", metdata={"channel": "web"})  # type: ignore[call-arg, unused-coroutine]
    assert len(store) == before and demo_engine.session("typed") is None


NOT_TEXT = [
    pytest.param(None, "NoneType (None)", id="None"),  # was answered as the message "None"
    pytest.param(5, "int (5)", id="int"),  # a caller should say str(5) when it means "5"
    # 退款 in UTF-8: was matched as the text "b'\\xe9\\x80...'", never as 退款
    pytest.param("退款".encode(), "bytes (b'\\xe9\\x80\\x80\\xe6\\xac\\xbe'): decode it first", id="bytes"),
    pytest.param(["退款"], "list (['退款'])", id="list"),
]


@pytest.mark.parametrize(("text", "said"), NOT_TEXT)
def test_text_that_is_not_a_str_is_a_type_error_not_matched_as_its_repr(
    demo_engine: kefu.Engine, text: Any, said: str
) -> None:
    store = demo_engine.store
    assert isinstance(store, kefu.MemoryStore)
    before = len(store)
    calls: list[Callable[[], object]] = [
        lambda: demo_engine.match(text),
        lambda: demo_engine.segment(text),
        lambda: demo_engine.reply(text, "typed-text"),
        lambda: asyncio.run(demo_engine.areply(text, "typed-text")),
        lambda: demo_engine.record_agent_message("typed-text", text),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=f"^text must be a str, not {re.escape(said)}"):
            call()
    with pytest.raises(TypeError, match=f"^texts\\[1\\] must be a str, not {re.escape(said)}"):
        demo_engine.match_many(["你好", text])
    with pytest.raises(TypeError, match=f"^agent must be a str, not {re.escape(said)}"):
        demo_engine.record_agent_message("typed-text", "您好", agent=text)
    # No conversation was started or written to by any of them.
    assert len(store) == before and demo_engine.session("typed-text") is None


def test_order_dialogue_asks_for_the_number_then_answers(demo_engine: kefu.Engine) -> None:
    sid = "dialogue-order"
    first = demo_engine.reply("我的订单到哪了", session_id=sid)
    assert (first.action, first.intent) == ("prompt", "order_status")
    assert "订单号" in first.text
    second = demo_engine.reply("2024112712345678", session_id=sid)
    assert (second.action, second.intent) == ("respond", "order_status")
    assert second.slots == {"order_id": "2024112712345678"}
    assert "2024112712345678" in second.text
    third = demo_engine.reply("那运费呢?", session_id=sid)
    assert third.intent == "shipping_fee_followup"
    fourth = demo_engine.reply("转人工", session_id=sid)
    assert fourth.handoff and fourth.action == "handoff"
    assert fourth.handoff_reason == "intent:human"
    silent = demo_engine.reply("还在吗", session_id=sid)
    assert (silent.action, silent.text) == ("handed_off", "")
    demo_engine.release(sid)
    assert demo_engine.reply("你好", session_id=sid).intent == "greeting"
    demo_engine.end_session(sid)


def test_sessions_are_independent(demo_engine: kefu.Engine) -> None:
    assert demo_engine.reply("我的订单到哪了", session_id="a").action == "prompt"
    assert demo_engine.reply("你好", session_id="b").intent == "greeting"
    session_a, session_b = demo_engine.session("a"), demo_engine.session("b")
    assert session_a is not None and session_a.pending is not None
    assert session_b is not None and session_b.pending is None
    answer = demo_engine.reply("2024112712345678", session_id="a")
    assert (answer.action, dict(answer.slots)) == ("respond", {"order_id": "2024112712345678"})
    demo_engine.end_session("a")
    demo_engine.end_session("b")


@pytest.mark.parametrize("session_id", [1, True, None, ["a"], b"a", 1.5])
def test_a_session_id_that_is_not_text_is_a_clear_error_and_touches_no_conversation(
    demo_engine: kefu.Engine, session_id: Any
) -> None:
    """``1`` and ``True`` used to share one conversation (they are equal dict keys), and a
    list failed inside the store with "unhashable type"."""
    store = demo_engine.store
    assert isinstance(store, kefu.MemoryStore)
    before = len(store)
    calls: list[Callable[[], object]] = [
        lambda: demo_engine.reply("你好", session_id),
        lambda: demo_engine.session(session_id),
        lambda: demo_engine.release(session_id),
        lambda: demo_engine.record_agent_message(session_id, "您好"),
        lambda: demo_engine.end_session(session_id),
    ]
    for call in calls:
        with pytest.raises(
            kefu.SessionIdError, match=f"session_id must be a str, not {type(session_id).__name__}"
        ):
            call()
    with pytest.raises(TypeError):  # what a caller who knows Python would catch
        asyncio.run(demo_engine.areply("你好", session_id))
    assert len(store) == before


def test_public_api_is_pinned() -> None:
    # A name added to or removed from the public API must be a deliberate change.
    assert sorted(kefu.__all__) == sorted(
        [
            "Block", "BotSpec", "Candidate", "Dialogue", "DialogueResult", "Engine", "EvalReport",
            "Explanation", "FailedPlugin", "Finding", "IntentScore", "IntentSpec", "KefuError",
            "LoadedPlugin", "Match", "MemoryStore", "Message", "Model", "ModelError",
            "ModelSaveError", "PluginError", "Prediction", "Problem", "RedisStore", "Reply",
            "Session", "SessionDamagedError", "SessionIdError", "SessionStore", "SpecError", "StoreError",
            "TestRow", "TuningPoint",
            "__version__", "cross_validate", "evaluate", "explain", "hookimpl", "lint",
            "load_model", "load_spec", "normalize", "predict_rows", "read_dialogues",
            "read_test_file", "recommend", "register_plugin_commands", "run_dialogue", "save_model",
            "saved_fingerprint", "sweep", "train", "write_report", "write_thresholds",
        ]
    )  # fmt: skip
    for name in kefu.__all__:
        assert getattr(kefu, name) is not None
