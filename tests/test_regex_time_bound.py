"""Bot authors' regexes run with a time bound (``kefu.bot_regex``).

A catastrophic pattern such as ``(a|aa)+$`` used to hang the bot on one message. Now it
counts as not matching that message, a warning names it, and the bot answers. Each test
runs under a 10 s hang guard: under plain ``re`` these calls never return, and the guard
turns that into a failure instead of a stuck test run.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import kefu
from kefu.bot_regex import MAX_TIMEOUTS, TIMEOUT
from kefu.entities import EntityExtractor, EntityValue
from kefu.lint import lint
from kefu.spec import EntitySpec

HangGuard = Callable[..., AbstractContextManager[None]]

HOSTILE = "a" * 40 + " b"  # the tester's message
RUNAWAY = "(a|aa)+$"  # exponential under re and under regex: only the timeout stops it

BOT = """
version: 1
entities:
  word: {{regex: '[a-z]+(?: [a-z]+)*'}}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱啊, 退钱]
    patterns: ['退(款|钱)']
  - name: code
    examples: [查一下, 查一下编号, 帮我查编号]
    patterns: ['{pattern}']
  - name: lookup
    examples: [查查这个词, 帮我查词]
    slots:
      word: {{entity: word, required: true, prompt: 请告诉我要查的词, regex: '{slot_regex}'}}
    responses: ["查到了 {{word}}"]
"""


@pytest.fixture
def bot(write_bot: Callable[..., Path]) -> Callable[..., kefu.Engine]:
    """An engine for ``BOT`` with the given intent pattern and slot regex."""

    def build(pattern: str = "^查编号$", slot_regex: str = "[a-z]+") -> kefu.Engine:
        folder = write_bot(**{"bot.yaml": BOT.format(pattern=pattern, slot_regex=slot_regex)})
        return kefu.Engine.from_path(folder, seed=0, load_entry_points=False)

    return build


def timeout_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "kefu.bot_regex"]


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+$",  # the tester's reproduction: regex happens to fail it fast, re never returns
        RUNAWAY,  # one regex cannot short-cut either: it runs out of time
    ],
)
def test_a_runaway_intent_pattern_does_not_hang_the_bot(
    bot: Callable[..., kefu.Engine], caplog: pytest.LogCaptureFixture, pattern: str, hang_guard: HangGuard
) -> None:
    engine = bot(pattern=pattern)
    with caplog.at_level(logging.WARNING, logger="kefu.bot_regex"), hang_guard():
        match = engine.match(HOSTILE)
        refund = engine.match("我要退钱")
    assert match.intent != "code"
    assert match.rule is None
    assert (refund.intent, refund.rule) == ("refund", "pattern:退(款|钱)")
    for message in timeout_warnings(caplog):
        assert message.startswith(f"intent 'code': regex {pattern!r} ran out of time ({TIMEOUT} s)")
        assert HOSTILE.strip() not in message  # the customer's text may be personal data
    if pattern == RUNAWAY:
        assert len(timeout_warnings(caplog)) == 1


def test_a_runaway_entity_regex_finds_nothing_and_other_entities_still_work(
    caplog: pytest.LogCaptureFixture, hang_guard: HangGuard
) -> None:
    extractor = EntityExtractor(
        [EntitySpec("sku", regex=r"SKU-(\d+)"), EntitySpec("code", regex=RUNAWAY)],
        today=lambda: datetime.date(2026, 11, 27),
    )
    text = "SKU-12 " + HOSTILE
    with caplog.at_level(logging.WARNING, logger="kefu.bot_regex"), hang_guard():
        values = extractor.extract(text)
    assert values == [EntityValue("sku", "12", "SKU-12", 0, 6)]
    assert timeout_warnings(caplog) == [
        f"entity 'code': regex {RUNAWAY!r} ran out of time ({TIMEOUT} s) on a message and counts "
        "as not matching it; rewrite it without nested repetition such as (a+)+"
    ]


def test_a_runaway_slot_regex_rejects_the_value_and_asks_again(
    bot: Callable[..., kefu.Engine], caplog: pytest.LogCaptureFixture, hang_guard: HangGuard
) -> None:
    engine = bot(slot_regex="(a|aa)+")  # fullmatch: "aaa…a b" backtracks over every split
    assert engine.reply("帮我查词", session_id="s").text == "请告诉我要查的词"
    with caplog.at_level(logging.WARNING, logger="kefu.bot_regex"), hang_guard():
        reply = engine.reply(HOSTILE, session_id="s")
    assert reply.text == "请告诉我要查的词"
    assert timeout_warnings(caplog) == [
        f"slot 'word': regex '(a|aa)+' ran out of time ({TIMEOUT} s) on a message and counts "
        "as not matching it; rewrite it without nested repetition such as (a+)+"
    ]


def test_sound_patterns_match_exactly_as_before(
    bot: Callable[..., kefu.Engine], caplog: pytest.LogCaptureFixture
) -> None:
    engine = bot(slot_regex="[a-z]{3,5}")
    with caplog.at_level(logging.WARNING, logger="kefu.bot_regex"):
        checks = [
            # the intent pattern decides, on the normalized text
            (engine.match("查编号").rule, "pattern:^查编号$"),
            (engine.match("退钱").rule, "pattern:退(款|钱)"),
            # the entity regex finds the value; the slot regex accepts it
            (engine.reply("帮我查词 abcd", session_id="t").text, "查到了 abcd"),
            # a value the slot regex refuses is asked for again
            (engine.reply("帮我查词 abcdefg", session_id="u").text, "请告诉我要查的词"),
        ]
    assert [got for got, _ in checks] == [want for _, want in checks]
    assert timeout_warnings(caplog) == []


def test_what_validates_is_what_runs(bot: Callable[..., kefu.Engine]) -> None:
    # \p{Han} is `regex` syntax that `re` rejects: validation and matching agree on it.
    engine = bot(pattern=r"^\p{Han}{2}编号$")
    assert engine.match("查查编号").rule == r"pattern:^\p{Han}{2}编号$"


def test_lint_warns_about_a_runaway_pattern(bot: Callable[..., kefu.Engine], hang_guard: HangGuard) -> None:
    engine = bot(pattern=RUNAWAY, slot_regex="(a|aa)+")
    with hang_guard():
        findings = [f for f in lint(engine.model) if f.code == "runaway-regex"]
    assert [f.message for f in findings] == [
        f"regex {RUNAWAY!r} of intent 'code' runs out of time ({TIMEOUT} s) on 'a' × 499 + '!'; "
        "such messages are treated as not matching it",
        f"regex '(a|aa)+' of slot 'word' of intent 'lookup' runs out of time ({TIMEOUT} s) "
        "on 'a' × 499 + '!'; such messages are treated as not matching it",
    ]


def test_lint_names_the_file_and_line_of_a_runaway_entity_regex(
    write_bot: Callable[..., Path], hang_guard: HangGuard
) -> None:
    folder = write_bot(
        **{
            "bot.yaml": BOT.format(pattern="^查编号$", slot_regex="[a-z]+").replace(
                "[a-z]+(?: [a-z]+)*", RUNAWAY
            )
        }
    )
    engine = kefu.Engine.from_path(folder, seed=0, load_entry_points=False)
    with hang_guard():
        findings = [f for f in lint(engine.model) if f.code == "runaway-regex"]
    assert [str(f).split(": warning: ")[0] for f in findings] == [f"{folder / 'bot.yaml'}:3"]  # was no place
    assert "of entity 'word'" in findings[0].message


def test_lint_finds_no_runaway_regex_in_the_demo_bot(demo_engine: kefu.Engine) -> None:
    assert [f for f in lint(demo_engine.model) if f.code == "runaway-regex"] == []


def test_one_message_pays_for_at_most_a_few_runaway_patterns(
    write_bot: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    hang_guard: HangGuard,
) -> None:
    """Ten runaway intent patterns cost 10 x 50 ms on every new message; now the message
    stops running bot patterns after MAX_TIMEOUTS of them ran out of time."""
    monkeypatch.setattr("kefu.bot_regex.TIMEOUT", 0.01)  # the count matters, not the time
    intents = "".join(
        f"  - name: runaway{k}\n    examples: [查编号{k}, 帮我查{k}]\n    patterns: ['(a|aa)+{k}?$']\n"
        for k in range(10)
    )
    refund = "  - name: refund\n    examples: [我要退款, 怎么退钱啊, 退钱]\n    patterns: ['退(款|钱)']\n"
    folder = write_bot(**{"bot.yaml": f"version: 1\nintents:\n{intents}{refund}"})
    engine = kefu.Engine.from_path(folder, seed=0, load_entry_points=False)
    calls: list[tuple[tuple[int, int], Callable[[str], kefu.Reply | kefu.Match]]] = [
        ((40, 41), lambda text: engine.reply(text, session_id="s")),
        ((42, 43), engine.match),
    ]
    for lengths, call in calls:
        for length in lengths:  # new messages (the verdict cache knows the others), each with its budget
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="kefu.bot_regex"), hang_guard():
                answer = call("a" * length + " b")
            ran_out = [m for m in timeout_warnings(caplog) if "ran out of time (" in m]
            assert len(ran_out) == MAX_TIMEOUTS, ran_out
            assert f"{MAX_TIMEOUTS} bot regexes ran out of time on one message" in " ".join(
                timeout_warnings(caplog)
            )
            assert answer.intent is None or not answer.intent.startswith("runaway")
        assert call("我要退钱").intent == "refund"  # honest patterns run on the next message


CACHE_BOT = """
version: 1
bot: {threshold: 0.5}
entities:
  slow: {regex: '(a|aa)+c'}
