"""Scripted conversation tests: what the user says, and what the bot must do in reply.

A dialogue file::

    version: 1
    dialogues:
      - name: 查订单后问运费再转人工
        steps:
          - user: 我的订单到哪了
            intent: order_status        # Reply.intent
            action: prompt              # Reply.action
            reply_contains: 订单号       # a substring of Reply.text
          - user: "2024112712345678"
            slots: {order_id: "2024112712345678"}   # these slots, with these values
          - user: 那运费呢?
            intent: shipping_fee_followup
            contexts: [order]           # contexts open after this step
          - user: 转人工
            handoff: true

Every expectation is optional; a step with none only has to get a reply. ``slots: {}``
and ``contexts: []`` expect none at all (a named slot or context only has to be there).
Each dialogue runs in a fresh session. ``kefu test BOT --dialogues FILE`` and pytest both run them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kefu.checks import FileChecker
from kefu.errors import SpecError
from kefu.yamlsource import PathKey, read_yaml

if TYPE_CHECKING:
    from kefu.engine import Engine
    from kefu.values import Reply

__all__ = ["Dialogue", "DialogueResult", "Step", "read_dialogues", "run_dialogue"]

STEP_KEYS = ("user", "intent", "action", "slots", "reply", "reply_contains", "handoff", "contexts")


@dataclass(frozen=True)
class Step:
    """One user message and the expectations on the bot's reply."""

    user: str
    line: int
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dialogue:
    """A named conversation script."""

    name: str
    file: str
    line: int
    steps: tuple[Step, ...]


@dataclass
class DialogueResult:
    """How a dialogue went: one message per failed expectation, with its file:line."""

    dialogue: Dialogue
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return not self.failures


def read_dialogues(path: str | Path) -> list[Dialogue]:
    """Parse and validate a dialogue file; ``SpecError`` lists every problem."""
    src = read_yaml(Path(path))
    c = FileChecker(src)
    dialogues: list[Dialogue] = []
    data = src.data
    if not src.problems:
        data = c.mapping((), data, ("version", "dialogues"))
        c.version(data)
        items = data.get("dialogues")
        if not isinstance(items, list) or not items:
            c.problem(("dialogues",) if "dialogues" in data else (), "`dialogues` must be a non-empty list")
            items = []
        for i, item in enumerate(items):
            dialogue = _dialogue(c, ("dialogues", i), item)
            if dialogue is not None:
                dialogues.append(dialogue)
    if src.problems:
        raise SpecError(src.problems)
    return dialogues


def _dialogue(c: FileChecker, path: PathKey, value: Any) -> Dialogue | None:
    data = c.mapping(path, value, ("name", "steps"))
    name = c.text((*path, "name"), data.get("name", f"dialogue {path[-1]}"))
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        c.problem(path, "a dialogue needs `steps`: a non-empty list")
        return None
    steps = []
    for i, raw in enumerate(steps_raw):
        where = (*path, "steps", i)
        step = c.mapping(where, raw, STEP_KEYS)
        user = c.text((*where, "user"), step["user"], allow_empty=True) if "user" in step else None
        if user is None:
            if "user" not in step:
                c.problem(where, "a step needs `user`: what the user says")
            continue
        steps.append(Step(user, c.src.line(where), _expectations(c, where, step)))
    return Dialogue(name or "", str(c.src.path), c.src.line(path), tuple(steps))


def _expectations(c: FileChecker, where: PathKey, step: dict[str, Any]) -> dict[str, Any]:
    """A step's expectations, each checked for the kind of value it is compared with
    (a wrong one used to surface as a TypeError in the middle of the run)."""
    expect: dict[str, Any] = {}
    for key, value in step.items():
        at = (*where, key)
        if key == "user":
            continue
        if key == "intent" and value is None:  # the bot must fall back
            expect[key] = None
        elif key in ("intent", "action", "reply", "reply_contains"):
            expect[key] = c.text(at, value, allow_empty=key == "reply")
        elif key == "handoff":
            expect[key] = c.flag(at, value)
        elif key == "slots":
            slots = c.mapping(at, value, None)
            expect[key] = {name: c.text((*at, name), text, allow_empty=True) for name, text in slots.items()}
        elif key == "contexts":
            expect[key] = c.texts(at, value, single_ok=True)
    return expect


def run_dialogue(engine: Engine, dialogue: Dialogue) -> DialogueResult:
    """Play a dialogue against ``engine`` in a new session and check every expectation."""
    session_id = f"dialogue-{uuid.uuid4().hex}"
    result = DialogueResult(dialogue)
    try:
        for step in dialogue.steps:
            reply = engine.reply(step.user, session_id=session_id)
            for problem in _check(engine, session_id, step, reply):
                result.failures.append(f"{dialogue.file}:{step.line}: {problem}")
    finally:
        engine.end_session(session_id)
    return result


def _check(engine: Engine, session_id: str, step: Step, reply: Reply) -> list[str]:
    expect, problems = step.expect, []
    said = f"(bot said {reply.text!r}, intent {reply.intent}, action {reply.action})"
    for key in ("intent", "action", "handoff"):
        if key in expect and getattr(reply, key) != expect[key]:
            problems.append(
                f"{step.user!r}: expected {key} {expect[key]!r}, got {getattr(reply, key)!r} {said}"
            )
    if "reply" in expect and reply.text != expect["reply"]:
        problems.append(f"{step.user!r}: expected reply {expect['reply']!r} {said}")
    if "reply_contains" in expect and str(expect["reply_contains"]) not in reply.text:
        problems.append(f"{step.user!r}: expected the reply to contain {expect['reply_contains']!r} {said}")
    for name, value in (expect.get("slots") or {}).items():
        if reply.slots.get(name) != str(value):
            problems.append(
                f"{step.user!r}: expected slot {name}={value!r}, got {reply.slots.get(name)!r} {said}"
            )
    if expect.get("slots") == {} and reply.slots:
        problems.append(f"{step.user!r}: expected no slots, got {dict(reply.slots)!r} {said}")
    if "contexts" in expect:
        session = engine.session(session_id)
        open_now = set(session.active_contexts(engine.clock())) if session else set()
        missing = set(expect["contexts"] or ()) - open_now
        if missing:
            problems.append(
                f"{step.user!r}: expected contexts {sorted(missing)} to be open, open: {sorted(open_now)}"
            )
        elif not expect["contexts"] and open_now:
            problems.append(f"{step.user!r}: expected no contexts open, open: {sorted(open_now)}")
    return problems
