"""Memory of idle sessions in ``MemoryStore``: per session, and 1,000,000 of them.

Two kinds of idle session, measured in one run: a fresh one (opened, nothing said yet)
and one after a real exchange through the demo bot (one turn in its history, an open
context, a slot). Resident memory (RSS, from /proc) is read before and after filling a
store; the baseline is the same process with an empty store.

    python bench/sessions.py                # 1,000,000 sessions (about a minute)
    python bench/sessions.py --count 100000
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import benchlib

import kefu
from kefu.memory_store import MemoryStore
from kefu.sessions import Session

TARGET_MB = 1000.0  # issue 3: at most 1 GB for 1,000,000 idle sessions


def rss_mb() -> float:
    """Resident set size of this process in MB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def template_session(engine: kefu.Engine) -> Session:
    """A session as it is after "我的订单2024112712345678到哪了" with the demo bot."""
    engine.reply("我的订单2024112712345678到哪了", session_id="template")
    session = engine.session("template")
    assert session is not None
    return session


def fill(count: int, template: Session | None) -> tuple[float, float]:
    """RSS growth (MB) and seconds to put ``count`` sessions into a fresh store."""
    gc.collect()
    store = MemoryStore(max_sessions=count, idle_ttl=3600)
    before = rss_mb()
    start = time.perf_counter()
    raw = template.to_dict() if template is not None else None
    for i in range(count):
        if raw is None:
            session = Session(f"visitor-{i:08d}", 1_800_000_000.0)
        else:
            session = Session.from_dict({**raw, "id": f"visitor-{i:08d}"})
        store.put(session)
    seconds = time.perf_counter() - start
    gc.collect()
    grown = rss_mb() - before
    assert len(store) == count
    del store
    gc.collect()
    return grown, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="Sessions per store.")
    args = parser.parse_args()
    engine = kefu.Engine.from_path(benchlib.DEMO_BOT, seed=0)
    template = template_session(engine)
    rows = []
    results = {}
    for name, shape in (("fresh", None), ("after one exchange", template)):
        print(f"filling {args.count:,} {name} sessions ...", file=sys.stderr, flush=True)
        grown, seconds = fill(args.count, shape)
        # Bytes per session is also MB per 1,000,000 sessions (a MB being 1e6 bytes).
        per_session = grown * 1e6 / args.count
        rows.append([name, args.count, grown, per_session, per_session, seconds])
        results[name] = {"count": args.count, "rss_mb": grown, "bytes_per_session": per_session,
                         "mb_per_million": per_session, "fill_seconds": seconds}  # fmt: skip
    print(
        benchlib.table(["idle session", "sessions", "RSS MB", "bytes/session", "MB per 1M", "fill s"], rows)
    )
    worst = max(r["mb_per_million"] for r in results.values())
    verdict = "met" if worst <= TARGET_MB else "MISSED"
    print(f"\ntarget: at most {TARGET_MB:.0f} MB per 1,000,000 idle sessions: {verdict}")
    path = benchlib.write("sessions", {"results": results, "target_mb_per_million": TARGET_MB})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
