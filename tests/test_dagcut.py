"""kefu's DAG segmentation gives exactly jieba's words (HMM off), user words included."""

from __future__ import annotations

import json
import random
import re
from importlib import resources
from pathlib import Path

import pytest

import kefu
from kefu.spec import NlpSettings
from kefu.text import TextAnalyzer

DEMO = Path(str(resources.files("kefu.intents")))
ALPHABET = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事"
    "退款快递订单运费七天无理由顺丰iPhone15 ABCxyz0123456789+#&._%- 　，。！？😀"
)


def sentences() -> list[str]:
    rng = random.Random(42)
    spec = kefu.load_spec(DEMO)
    texts = [e for intent in spec.intents for e in intent.examples]
    held = (DEMO / "tests" / "heldout.jsonl").read_text(encoding="utf-8").splitlines()
    texts += [json.loads(line)["text"] for line in held]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    return [kefu.normalize(t) for t in texts]


@pytest.mark.parametrize(
    "nlp",
    [
        NlpSettings(),  # jieba's dictionary alone
        kefu.load_spec(DEMO).nlp,  # the demo bot's user words and synonyms
        NlpSettings(
            user_dict=("七天无理由退", "款快", "递订单运")
        ),  # odd user words that change segmentation
    ],
    ids=["plain", "demo-bot", "odd-user-words"],
)
def test_segmentation_is_identical_to_jieba(nlp: NlpSettings) -> None:
    analyzer = TextAnalyzer(nlp)
    jieba_tokenizer = analyzer._tokenizer
    different = [t for t in sentences() if analyzer._cut(t) != jieba_tokenizer.lcut(t, HMM=False)]
    assert different == []


def test_hmm_bots_still_use_jieba_itself() -> None:
    analyzer = TextAnalyzer(NlpSettings(hmm=True))
    text = "我来到北京清华大学看望韩冰"  # 韩冰 is only found by the HMM
    assert analyzer.tokens(text) == analyzer._tokenizer.lcut(text, HMM=True)
    assert "韩冰" in analyzer.tokens(text)


@pytest.mark.parametrize(
    ("nlp", "adopted"),
    [
        (NlpSettings(), True),  # jieba's dictionary alone: rjieba cuts the same
        # The demo bot adds words jieba already knows (顺丰, 中通): jieba adds their weight to
        # its total a second time, rjieba does not, so the totals differ and so do some cuts
        # of unrelated words (太差).
        (kefu.load_spec(DEMO).nlp, False),
    ],
    ids=["plain", "demo-bot"],
)
def test_rjieba_is_used_only_when_it_segments_identically(nlp: NlpSettings, adopted: bool) -> None:
    pytest.importorskip("rjieba")
    texts = sentences()
    analyzer = TextAnalyzer(nlp)
    assert analyzer.use_fast_tokenizer(texts) is adopted
    cuts = [latin_runs_joined(analyzer._tokenizer.lcut(t, HMM=False)) for t in texts]
    expected = [[analyzer.synonyms.get(w, w) for w in words] for words in cuts]
    assert [analyzer.tokens(t) for t in texts] == expected


def latin_runs_joined(words: list[str]) -> list[str]:
    """jieba's words with neighbours made only of ASCII letters and digits joined."""
    joined: list[str] = []
    for word in words:
        if joined and re.fullmatch("[a-z0-9]+", word) and re.fullmatch("[a-z0-9]+", joined[-1]):
            joined[-1] += word
        else:
            joined.append(word)
    return joined


@pytest.mark.parametrize("hmm", [False, True])
@pytest.mark.parametrize(
    ("text", "words"),
    [
        # an order number holding the user word 618 was cut into 618 and the rest
        ("我的订单6180012345到哪了", ["我", "的", "订单", "6180012345", "到", "哪", "了"]),
        ("订单号123156789", ["订单号", "123156789"]),
        ("apple手机", ["apple", "手机"]),  # was app, le
        # where they are written apart from other letters and digits, they are words
        ("618有活动吗", ["618", "有", "活动", "吗"]),
        ("要去12315告你们", ["要", "去", "12315", "告", "你们"]),
        ("app打不开", ["app", "打不开"]),
    ],
)
def test_a_user_word_of_letters_or_digits_never_splits_a_longer_run(
    hmm: bool, text: str, words: list[str]
) -> None:
    analyzer = TextAnalyzer(NlpSettings(user_dict=("618", "12315", "app"), hmm=hmm))
    assert analyzer.words(analyzer.tokens(text)) == words
