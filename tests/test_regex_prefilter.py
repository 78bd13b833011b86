"""Bot regexes skip messages that lack a character every match needs (``kefu.bot_regex``).

A bounded run costs about 2 µs, a missing character 50 ns, and most messages match none
of a bot's patterns. The prefilter must never skip a message the pattern matches.
"""

from __future__ import annotations

import json
import logging
import random
from importlib import resources
from pathlib import Path

import pytest
import regex

import kefu
from kefu.bot_regex import compile_regex, finditer, fullmatch, required_characters, search
from kefu.normalize import normalize

DEMO_BOT = Path(str(resources.files("kefu.intents")))

PATTERNS = {
    # pattern: the characters every match holds
    "退(款|钱)": "退",
    "^查(一下)?订单$": "单查订",
    "sf\\d+": "fs",
    "a+b": "ab",
    "a*b": "b",
    "ab|ac": "a",
    "(?:人工|真人)客服": "人客服",  # a branch: what all its alternatives need
    "(?:退款|退货|换货)了": "了",  # re reads it as 退(?:款|货)|换货: no 货 in the first
    "(?:不要|不用)转人工": "不人工转",
    "(?=x)y": "y",  # a lookahead consumes nothing
    "(?<![么还])不退了": "不了退",
    "(a)\\1": "a",
    "x{0}y": "y",
    # nothing known
    "a|b": "",
    "[退换]货": "货",
    "(?i)abc": "",  # ignores case
    "(?i:ab)c": "",
    "(?x) a b": "",  # verbose: the spaces are not characters to look for
    "[[:alpha:]]x": "",  # regex's POSIX class, which re reads as a set and a "]"
    "(?:ab){e<=1}": "",  # regex's fuzzy matching, which re reads as literal braces
    "\\p{Han}人工": "",  # regex-only syntax
    "(?f)ab": "",
}


@pytest.mark.parametrize(("pattern", "needed"), PATTERNS.items())
def test_the_characters_every_match_needs(pattern: str, needed: str) -> None:
    assert required_characters(compile_regex(pattern)) == needed


def test_a_pattern_compiled_to_ignore_case_needs_nothing_known() -> None:
    assert required_characters(regex.compile("ab", regex.IGNORECASE)) == ""


def texts() -> list[str]:
    """Messages as the matcher sees them: the demo bot's examples and test rows, normalized,
    and random strings of the characters the patterns name."""
    spec = kefu.load_spec(DEMO_BOT)
    found = [e for intent in spec.intents for e in intent.examples]
    for name in ("heldout.jsonl", "dev.jsonl"):
        lines = (DEMO_BOT / "tests" / name).read_text(encoding="utf-8").splitlines()
        found += [json.loads(line)["text"] for line in lines]
    alphabet = sorted({c for p in [*PATTERNS, *patterns()] for c in p} | set("了人工退款不要 ab"))
    rng = random.Random(0)
    found += ["".join(rng.choices(alphabet, k=rng.randint(1, 8))) for _ in range(3000)]
    return [normalize(t) for t in found]


def patterns() -> list[str]:
    spec = kefu.load_spec(DEMO_BOT)
    return [p for intent in spec.intents for p in intent.patterns]


def test_no_message_a_pattern_matches_is_skipped() -> None:
    corpus = texts()
    checked = matched = 0
    for source in [*PATTERNS, *patterns()]:
        pattern = compile_regex(source)
        for text in corpus:
            unfiltered = pattern.search(text) is not None
            assert (search(pattern, text, "test") is not None) == unfiltered, (source, text)
            assert (fullmatch(pattern, text, "test") is not None) == (pattern.fullmatch(text) is not None)
            assert len(finditer(pattern, text, "test")) == len(list(pattern.finditer(text)))
            checked += 1
            matched += unfiltered
    assert matched > 500  # the corpus exercises matches, not only misses
    assert checked > 10 * len(corpus)


def test_a_runaway_pattern_costs_nothing_on_a_message_without_its_characters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pattern = compile_regex("退(a|aa)+$")
    with caplog.at_level(logging.WARNING, logger="kefu.bot_regex"):
        assert search(pattern, "a" * 40 + " b", "intent 'x'") is None
    assert caplog.text == ""  # not run, so it did not run out of time
    with caplog.at_level(logging.WARNING, logger="kefu.bot_regex"):
        assert search(pattern, "退" + "a" * 40 + " b", "intent 'x'") is None
    assert "ran out of time" in caplog.text  # the time bound still guards the rest
