"""`nlp.synonyms`: a variant reads as its canonical word, also when either is several words."""

from __future__ import annotations

import random
import re

import pytest

import kefu
from kefu.normalize import word_pattern
from kefu.text import _Phrases

BOT = """
version: 1
bot: {name: 测试, threshold: 0.1}
nlp:
  synonyms:
    退钱: 退款
    credit cards: credit card
    7天 无理由: 七天无理由
    cc: credit card
intents:
  - name: lost_card
    examples: [credit card lost, 我的credit card丢了, credit card 挂失]
    responses: [好的，为您挂失]
  - name: return
    examples: [七天无理由退货, 支持七天无理由吗, 怎么申请七天无理由]
    responses: [支持七天无理由退货]
  - name: refund
    examples: [我要退款, 退款多久到账, 申请退款]
    responses: [好的，为您办理退款]
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> kefu.Engine:
    folder = tmp_path_factory.mktemp("synonyms")
    (folder / "bot.yaml").write_text(BOT, encoding="utf-8")
    return kefu.Engine.from_path(folder, load_entry_points=False)


@pytest.mark.parametrize(
    ("message", "reads_as"),
    [
        ("我要退钱", "我要退款"),  # one word for one word, as always
        # A variant of several words never applied: no jieba word holds a space.
        ("My Credit-Cards are lost", "my credit card are lost"),
        ("我要7天 无理由退货", "我要七天无理由退货"),
        # A canonical of several words reads as the words the examples have.
        ("cc lost", "credit card lost"),
    ],
)
def test_a_variant_reads_as_its_canonical(engine: kefu.Engine, message: str, reads_as: str) -> None:
    assert engine.segment(message) == engine.segment(reads_as)
    assert engine.match(message).confidence == pytest.approx(engine.match(reads_as).confidence)


@pytest.mark.parametrize("message", ["credit cardsx lost", "xcredit cards lost"])
def test_a_latin_variant_is_not_replaced_inside_a_longer_word(engine: kefu.Engine, message: str) -> None:
    assert "card" not in engine.segment(message)


@pytest.mark.parametrize(("message", "words"), [("I accept", ["i", "accept"]), ("ccc", ["ccc"])])
def test_a_one_word_latin_variant_is_not_replaced_inside_a_longer_word(
    engine: kefu.Engine, message: str, words: list[str]
) -> None:
    # `cc: credit card` made "accept" read as a, credit, card, ept
    assert engine.segment(message) == words


def test_the_bot_answers_with_the_canonical_intent(engine: kefu.Engine) -> None:
    assert engine.match("my credit cards lost").intent == "lost_card"
    assert engine.match("cc丢了").intent == "lost_card"
    assert engine.match("7天 无理由能退吗").intent == "return"


def _as_one_regex(phrases: dict[str, str], text: str) -> str:
    """How phrases were replaced before: one alternation of their patterns, longest first."""
    pattern = re.compile("|".join(word_pattern(p) for p in sorted(phrases, key=len, reverse=True)))
    return pattern.sub(lambda match: phrases[match[0]], text)


def test_phrases_are_replaced_as_one_alternation_of_their_patterns_would() -> None:
    """The regex of 2,000 phrases took 8 s to compile on every start and 20 ms a message;
    the automaton that replaced it must replace exactly the same text."""
    rng = random.Random(7)
    words = ["credit", "card", "a1", "7天", "无理由", "退货", "vip", "1", "b", "卡"]
    for _ in range(2_000):
        phrases = {
            " ".join(rng.choice(words) for _ in range(rng.randint(2, 3))): f"c{i}"
            for i in range(rng.randint(1, 6))
        }
        text = " ".join(rng.choice([*words, "x", "xcredit", "card1"]) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.3:
            text = text.replace(" ", "", 1)  # a phrase's words glued to another word
        assert _Phrases(phrases).sub(text) == _as_one_regex(phrases, text), (phrases, text)
