"""Hot reload: a new bot swaps in atomically; a broken one never replaces a working one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import kefu

BOT = """
version: 1
bot: {{name: 测试, threshold: 0.2}}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [退款答复v{version}]
  - name: shipping
    examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到, 发货时间]
    responses: [发货答复v{version}]
"""
BROKEN = "version: 1\nintents:\n  - name: refund\n    examples: [我要退款\n"  # unclosed list


def test_reload_under_load_serves_the_last_good_bot(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT.format(version=0)})
    engine = kefu.Engine.from_path(bot, seed=0)
    stop = threading.Event()
    errors: list[BaseException] = []
    replies = [0]

    def talk(worker: int) -> None:
        n = 0
        while not stop.is_set():
            try:
                reply = engine.reply("我要退款", session_id=f"w{worker}-{n % 20}")
                assert reply.text.startswith("退款答复v"), reply
                replies[0] += 1
            except BaseException as exc:
                errors.append(exc)
                return
            n += 1

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    last_good = 0
    try:
        for attempt in range(1, 51):
            if attempt % 2:
                (bot / "bot.yaml").write_text(BROKEN, encoding="utf-8")
                with pytest.raises(kefu.SpecError):
                    engine.reload()
            else:
                last_good = attempt
                (bot / "bot.yaml").write_text(BOT.format(version=attempt), encoding="utf-8")
                engine.reload()
            assert engine.reply("我要退款", session_id="probe").text == f"退款答复v{last_good}"
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert replies[0] > 0
    assert engine.reply("什么时候发货", session_id="probe").text == f"发货答复v{last_good}"


def test_sessions_survive_a_reload(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT.format(version=1)})
    engine = kefu.Engine.from_path(bot)
    engine.reply("我要退款", session_id="kept")
    (bot / "bot.yaml").write_text(BOT.format(version=2), encoding="utf-8")
    engine.reload()
    session = engine.session("kept")
    assert session is not None and session.turns == 1


def test_a_changed_sessions_section_is_kept_for_a_restart_and_says_so(
    write_bot: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    # The reload took the new settings without a word and went on with the old store.
    bot = write_bot(**{"bot.yaml": BOT.format(version=1)})
    engine = kefu.Engine.from_path(bot)
    store = engine.store
    engine.reply("我要退款", session_id="kept")
    (bot / "bot.yaml").write_text(BOT.format(version=2), encoding="utf-8")
    engine.reload()
    assert "sessions:" not in caplog.text  # an unchanged section says nothing
    text = BOT.format(version=3) + "sessions: {store: redis, url: 'redis://localhost:1/0'}\n"
    (bot / "bot.yaml").write_text(text, encoding="utf-8")
    engine.reload()
    assert (
        "`sessions:` settings changed; conversations stay in the store this engine started with"
        in caplog.text
    )
    assert engine.store is store and engine.reply("我要退款", session_id="kept").text == "退款答复v3"
    session = engine.session("kept")
    assert session is not None and session.turns == 2


def test_a_plugin_that_fails_to_import_fails_the_reload(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": BOT.format(version=1) + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "tag.py").write_text(
        "import dataclasses, kefu\n\n@kefu.hookimpl\ndef response_built(reply):\n"
        "    return dataclasses.replace(reply, text=reply.text + '#1')\n",
        encoding="utf-8",
    )
    engine = kefu.Engine.from_path(bot)
    assert engine.reply("我要退款", session_id="p").text == "退款答复v1#1"
    (bot / "plugins" / "tag.py").write_text("raise ImportError('broken plugin')\n", encoding="utf-8")
    with pytest.raises(kefu.PluginError, match="broken plugin"):
        engine.reload()
    assert engine.reply("我要退款", session_id="p").text == "退款答复v1#1"
    (bot / "plugins" / "tag.py").write_text(
        "import dataclasses, kefu\n\n@kefu.hookimpl\ndef response_built(reply):\n"
        "    return dataclasses.replace(reply, text=reply.text + '#2')\n",
        encoding="utf-8",
    )
    engine.reload()  # the new file is imported afresh, not importlib.reload-ed
    assert engine.reply("我要退款", session_id="p").text == "退款答复v1#2"


def test_the_bots_plugins_folder_given_again_by_another_path_loads_once(
    write_bot: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kefu chat bot.yaml --plugins-dir /abs/plugins` for a bot saying `plugins: {dir: plugins}`
    loaded every file twice: each second copy failed to load, and so did every reload."""
    bot = write_bot(**{"bot.yaml": BOT.format(version=1) + "plugins: {dir: plugins}\n"})
    (bot / "plugins").mkdir()
    (bot / "plugins" / "tag.py").write_text(
        "import dataclasses, kefu\n\n@kefu.hookimpl\ndef response_built(reply):\n"
        "    return dataclasses.replace(reply, text=reply.text + '#')\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(bot)
    engine = kefu.Engine.from_path("bot.yaml", plugins_dir=bot.resolve() / "plugins")
    assert engine.plugin_failures == []
    assert [p.source for p in engine.plugins if p.name == "tag"] == [str(Path("plugins", "tag.py"))]
    engine.reload()
    assert engine.plugin_failures == []
    assert engine.reply("我要退款", session_id="p").text == "退款答复v1#"


def test_an_unforeseen_failure_is_a_failed_reload_not_a_crash(
    write_bot: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": BOT.format(version=1)}))

    def broken(source: Path) -> kefu.Model:  # stands in for any bug met while loading
        raise ValueError("day is out of range for month")

    monkeypatch.setattr("kefu.engine.load_or_train", broken)
    with pytest.raises(kefu.KefuError, match="failed: ValueError: day is out of range for month") as caught:
        engine.reload()
    assert isinstance(caught.value.__cause__, ValueError)  # the original, for the traceback
    assert engine.reply("我要退款", session_id="u").text == "退款答复v1"


# -- conversations in progress when a reload removes what they were waiting on -------------

SLOT_BOT = """
version: 1
bot: {{name: 测试, threshold: 0.2}}
entities:
  order_id: {{regex: '\\d{{6}}'}}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [退款答复]
  - name: shipping
    examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到, 发货时间]
    responses: [发货答复]
{order}
"""
ORDER_STATUS = """
  - name: order_status
    examples: [查订单, 订单状态, 帮我查下订单, 我的订单怎么样了]
    slots:
      {slot}: {{entity: order_id, required: true, prompt: 请提供订单号}}
    responses: ["订单{{{slot}}}"]
"""


@pytest.mark.parametrize(
    "order_after_reload",
    [
        # the intent that asked for the slot is gone
        pytest.param("", id="intent-removed"),
        # the intent stays, its slot is renamed
        pytest.param(ORDER_STATUS.format(slot="order_no"), id="slot-renamed"),
    ],
)
def test_a_pending_slot_the_new_bot_lacks_is_dropped(
    write_bot: Callable[..., Path], order_after_reload: str
) -> None:
    bot = write_bot(**{"bot.yaml": SLOT_BOT.format(order=ORDER_STATUS.format(slot="order_id"))})
    engine = kefu.Engine.from_path(bot, seed=0)
    assert engine.reply("查订单", session_id="mid").text == "请提供订单号"
    (bot / "bot.yaml").write_text(SLOT_BOT.format(order=order_after_reload), encoding="utf-8")
    engine.reload()
    reply = engine.reply("我要退款", session_id="mid")
    assert (reply.text, reply.intent) == ("退款答复", "refund")
    assert "dropped pending slot order_status.order_id" in reply.trace
    session = engine.session("mid")
    assert session is not None and session.pending is None
    assert engine.reply("什么时候发货", session_id="mid").text == "发货答复"  # and it keeps working


CLARIFY_BOT = """
version: 1
bot: {{name: 测试, threshold: 0.2}}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [退款答复]
  - name: {shipping}
    title: 发货
    examples: [什么时候发货, 快递到哪了, 物流信息查询, 几天能到, 发货时间]
    responses: [发货答复]
"""


def test_a_clarify_option_the_new_bot_lacks_is_a_fresh_message(write_bot: Callable[..., Path]) -> None:
    bot = write_bot(**{"bot.yaml": CLARIFY_BOT.format(shipping="shipping")})
    engine = kefu.Engine.from_path(bot, seed=0)
    for session_id in ("renamed", "kept"):
        asked = engine.reply("退货", session_id=session_id)
        assert asked.text == "您是想问：\n1. 我要退款\n2. 发货"
    (bot / "bot.yaml").write_text(CLARIFY_BOT.format(shipping="delivery"), encoding="utf-8")
    engine.reload()
    fresh = engine.reply("2", session_id="fresh")  # what "2" gets with no question pending
    reply = engine.reply("2", session_id="renamed")  # option 2 was shipping, now delivery
    assert (reply.text, reply.action, reply.intent) == (fresh.text, fresh.action, fresh.intent)
    assert "dropped clarify option shipping" in reply.trace
    assert engine.reply("什么时候发货", session_id="renamed").text == "发货答复"
    assert engine.reply("1", session_id="kept").text == "退款答复"  # an option that still exists


@pytest.mark.parametrize("answer", ["፩", "➎", "᧚", "²", "１", "٢"])
def test_any_digit_character_answers_a_clarify_question_without_a_crash(
    write_bot: Callable[..., Path], answer: str
) -> None:
    """str.isdigit() is true for "፩" (Ethiopic one) or "➎", which int() cannot read: reply
    raised ValueError. Decimal digits of any script ("١", full-width "１") still pick."""
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": CLARIFY_BOT.format(shipping="shipping")}), seed=0)
    assert engine.reply("退货", session_id="s").action == "clarify"
    reply = engine.reply(answer, session_id="s")
    picked = {"１": "退款答复", "٢": "发货答复"}.get(answer)
    if picked:
        assert reply.text == picked
    else:
        assert reply.action in {"fallback", "clarify", "respond"} and reply.text
