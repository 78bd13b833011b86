"""What kefu explain, predict, chat and lint say agrees with what the bot does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kefu
from kefu.cli import build_app
from kefu.explain import cut

BOT = """
version: 1
bot: {name: 测试, threshold: 0.2, ambiguity_margin: 0.05}
intents:
  - name: refund
    examples: [我要退款, 怎么退钱, 退款多久到账, 申请退款, 退款流程]
    responses: [好的]
  - name: exchange
    examples: [我要换货, 怎么换货, 换货流程, 申请换货, 换个尺码]
    responses: [好的]
  - name: number_only
    examples: [订单号, 单号是多少]
    patterns: ['^\\d*$']
    responses: [收到]
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout


@pytest.fixture
def bot(write_bot: Callable[..., Path]) -> Path:
    return write_bot(**{"bot.yaml": BOT})


def engine_for(path: Path) -> kefu.Engine:
    return kefu.Engine.from_path(path, seed=0, builtin_plugins=(), load_entry_points=False)


def test_explain_says_a_pattern_that_matches_an_empty_message_answered_it(bot: Path) -> None:
    # It said "fallback: nothing is left of the message", while the bot answered number_only.
    engine = engine_for(bot)
    assert engine.match("😀").intent == "number_only"
    decision = kefu.explain(engine, "😀").decision
    assert decision == "answered number_only: decided by the rule pattern:^\\d*$"


def test_explain_names_unknown_character_ngrams_as_the_bot_reads_them(bot: Path) -> None:
    # "款退" listed 款 and 退 as unknown (the padded " 款" stripped), beside char:款 as a feature.
    engine = engine_for(bot)
    result = kefu.explain(engine, "款退")
    vocab = engine.model.features.char_vocab
    assert result.unknown and all(term not in vocab for term in result.unknown)
    assert "款" not in result.unknown and " 款" in result.unknown


def test_explain_of_a_lone_candidate_claims_no_lead(write_bot: Callable[..., Path]) -> None:
    # "lead 0.371 >= ambiguity_margin 0.5": the engine compares a lone candidate with no one.
    lone = "version: 1\nbot: {threshold: 0.1, ambiguity_margin: 0.5}\nintents:\n  - name: refund\n"
    engine = engine_for(write_bot(**{"bot.yaml": lone + "    examples: [我要退款, 怎么退钱, 退款流程]\n"}))
    match = engine.match("退款")
    assert match.intent == "refund" and len(match.candidates) == 1
    assert kefu.explain(engine, "退款").decision.endswith("no other candidate to be ambiguous with")


def test_confidences_are_cut_not_rounded_so_none_reaches_a_threshold_it_missed() -> None:
    # A fallback at 0.69994 beside a threshold of 0.7 read "(fallback) 0.700".
    assert [cut(0.69994, 3), cut(0.59998, 4), cut(0.29, 4), cut(1.0, 3)] == [0.699, 0.5999, 0.29, 1.0]


def test_predict_json_says_an_ambiguous_message_is_no_fallback_and_gives_the_rule(
    write_bot: Callable[..., Path],
) -> None:
    # "fallback": true beside "ambiguous": true, where the bot asks which one; no rule shown.
    close = BOT.replace("ambiguity_margin: 0.05", "ambiguity_margin: 0.9")
    path = write_bot(**{"bot.yaml": close})
    engine = engine_for(path)
    assert engine.match("退款还是换货").ambiguous
    code, out = run("predict", "-b", str(path), "--json", "退款还是换货", "123")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert (rows[0]["fallback"], rows[0]["ambiguous"], rows[0]["rule"]) == (False, True, None)
    assert (rows[1]["intent"], rows[1]["rule"]) == ("number_only", "pattern:^\\d*$")


def test_a_context_that_ran_out_of_turns_is_not_listed_as_open(write_bot: Callable[..., Path]) -> None:
    # session.contexts showed {'order': 0} after its last turn (kefu chat /debug too).
    bot = BOT + "    contexts: {out: [{name: order, lifespan: 1}]}\n"
    engine = engine_for(write_bot(**{"bot.yaml": bot}))
    engine.reply("123", session_id="s")
    session = engine.session("s")
    assert session is not None and "order" in session.contexts
    engine.reply("我要退款", session_id="s")
    session = engine.session("s")
    assert session is not None and session.contexts == {}


def test_explain_says_when_the_bots_plugins_did_not_run(write_bot: Callable[..., Path]) -> None:
    path = write_bot(**{"bot.yaml": BOT + "plugins:\n  handoff_keywords: {keywords: [投诉]}\n"})
    code, out = run("explain", str(path), "我要投诉退款")
    assert code == 0 and "(plugins do not run here" in out
    code, out = run("explain", str(write_bot(**{"other.yaml": BOT}) / "other.yaml"), "我要退款")
    assert code == 0 and "plugins do not run" not in out


def test_explain_does_not_say_unknown_words_lower_confidence_when_they_do_not(
    write_bot: Callable[..., Path],
) -> None:
    path = write_bot(**{"bot.yaml": BOT + "matcher: {count_unknown: false}\n"})
    code, out = run("explain", str(path), "量子力学退款")
    assert code == 0 and "count_unknown is off" in out and "they lower confidence" not in out


def test_lint_says_a_spacing_twin_is_one_and_shows_similarity_to_a_tenth(
    write_bot: Callable[..., Path],
) -> None:
    # "100% similar" for a pair whose cosine is 0.71; 0.948 (a warning) and 0.952 (an error)
    # both read "95% similar".
    twins = BOT.replace("[我要换货, 怎么换货,", "[我要 退款, 怎么换货,")
    path = write_bot(**{"bot.yaml": twins})
    code, out = run("lint", str(path), "--json")
    assert code == 1  # a duplicate is an error
    messages = [f["message"] for f in json.loads(out) if f["code"] == "duplicate-example"]
    assert messages == [
        "'我要退款' (refund) and '我要 退款' (exchange) are the same but for spacing and punctuation"
    ]
    findings = kefu.lint(engine_for(path).model, near_duplicate=0.3)
    similar = [f.message for f in findings if f.code == "near-duplicate-example"]
    assert similar and all(message.rsplit(" ", 2)[-2].count(".") == 1 for message in similar)
