"""Load on the example chat server: 500 WebSocket visitors talking to the bot for 30 s.

The server (``python examples/chat_server``, the demo bot, sessions in memory) runs in a
child process on a free loopback port; this process plays the visitors. They connect in
batches (ramp-up), then each one asks about an order again and again: "帮我查下订单
<number> 到哪了", waiting for the answer before the next question and at least
``PACE`` seconds between questions (a person types slower still; the server's
default rate limit is 5 a second). The order number is a per-visitor, per-message nonce
that the bot's order-number slot carries back into its answer, so every reply is checked:

* lost: no reply within ``REPLY_TIMEOUT`` seconds;
* misrouted: a reply whose ``reply_to`` or order number belongs to another message.

Latency is from sending a question to receiving its answer, on the visitor's side.
Loopback only, bounded in count (``VISITORS``) and time (ramp-up + ``DURATION`` +
``REPLY_TIMEOUT``); the machine here has 2 cores shared by server and visitors.

    python bench/chat_load.py [--visitors 500] [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from chat_server.launch import running_server

VISITORS = 500
DURATION = 30.0
PACE = 0.25
"""Least seconds between one visitor's questions."""
RAMP_BATCH = 50
RAMP_PAUSE = 0.5
REPLY_TIMEOUT = 15.0
ORDER_NUMBER = re.compile(r"\d{12,18}")


@dataclass
class Tally:
    """What the visitors saw, added up."""

    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    lost: int = 0
    misrouted: int = 0
    errors: int = 0
    connect_failures: int = 0
    notes: list[str] = field(default_factory=list)


async def _answer(ws: ClientConnection) -> dict[str, Any]:
    """The next reply frame (other frames, e.g. an error frame, are returned too)."""
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame["type"] in ("reply", "error"):
            return frame


def _check(frame: dict[str, Any], message_id: str, nonce: str, tally: Tally) -> None:
    if frame["type"] == "error":
        tally.errors += 1
        tally.notes.append(f"{message_id}: error {frame['code']}")
    elif frame.get("reply_to") != message_id or ORDER_NUMBER.findall(frame["text"]) != [nonce]:
        tally.misrouted += 1
        tally.notes.append(f"{message_id}: got {frame.get('reply_to')!r}: {frame['text'][:60]}")


async def visitor(number: int, url: str, start: asyncio.Event, stop_at: list[float], tally: Tally) -> None:
    """One visitor: connect, wait for the start, ask until the end of the run."""
    try:
        ws = await connect(f"{url}/ws/visitor", open_timeout=30, max_size=2**20)
    except (OSError, asyncio.TimeoutError) as exc:
        tally.connect_failures += 1
        tally.notes.append(f"visitor {number}: {exc}")
        return
    async with ws:
        await ws.recv()  # welcome
        await start.wait()
        asked = 0
        while time.monotonic() < stop_at[0]:
            asked += 1
            nonce, message_id = f"{number:06d}{asked:09d}", f"v{number}-{asked}"
            sent = time.perf_counter()
            await ws.send(
                json.dumps({"type": "message", "text": f"帮我查下订单 {nonce} 到哪了", "id": message_id})
            )
            tally.sent += 1
            try:
                frame = await asyncio.wait_for(_answer(ws), REPLY_TIMEOUT)
            except (asyncio.TimeoutError, OSError) as exc:
                tally.lost += 1
                tally.notes.append(f"{message_id}: no reply ({type(exc).__name__})")
                return
            tally.latencies.append(time.perf_counter() - sent)
            _check(frame, message_id, nonce, tally)
            await asyncio.sleep(max(0.0, PACE - (time.perf_counter() - sent)))


async def run(url: str, visitors: int, duration: float) -> tuple[Tally, float, float]:
    """All visitors against ``url``; returns the tally, ramp-up seconds and measured seconds."""
    tally, start, stop_at = Tally(), asyncio.Event(), [float("inf")]
    ws_url = url.replace("http://", "ws://")
    ramp_began = time.monotonic()
    tasks = []
    for first in range(0, visitors, RAMP_BATCH):
        for number in range(first, min(first + RAMP_BATCH, visitors)):
            tasks.append(asyncio.ensure_future(visitor(number, ws_url, start, stop_at, tally)))
        await asyncio.sleep(RAMP_PAUSE)
    await asyncio.sleep(1.0)  # let the last batch finish its handshakes
    ramp = time.monotonic() - ramp_began
    began = time.monotonic()
    stop_at[0] = began + duration
    start.set()
    await asyncio.wait_for(asyncio.gather(*tasks), duration + REPLY_TIMEOUT + 30)
    return tally, ramp, time.monotonic() - began


def raise_open_files(wanted: int) -> int:
    """Raise the soft open-files limit of this process (each visitor is one socket)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def main() -> None:
    """Run the load, print the table, write bench/results/chat_load.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--visitors", type=int, default=VISITORS, help="Concurrent visitors (default: %(default)s)."
    )
    parser.add_argument(
        "--duration", type=float, default=DURATION, help="Seconds of load (default: %(default)s)."
    )
    args = parser.parse_args()
    limit = raise_open_files(args.visitors + 200)
    if limit < args.visitors + 50:
        sys.exit(f"open-files limit {limit} is too low for {args.visitors} visitors: raise `ulimit -n`")
    log = benchlib.RESULTS / "chat_load.server.log"
    benchlib.RESULTS.mkdir(parents=True, exist_ok=True)
    with running_server({"KEFU_LOAD_PLUGINS": ""}, log=log) as url:
        tally, ramp, seconds = asyncio.run(run(url, args.visitors, args.duration))
    log.unlink(missing_ok=True)
    replies = len(tally.latencies)
    ms = [x * 1000 for x in tally.latencies] or [0.0]
    result = {
        "visitors": args.visitors,
        "connected": args.visitors - tally.connect_failures,
        "ramp_up_s": round(ramp, 2),
        "duration_s": round(seconds, 2),
        "questions": tally.sent,
        "replies": replies,
        "replies_per_s": round(replies / seconds, 1),
        "p50_ms": round(benchlib.percentile(ms, 50), 2),
        "p99_ms": round(benchlib.percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "lost": tally.lost,
        "misrouted": tally.misrouted,
        "error_frames": tally.errors,
        "connect_failures": tally.connect_failures,
        "pace_s": PACE,
        "first_problems": tally.notes[:20],
    }
    headers = [
        "visitors",
        "s",
        "replies",
        "msg/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "lost",
        "misrouted",
        "errors",
    ]
    row = [result[k] for k in ("connected", "duration_s", "replies", "replies_per_s", "p50_ms", "p99_ms")]
    row += [result["max_ms"], tally.lost, tally.misrouted, tally.errors + tally.connect_failures]
    print(benchlib.table(headers, [row]))
    for note in tally.notes[:20]:
        print("  ", note)
    print(f"wrote {benchlib.write('chat_load', result)}")
    if tally.lost or tally.misrouted or tally.connect_failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
