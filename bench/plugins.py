"""Reply throughput on the demo bot with the risk-control plugin on and off, in one run.

Off: the demo bot with the other built-ins only. On: the same bot files plus a
``plugins: {risk_control: ...}`` section as a user would write it: a 10,000-word list
(generated with a fixed seed) in a file next to the bot, rate limiting with a burst so
large it never blocks, and masking of replies and logs. The verdict is ``mask``, so
every message still reaches the matcher on both sides: with ``block`` a listed word
would skip matching and make the plugin look cheaper than it is.

Both engines answer the same 200 customer messages (the demo bot's own examples, plus
some with listed words and phone numbers) over fresh sessions each round. Each round
times both engines back to back, alternating which goes first; the overhead is the
median over rounds of that round's off/on ratio, less one, so load that drifts during
the run (machines here are shared) cancels within a round. Twenty rounds of 1,000
replies rather than fewer, longer ones: single rounds vary widely here, and the median
of many settles. The target is at most 20% overhead.

    python bench/plugins.py
"""

from __future__ import annotations

import collections
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchlib

import kefu

ROUNDS = 20
REPLIES_PER_ROUND = 1000
SESSIONS_PER_ROUND = 500
MESSAGES = 200
TARGET_OVERHEAD = 0.20
OFF_BUILTINS = ("kefu.plugins.default_fallback", "kefu.plugins.handoff_keywords")
REAL_WORDS = ["傻逼", "诈骗", "代开发票", "刷单返利", "赌博网站"]
RISK_CONTROL = """version: 1
plugins:
  risk_control:
    words: [{real}]
    words_file: sensitive.txt
    verdict: mask
    rate_limit: {{per_second: 1000, burst: 1000000}}
    mask_replies: true
    mask_logs: true
"""
# Messages a real customer might send that touch the plugin: listed words, phone numbers.
TOUCHING = [
    "你们客服是傻逼吗，我要退款",
    "这是不是诈骗啊，怎么还不发货",
    "能代开发票吗",
    "刷单返利是真的吗",
    "你们不会是赌博网站吧",
    "傻 逼客服，我的快递到哪了",
    "我的手机号是13812345678，帮我查下订单",
    "联系电话 139-1234-5678，收到请回电",
    "收货人手机+86 138 1234 5678，地址要改",
    "我换号了，新号码15912345678",
]


