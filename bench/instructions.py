"""Instructions, not seconds: this checkout beside another revision, counted by valgrind.

The machines here are shared, and two timing runs of the same code differ by 20% or
more, which hides the few percent a change to the reply path is worth. Instruction
counts do not move with the neighbours' load: each workload runs under
``valgrind --tool=callgrind`` with counting switched on only around its loop (setup,
imports and training are not counted), once with this checkout's ``kefu`` and once with
the baseline revision's (``git archive``, laid out as the installed package), side by
side. Both use this checkout's demo bot and bench code, so only the engine differs.

* ``reply-unique``: two rounds of demo-bot replies to ``speed.py``'s queries (the demo
  bot's held-out questions, and SMP2017's test questions when ``../shared/data`` is
  there), every message new (verdict cache cleared);
* ``reply-repeated``: the same with ``speed.py``'s repetitive traffic (a Pareto mix of 30 texts);
* ``match-10k``: ``Runtime.match`` of 1,000 of those queries on ``speed.py``'s 10k bot.

Counts leave out what instructions do not show (cache misses, NumPy's memory traffic), so
a change is also timed with ``speed.py``; here they decide whether a change of a few
percent is real. Needs valgrind (``apt-get install valgrind``); each workload takes
about a minute under it.

    python bench/instructions.py                # against HEAD (what the working tree changes)
    python bench/instructions.py --base HEAD~3  # against an older revision
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# pyproject.toml's [tool.setuptools] package-dir: where each part of `kefu` lives.
PACKAGE_DIRS = {"engine": "kefu", "plugins": "kefu/plugins", "intents": "kefu/intents", "cli": "kefu/cli"}
COLLECTED = re.compile(r"Collected : (\d+)")


def workloads() -> dict[str, Callable[[], Callable[[], None]]]:
    """Name -> setup (not counted) returning the loop to count."""
    return {"reply-unique": _reply_unique, "reply-repeated": _reply_repeated, "match-10k": _match_10k}


def _queries() -> list[str]:
    """``speed.py``'s queries: the demo bot's held-out questions and SMP2017's test questions."""
    import speed

    from kefu.normalize import normalize

    return list(dict.fromkeys(q for q in speed.base_sentences()[1] if normalize(q)))


def _replies(texts: list[str], clear: bool) -> Callable[[], None]:
    import benchlib

    import kefu

    engine = kefu.Engine.from_path(benchlib.DEMO_BOT, seed=0, load_entry_points=False)
    for i, text in enumerate(texts):  # warm: lazy tables, first sessions
        engine.reply(text, session_id=f"warm-{i % 500}")

    def loop() -> None:
        for round_ in range(2):
            if clear:  # every message new to the engine, in every round
                benchlib.forget_messages(engine)
            for i, text in enumerate(texts):
                engine.reply(text, session_id=f"{round_}-{i % 500}")

    return loop


def _reply_unique() -> Callable[[], None]:
    return _replies(_queries(), clear=True)


def _reply_repeated() -> Callable[[], None]:
    import speed

    return _replies(speed.repetitive_traffic(_queries()), clear=False)


def _match_10k() -> Callable[[], None]:
    import benchlib
    import speed

    from kefu.model import train
    from kefu.runtime import build_runtime

    pairs, queries = speed.base_sentences()
    runtime = build_runtime(train(speed.synthetic_bot(pairs, 10_000, 250)), with_plugins=False)
    texts = queries[:1000]
    for text in texts:
        runtime.match(text)

    def loop() -> None:
        benchlib.forget_texts()  # the warm-up saw these texts; each is matched once below
        for text in texts:
            runtime.match(text)

    return loop


def run_one(name: str) -> None:
    """In the child, under valgrind: set up, then count only the loop."""
    loop = workloads()[name]()
    control = shutil.which("callgrind_control") or "callgrind_control"
    subprocess.run([control, "--instr=on", str(os.getpid())], check=True, capture_output=True)
    loop()
    subprocess.run([control, "--instr=off", str(os.getpid())], check=True, capture_output=True)


def count(name: str, kefu_path: Path | None, folder: Path) -> int:
    """Instructions of workload ``name`` with ``kefu`` from ``kefu_path`` (None: this checkout)."""
    env = dict(
        os.environ,
        PYTHONHASHSEED="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(kefu_path or ""), str(HERE)])),
    )
    out = folder / f"{name}-{'base' if kefu_path else 'new'}.out"
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
        sys.executable, str(Path(__file__).resolve()), "--run", name,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    counted = COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not counted:
        raise SystemExit(f"{name} failed under valgrind:\n{done.stderr[-3000:]}")
    return int(counted[-1])


def baseline(revision: str, folder: Path) -> Path:
    """``revision`` of the repository laid out as the installed package, under ``folder``."""
    archive = folder / "base.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), revision], check=True)
    source = folder / "src"
    source.mkdir()
    subprocess.run(["tar", "-x", "-f", str(archive), "-C", str(source)], check=True)
    for part, target in PACKAGE_DIRS.items():
        shutil.copytree(source / part, folder / "tree" / target, dirs_exist_ok=True)
    return folder / "tree"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD", help="The revision to compare with (default: HEAD).")
    parser.add_argument("--only", choices=sorted(workloads()), action="append", help="Run only these.")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_one(args.run)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    import benchlib

    names = args.only or list(workloads())
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        base = baseline(args.base, folder)
        for name in names:
            print(f"{name} ...", file=sys.stderr, flush=True)
            with ThreadPoolExecutor(2) as pool:  # the two counts side by side, one core each
                old, new = pool.map(count, [name, name], [base, None], [folder, folder])
            results[name] = {"base": old, "new": new, "new / base": new / old}
            rows.append([name, old / 1e6, new / 1e6, f"{new / old:.3f}"])
    print(benchlib.table(["workload", f"{args.base} (M instr)", "working tree (M instr)", "ratio"], rows))
    path = benchlib.write("instructions", {"base": args.base, "workloads": results})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