intents:
  - name: ask_code
    examples: [我要填代码, 输入代码, 填写代码]
    slots:
      code: {entity: slow, required: true, prompt: 请输入代码}
  - name: bad1
    examples: [第一种问题, 问题一]
    patterns: ['(a|aa)+c']
  - name: bad2
    examples: [第二种问题, 问题二]
    patterns: ['(a|aa)+d']
  - name: bad3
    examples: [第三种问题, 问题三]
    patterns: ['(a|aa)+e']
  - name: good
    examples: [好的问题, 问题四]
    patterns: ['^a+b$']
"""


def test_a_verdict_weakened_by_runaway_patterns_is_not_cached(
    write_bot: Callable[..., Path], hang_guard: HangGuard, caplog: pytest.LogCaptureFixture
) -> None:
    """A pending slot's runaway entity regex and three runaway patterns used the message's
    budget up, so `good`'s pattern was skipped; that verdict was cached and served to every
    later message with the same text, in every conversation and in engine.match()."""
    text = "a" * 26 + "b"  # `good`'s pattern matches it; the runaway ones time out on it
    engine = kefu.Engine.from_path(write_bot(**{"bot.yaml": CACHE_BOT}), seed=0, load_entry_points=False)
    with hang_guard(10), caplog.at_level(logging.ERROR):
        engine.reply("我要填代码", "s1")
        engine.reply(text, "s1")  # answers the slot question: its regex runs first
        assert engine.reply(text, "s2").intent == "good"
        assert engine.match(text).intent == "good"