def generated_words(count: int = 10_000, seed: int = 20240601) -> list[str]:
    """Random 2-4 character words over the CJK Unified Ideographs, fixed seed."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def customer_messages(spec: kefu.BotSpec, words: Sequence[str]) -> list[str]:
    """About 200 messages: the demo bot's examples (hand-off intents left out, so sessions
    keep talking to the bot), some touching risk control, a few with generated words."""
    examples = [text for intent in spec.intents if intent.action != "handoff" for text in intent.examples]
    with_words = [f"{words[i]}，我要退款" for i in (11, 2222, 7777)]
    wanted = MESSAGES - len(TOUCHING) - len(with_words)
    step = max(1, len(examples) // wanted)
    return [*examples[::step][:wanted], *TOUCHING, *with_words]


def bot_with_risk_control(folder: Path, words: Sequence[str]) -> Path:
    """A copy of the demo bot's files in ``folder`` plus its risk-control settings and word list."""
    for file in sorted(benchlib.DEMO_BOT.glob("*.yaml")):
        shutil.copy(file, folder / file.name)
    (folder / "sensitive.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    real = ", ".join(REAL_WORDS)
    (folder / "zz_risk_control.yaml").write_text(RISK_CONTROL.format(real=real), encoding="utf-8")
    return folder


def replies_per_second(
    engine: kefu.Engine, messages: Sequence[str], round_: int, unique: bool = False
) -> float:
    """Answer ``REPLIES_PER_ROUND`` messages over fresh sessions; replies per second.

    With ``unique`` every message gets a word of its own (``qkx…``), so no cache of the
    engine or of the plugin ever sees a text twice: the cost of traffic that never repeats.
    """
    texts = [
        f"{messages[i % len(messages)]} {_tag(round_, i)}" if unique else messages[i % len(messages)]
        for i in range(REPLIES_PER_ROUND)
    ]
    start = time.perf_counter()
    for i, text in enumerate(texts):
        engine.reply(text, session_id=f"r{round_}-u{i % SESSIONS_PER_ROUND}")
    return REPLIES_PER_ROUND / (time.perf_counter() - start)


def _tag(round_: int, i: int) -> str:
    """A short lower-case word unique to (round, i), made of letters only (no digits to mask)."""
    number, letters = (round_ + 1) * 100_000 + i, []
    while number:
        number, digit = divmod(number, 26)
        letters.append(chr(ord("a") + digit))
    return "q" + "".join(letters)


def first_replies(engine: kefu.Engine, messages: Sequence[str]) -> list[kefu.Reply]:
    """Each message answered as the first of its own session."""
    return [engine.reply(text, session_id=f"check-{i}") for i, text in enumerate(messages)]


def actions(replies: Sequence[kefu.Reply]) -> dict[str, int]:
    """What an engine did with the messages (sanity: both sides do the same work)."""
    counts = collections.Counter(reply.action for reply in replies)
    counts["masked message"] = sum("rewritten by risk_control" in reply.trace for reply in replies)
    return dict(sorted(counts.items()))


def measure(
    off: kefu.Engine, on: kefu.Engine, messages: Sequence[str], unique: bool = False
) -> dict[str, list[float]]:
    """Replies/s per round for each engine, back to back, alternating which goes first."""
    rates: dict[str, list[float]] = {"off": [], "on": []}
    for engine in (off, on):
        replies_per_second(engine, messages, -1, unique)  # warm-up: jieba, caches, code paths
    for round_ in range(ROUNDS):
        order = (("off", off), ("on", on)) if round_ % 2 == 0 else (("on", on), ("off", off))
        for name, engine in order:
            rates[name].append(replies_per_second(engine, messages, round_, unique))
    return rates


def main() -> None:
    """Run the benchmark, print the table and write bench/results/plugins.json."""
    words = generated_words()
    messages = customer_messages(kefu.load_spec(benchlib.DEMO_BOT), words)
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        off = kefu.Engine.from_path(benchlib.DEMO_BOT, seed=0, builtin_plugins=OFF_BUILTINS)
        on = kefu.Engine.from_path(bot_with_risk_control(Path(tmp), words), seed=0)
    assert [p.name for p in on.plugins][-1] == "risk_control", on.plugin_failures
    action_counts = {"off": actions(first_replies(off, messages)), "on": actions(first_replies(on, messages))}
    listed_words = len(words) + len(REAL_WORDS)
    rows: list[list[object]] = []
    result: dict[str, Any] = {}
    for traffic, unique in (("repeated messages", False), ("unique messages", True)):
        rates = measure(off, on, messages, unique)
        off_rate, on_rate = benchlib.median(rates["off"]), benchlib.median(rates["on"])
        paired = [a / b - 1.0 for a, b in zip(rates["off"], rates["on"], strict=True)]
        overhead = benchlib.median(paired)  # extra time per reply, rounds measured back to back
        rows += [
            [traffic, "risk_control off", off_rate, 1e6 / off_rate, "-"],
            [
                traffic,
                "risk_control on",
                on_rate,
                1e6 / on_rate,
                f"{overhead:+.1%} ({min(paired):+.0%} to {max(paired):+.0%})",
            ],
        ]
        result[traffic] = {
            "replies_per_second": rates,
            "median_replies_per_second": {"off": off_rate, "on": on_rate},
            "overhead_per_round": paired,
            "overhead": overhead,
            "target_met": overhead <= TARGET_OVERHEAD,
        }
    print(
        benchlib.table(["traffic", "configuration", "median replies/s", "us/reply", "overhead (range)"], rows)
    )
    print(
        f"{len(messages)} messages, {ROUNDS} rounds x {REPLIES_PER_ROUND} replies per traffic kind, "
        f"{listed_words:,} listed words; overhead = median of per-round ratios"
    )
    print(f"actions: off {action_counts['off']}, on {action_counts['on']}")
    for traffic, numbers in result.items():
        verdict = "met" if numbers["target_met"] else "NOT met"
        overhead = numbers["overhead"]
        print(f"target: at most {TARGET_OVERHEAD:.0%} overhead, {traffic}: {verdict} ({overhead:+.1%})")
    result.update(
        messages=len(messages),
        rounds=ROUNDS,
        replies_per_round=REPLIES_PER_ROUND,
        listed_words=listed_words,
        target_overhead=TARGET_OVERHEAD,
        actions=action_counts,
    )
    print(f"wrote {benchlib.write('plugins', result)}")


if __name__ == "__main__":
    main()
