"""``reply`` throughput and latency with sessions in memory and in Redis on loopback, in one run.

Both engines serve the demo bot (trained once, from the same files) and answer the same
messages: the demo bot's held-out customer messages, hand-off intents left out so
sessions keep talking to the bot. The Redis side talks to a private ``redis-server``
this script starts on a free loopback port (no persistence), so it measures kefu's
round trips, not the network.

One thread: each round sends ``REPLIES_PER_ROUND`` messages to each engine over fresh
sessions (every session gets 10 messages, so most replies update an existing
session), back to back, alternating which engine goes first; throughput is the median
over rounds, latency percentiles are over every timed reply. Eight threads: the same,
with the round's messages split over eight threads, to show what overlapping Redis
round trips buys when the CPU is shared.

    python bench/redis_store.py
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import benchlib
import redis

import kefu
from kefu import RedisStore

ROUNDS = 12
REPLIES_PER_ROUND = 2000
SESSIONS_PER_ROUND = 200
THREADS = 8


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="kefu-bench-redis-") as folder:
        options = ["--port", str(port), "--bind", "127.0.0.1", "--dir", folder]
        options += ["--save", "", "--appendonly", "no", "--logfile", "redis.log"]
        process = subprocess.Popen([binary, *options], stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_for_ping(url)
            yield url
        finally:
            process.terminate()
            process.wait(10)


def wait_for_ping(url: str, timeout: float = 10.0) -> None:
    """Return once Redis at ``url`` answers PING."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def customer_messages(spec: kefu.BotSpec) -> list[str]:
    """The demo bot's held-out messages (customers' wording, not its training examples),
    hand-off intents left out so sessions keep talking to the bot."""
    handoff = {intent.name for intent in spec.intents if intent.action == "handoff"}
    rows = benchlib.jsonl(benchlib.DEMO_BOT / "tests" / "heldout.jsonl")
    return [row["text"] for row in rows if row["intent"] not in handoff]


def session_id(round_: int, i: int) -> str:
    """The session of reply ``i`` in round ``round_``: fresh each round, 10 replies each."""
    return f"r{round_}-u{i % SESSIONS_PER_ROUND}"


def work(round_: int, messages: Sequence[str]) -> list[tuple[str, str]]:
    """One round's (session id, text)."""
    return [(session_id(round_, i), messages[i % len(messages)]) for i in range(REPLIES_PER_ROUND)]


def timed_replies(engine: kefu.Engine, items: Sequence[tuple[str, str]], latencies: list[float]) -> None:
    """Answer ``items`` in order, appending each reply's seconds to ``latencies``."""
    for session_id, text in items:
        start = time.perf_counter()
        engine.reply(text, session_id=session_id)
        latencies.append(time.perf_counter() - start)


def run_round(
    engine: kefu.Engine, items: Sequence[tuple[str, str]], threads: int
) -> tuple[float, list[float]]:
    """Replies per second for one round, and every reply's latency."""
    shares: list[list[float]] = [[] for _ in range(threads)]
    pool = [
        threading.Thread(target=timed_replies, args=(engine, items[n::threads], shares[n]))
        for n in range(threads)
    ]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    return len(items) / elapsed, [s for share in shares for s in share]


def measure(engines: dict[str, kefu.Engine], messages: Sequence[str], threads: int) -> dict[str, Any]:
    """Per-round throughput and all latencies for each engine, alternating which goes first."""
    results: dict[str, Any] = {name: {"rates": [], "latencies": []} for name in engines}
    for engine in engines.values():
        run_round(engine, work(-1 - threads, messages), threads)  # warm-up
    names = list(engines)
    for round_ in range(ROUNDS):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            items = work(round_ + 1000 * threads, messages)
            rate, latencies = run_round(engines[name], items, threads)
            results[name]["rates"].append(rate)
            results[name]["latencies"].extend(latencies)
    return results


def summary(results: dict[str, Any]) -> dict[str, float]:
    """Median replies/s over rounds; p50 and p99 latency in milliseconds over all replies."""
    latencies = results["latencies"]
    return {
        "replies_per_second": benchlib.median(results["rates"]),
        "p50_ms": 1000 * benchlib.percentile(latencies, 50),
        "p99_ms": 1000 * benchlib.percentile(latencies, 99),
    }


def main() -> None:
    """Run the benchmark, print the table and write bench/results/redis_store.json."""
    model = kefu.Engine.from_path(benchlib.DEMO_BOT).model
    messages = customer_messages(model.spec)
    with redis_server() as url:
        store = RedisStore(url)
        engines = {
            "MemoryStore": kefu.Engine(model, seed=0),
            "RedisStore": kefu.Engine(model, store=store, seed=0),
        }
        measured = {threads: measure(engines, messages, threads) for threads in (1, THREADS)}
        stored = [store.get(session_id(1000, n)) for n in range(SESSIONS_PER_ROUND)]
        sizes = [len(s.to_json().encode()) for s in stored if s is not None]
    rows = []
    summaries: dict[str, dict[str, dict[str, float]]] = {}
    for threads, results in measured.items():
        summaries[str(threads)] = {name: summary(result) for name, result in results.items()}
        memory = summaries[str(threads)]["MemoryStore"]["replies_per_second"]
        for name, figures in summaries[str(threads)].items():
            ratio = figures["replies_per_second"] / memory
            rows.append(
                [name, threads, figures["replies_per_second"], figures["p50_ms"], figures["p99_ms"], ratio]
            )
    print(benchlib.table(["store", "threads", "replies/s", "p50 ms", "p99 ms", "vs memory"], rows))
    print(
        f"demo bot, {len(messages)} messages, {ROUNDS} rounds x {REPLIES_PER_ROUND} replies over "
        f"{SESSIONS_PER_ROUND} sessions per engine and thread count; redis-server on loopback; "
        f"stored session JSON median {benchlib.median(sizes):.0f} bytes"
    )
    result: dict[str, Any] = {
        "messages": len(messages),
        "rounds": ROUNDS,
        "replies_per_round": REPLIES_PER_ROUND,
        "sessions_per_round": SESSIONS_PER_ROUND,
        "summary": summaries,
        "replies_per_second": {
            str(threads): {name: r["rates"] for name, r in results.items()}
            for threads, results in measured.items()
        },
        "session_json_bytes_median": benchlib.median(sizes),
    }
    print(f"wrote {benchlib.write('redis_store', result)}")


if __name__ == "__main__":
    main()
