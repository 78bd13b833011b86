"""The Engine API's less travelled inputs: explain's text, match's contexts, a plugin given as a
class, and an agent's long message. Each is refused with an error saying what to do, or kept
whole, never matched, registered or recorded as something else."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kefu
from kefu.engine import AGENT_TEXT_LENGTH


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(small_bot: Path) -> kefu.Engine:
    """A small bot of its own, so plugins and agent messages touch no other test."""
    return kefu.Engine.from_path(small_bot, seed=0, clock=Clock())


# -- kefu.explain ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        None,  # was explained as the message "None" (and "answered" an intent)
        "退款".encode(),  # was explained as "b'\\xe9\\x80...'", never as 退款
        5,  # a caller should say str(5)
    ],
)
def test_explain_refuses_text_that_is_not_a_str_like_match(demo_engine: kefu.Engine, text: Any) -> None:
    with pytest.raises(TypeError) as by_match:
        demo_engine.match(text)
    with pytest.raises(TypeError) as by_explain:
        kefu.explain(demo_engine, text)
    assert str(by_explain.value) == str(by_match.value)
    assert str(by_explain.value).startswith(f"text must be a str, not {type(text).__name__} (")


# -- match's contexts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contexts", "error"),
    [
        ([None], "contexts[0] must be a str, not NoneType (None)"),  # was a context that never opens
        (("order", 3), "contexts[1] must be a str, not int (3)"),  # the good one matched, 3 was dropped
        ([b"order"], "contexts[0] must be a str, not bytes (b'order'): decode it first"),  # never "order"
        (b"order", "contexts must be a str or a list of str, not bytes (b'order'): decode it first"),
        (5, "contexts must be a str or a list of str, not int (5)"),  # was "'int' object is not iterable"
    ],
)
def test_contexts_that_are_not_names_are_a_type_error_naming_the_item(
    demo_engine: kefu.Engine, contexts: Any, error: str
) -> None:
    with pytest.raises(TypeError, match=f"^{re.escape(error)}"):
        demo_engine.match("那运费呢", contexts=contexts)
    with pytest.raises(TypeError, match=f"^{re.escape(error)}"):
        kefu.explain(demo_engine, "那运费呢", contexts)


# -- register_plugin ------------------------------------------------------------------------


class Shouter:
    """A plugin class whose instances add "！" to every reply."""

    @kefu.hookimpl
    def response_built(self, reply: kefu.Reply) -> kefu.Reply:
        return dataclasses.replace(reply, text=reply.text + "！")


def test_a_plugin_class_instead_of_an_instance_is_refused_saying_to_instantiate_it(
    engine: kefu.Engine,
) -> None:
    before = [p.name for p in engine.plugins]
    with pytest.raises(kefu.PluginError) as raised:
        engine.register_plugin(Shouter)
    # Was registered, and every reply then logged "missing 1 required positional argument".
    assert str(raised.value) == (
        "plugin 'Shouter': got the class Shouter, not a plugin object: pass an instance, Shouter()"
    )
    assert [p.name for p in engine.plugins] == before
    assert engine.reply("什么时候发货", session_id="s").text == "一般48小时内发货"
    assert engine.plugin_errors == {}
    # Doing what the error says works, under the same name.
    assert engine.register_plugin(Shouter()) == "Shouter"
    assert engine.reply("什么时候发货", session_id="s").text == "一般48小时内发货！"
    # A module is an object too, not a class: it stays a plugin.
    assert engine.register_plugin(_module_adding("～")) == "shop_rules"
    assert engine.reply("什么时候发货", session_id="s").text == "一般48小时内发货～！"


def _module_adding(mark: str) -> types.ModuleType:
    """A plugin module whose ``response_built`` adds ``mark`` to every reply."""
    module = types.ModuleType("shop_rules")

    @kefu.hookimpl
    def response_built(reply: kefu.Reply) -> kefu.Reply:
        return dataclasses.replace(reply, text=reply.text + mark)

    module.response_built = response_built  # type: ignore[attr-defined]
    return module


# -- record_agent_message -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "您好" * 500,  # 1,000 characters: was cut to the bot's max_input_length (500)
        "好" * AGENT_TEXT_LENGTH,  # the limit itself
        "已为您补发\ud800" * 100,  # a lone surrogate still becomes U+FFFD, nothing is cut
    ],
)
def test_an_agent_message_up_to_the_limit_is_kept_whole(engine: kefu.Engine, text: str) -> None:
    assert AGENT_TEXT_LENGTH == 4000  # the documented limit
    engine.reply("转人工", session_id="long")
    engine.record_agent_message("long", text, agent="小王")
    session = engine.session("long")
    assert session is not None
    kept = session.history[-1][2]
    assert len(kept) == len(text)  # was 500
    assert kept == text.replace("\ud800", "\ufffd")


def test_an_agent_message_over_the_limit_is_a_value_error_and_records_nothing(engine: kefu.Engine) -> None:
    engine.reply("转人工", session_id="long")
    session = engine.session("long")
    assert session is not None
    before = (list(session.history), session.last_active)
    clock = engine.clock
    assert isinstance(clock, Clock)
    clock.now += 30
    error = (
        "an agent message is at most 4000 characters, this one has 4001: "
        "send it in parts (nothing was recorded)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(error)}$"):
        engine.record_agent_message("long", "好" * (AGENT_TEXT_LENGTH + 1), agent="小王")
    session = engine.session("long")
    assert session is not None and (list(session.history), session.last_active) == before


# -- constructors and stores ----------------------------------------------------------------


def test_releasing_a_conversation_that_does_not_exist_creates_none(engine: kefu.Engine) -> None:
    ended: list[str] = []

    class Recorder:
        @kefu.hookimpl
        def session_ended(self, session: kefu.Session) -> None:
            ended.append(session.id)

    engine.register_plugin(Recorder())
    engine.release("never-started")  # was saved as an empty conversation, later reported ended
    assert engine.session("never-started") is None
    engine.end_session("never-started")
    assert ended == []


@pytest.mark.parametrize(
    ("build", "error"),
    [
        # each was accepted: the first reply then failed with "value too large", or every
        # conversation ended at once, or an AttributeError came from deep inside
        (
            lambda: kefu.MemoryStore(max_sessions=0),
            "max_sessions must be a whole number of at least 1, not 0",
        ),
        (
            lambda: kefu.MemoryStore(idle_ttl=-1),
            "idle_ttl must be a finite number of seconds, above 0, not -1",
        ),
        (
            lambda: kefu.MemoryStore(idle_ttl=float("nan")),
            "idle_ttl must be a finite number of seconds, above 0, not nan",
        ),
        (lambda: kefu.RedisStore(lock_timeout=0), "lock_timeout must be a finite number of seconds, above 0"),
        (lambda: kefu.RedisStore(end_grace=-1), "end_grace must be a finite number of seconds, 0 or more"),
        # Redis keeps expiries in milliseconds: 1e17 s was taken, then every reply failed
        (
            lambda: kefu.RedisStore(idle_ttl=1e17),
            "idle_ttl must be at most 1,000,000,000 seconds (about 31 years), not 1e+17",
        ),
        (lambda: kefu.RedisStore(end_grace=1e300), "end_grace must be at most 1,000,000,000 seconds"),
    ],
)
def test_a_store_with_impossible_settings_is_refused_when_built(build: Any, error: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(error)}"):
        build()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"url": 5}, "url must be a str, not int"),  # was an AttributeError from redis-py
        ({"key_prefix": None}, "key_prefix must be a str, not NoneType"),  # keys were "Nones:..."
    ],
)
def test_a_redis_store_refuses_a_url_or_prefix_that_is_not_text(kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(TypeError, match=f"^{re.escape(error)}$"):
        kefu.RedisStore(**kwargs)


def test_engine_train_and_save_refuse_what_is_not_their_input(engine: kefu.Engine, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"^Engine takes a trained kefu.Model, not str: use Engine.from_path"):
        kefu.Engine("intents/")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^store must be a session store .*, not dict$"):
        kefu.Engine(engine.model, store={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^train takes a BotSpec \(kefu.load_spec\(path\)\), not str$"):
        kefu.train("intents/")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^save_model takes a trained kefu.Model"):
        kefu.save_model(engine.spec, tmp_path / "model")  # type: ignore[arg-type]
    assert not (tmp_path / "model").exists()


def _predictions(engine: kefu.Engine) -> list[kefu.Prediction]:
    rows = [kefu.TestRow("什么时候发货", "shipping"), kefu.TestRow("量子力学", "out_of_scope", oos=True)]
    return kefu.predict_rows(engine, rows)


IMPOSSIBLE_CALLS = [
    # each was accepted and answered as if it made sense, or failed with Python's words
    pytest.param(
        lambda e: kefu.sweep(_predictions(e), thresholds=[0.5, float("nan")]),
        "thresholds must be numbers from 0 to 1, not nan",  # every row counted as answered
        id="sweep-nan",
    ),
    pytest.param(
        lambda e: kefu.sweep(_predictions(e), margins=[2.0]),
        "margins must be numbers from 0 to 1",
        id="margin",
    ),
    pytest.param(
        lambda e: kefu.recommend([]),
        "recommend needs at least one tuning point",  # was "max() arg is an empty sequence"
        id="recommend-none",
    ),
    pytest.param(
        lambda e: kefu.evaluate(_predictions(e), top_confusions=-1),
        "top_confusions must be a whole number, 0 or more, not -1",  # silently dropped the last one
        id="confusions",
    ),
    pytest.param(
        lambda e: kefu.explain(e, "你好", top_k=0), "top_k must be a whole number of at least 1", id="top_k"
    ),
    pytest.param(
        lambda e: kefu.lint(e.model, overlap=1.5), "overlap must be a number from 0 to 1", id="lint-bound"
    ),
    pytest.param(
        lambda e: kefu.write_thresholds([], 0.5, 0.05),
        "write_thresholds needs the bot's files",  # was an IndexError
        id="no-files",
    ),
    pytest.param(
        lambda e: kefu.write_thresholds(e.spec.files, 1.5, 0.05),
        "threshold and margin must be numbers from 0 to 1, not 1.5 and 0.05",  # the bot then failed to load
        id="threshold-1.5",
    ),
]


@pytest.mark.parametrize(("call", "error"), IMPOSSIBLE_CALLS)
def test_library_functions_refuse_impossible_arguments(engine: kefu.Engine, call: Any, error: str) -> None:
    before = [Path(f).read_bytes() for f in engine.spec.files]
    with pytest.raises(ValueError, match=f"^{re.escape(error)}"):
        call(engine)
    assert [Path(f).read_bytes() for f in engine.spec.files] == before


def test_lint_of_a_spec_says_it_takes_a_model(engine: kefu.Engine) -> None:
    with pytest.raises(TypeError, match=r"^lint takes a trained kefu.Model .*, not BotSpec$"):
        kefu.lint(engine.spec)  # type: ignore[arg-type]


def test_explain_reads_one_context_given_as_a_str_as_match_does(engine: kefu.Engine) -> None:
    # Its settings listed the letters of the name: ["o", "r", "d", "e", "r"].
    assert kefu.explain(engine, "你好", contexts="order").settings["contexts"] == ["order"]


def test_segment_reads_as_much_of_a_message_as_the_bot_does(write_bot: Any) -> None:
    bot = write_bot(
        **{
            "bot.yaml": "version: 1\nbot: {threshold: 0.3, max_input_length: 2000}\n"
            "intents:\n  - name: refund\n    examples: [我要退款, 申请退款, 退钱]\n    responses: [好的]\n"
        }
    )
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    text = "好" * 600 + " 退款"
    assert "退款" in kefu.explain(engine, text).words  # the matcher reads 2,000 characters ...
    assert engine.segment(text)[-1] == "退款"  # ... and segment stopped at 500, before 退款


def test_a_slot_answer_is_read_whole_before_it_counts_as_cancelling(write_bot: Any) -> None:
    bot = write_bot(
        **{
            "bot.yaml": "version: 1\nbot: {threshold: 0.3, max_input_length: 2000}\nintents:\n"
            "  - name: order\n    examples: [查订单, 我的订单到哪了]\n    responses: ['订单 {id} 在路上']\n"
            "    slots: {id: {entity: order_id, required: true, prompt: 订单号是多少？}}\n"
        }
    )
    engine = kefu.Engine.from_path(bot, seed=0, load_entry_points=False)
    assert engine.reply("查订单", session_id="s").text == "订单号是多少？"
    # Only the first 500 characters were checked for cancel words: all of them are.
    answer = "算了" * 250 + "，还是查一下吧 2024112712345678"
    assert engine.reply(answer, session_id="s").text == "订单 2024112712345678 在路上"


def test_saving_a_model_under_a_file_says_the_file_is_in_the_way(engine: kefu.Engine, tmp_path: Path) -> None:
    notes = tmp_path / "x.txt"
    notes.write_text("笔记", encoding="utf-8")
    with pytest.raises(kefu.ModelSaveError) as raised:
        engine.save(notes / "model")
    # Was "File exists (…/x.txt)", as if the model folder were taken.
    assert (
        str(raised.value)
        == f"{notes / 'model'}: cannot save the model there: {notes} is a file, not a folder"
    )
    assert notes.read_text(encoding="utf-8") == "笔记"


def test_choose_refuses_one_str_instead_of_picking_one_of_its_characters(engine: kefu.Engine) -> None:
    with pytest.raises(
        TypeError, match=r"^choose takes a list of reply variants, not one str \('您好，请稍等'\)"
    ):
        engine.choose("您好，请稍等")
    assert engine.choose(["您好，请稍等"]) == "您好，请稍等"


@pytest.mark.parametrize("options", [{"a": 1}, {"您好", "稍等"}, iter(["您好"])])
def test_choose_refuses_what_is_not_a_list(engine: kefu.Engine, options: Any) -> None:
    # A dict was a KeyError: 0 from inside random.choice.
    with pytest.raises(
        TypeError, match=r"^choose takes a list of reply variants, not (dict|set|list_iterator)$"
    ):
        engine.choose(options)


def test_explain_of_what_is_not_an_engine_is_a_type_error() -> None:
    # It was an AttributeError about a missing .match.
    with pytest.raises(TypeError, match=r"^explain takes a kefu.Engine .*, not NoneType$"):
        kefu.explain(None, "你好")  # type: ignore[arg-type]


class Channel(str, enum.Enum):
    WECHAT = "wechat-42"


class Tagged(str):
    """A str subclass of the caller's own, as web frameworks and ORMs hand out."""


@pytest.mark.parametrize(
    ("session_id", "text", "saved_as"),
    [
        pytest.param(np.str_("u1"), np.str_("我要退款"), "u1", id="numpy.str_"),
        # Its characters, not str() of it ("Channel.WECHAT").
        pytest.param(Channel.WECHAT, Tagged("我要退款"), "wechat-42", id="str-enum-and-subclass"),
    ],
)
def test_str_subclasses_as_session_id_and_text_keep_the_conversation(
    engine: kefu.Engine, session_id: str, text: str, saved_as: str
) -> None:
    # marshal, which packs sessions, wrote numpy.str_ as bytes (every turn after the first
    # went under a bytes key and was lost) and refused a StrEnum or subclass (every reply
    # failed with a StoreError).
    for _ in range(3):
        engine.reply(text, session_id)
    assert list(engine.store.ids()) == [saved_as]
    session = engine.session(session_id)
    assert session is not None and session.turns == 3
    assert [type(entry[1]) for entry in session.history] == [str, str, str]
    assert json.loads(session.to_json())["history"][0][1] == "我要退款"
    assert engine.match(text, contexts=Tagged("ctx")).intent == engine.match("我要退款").intent
