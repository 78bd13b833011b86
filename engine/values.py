"""Frozen value objects passed between the pipeline's stages and to plugins.

Plugins never mutate these; they return new ones (``dataclasses.replace``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Block", "Candidate", "Match", "Message", "Reply"]

_NEW_DICT: Any = object()
"""The default of a field whose default is a new empty dict (``field(default_factory=dict)``)
in a hand-written ``__init__``: None would let ``Reply(slots=None)`` pass for no slots."""


@dataclass(frozen=True, init=False)
class Message:
    """A user's message as the engine received it (``text`` may be rewritten by plugins)."""

    text: str
    session_id: str
    received_at: float
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __init__(
        self, text: str, session_id: str, received_at: float, metadata: Mapping[str, Any] = _NEW_DICT
    ) -> None:
        # By hand, as Candidate's (see there): one is built for every reply.
        fields = self.__dict__
        fields["text"] = text
        fields["session_id"] = session_id
        fields["received_at"] = received_at
        fields["metadata"] = {} if metadata is _NEW_DICT else metadata


@dataclass(frozen=True)
class Block:
    """Returned by a ``message_received`` hook to stop a message before matching.

    ``reply`` is what the user sees (the bot says nothing when it is empty);
    ``handoff`` also hands the conversation to a human.
    """

    reason: str
    reply: str = ""
    handoff: bool = False


@dataclass(frozen=True, init=False)
class Candidate:
    """One ranked intent with its confidence in [0, 1]."""

    intent: str
    confidence: float

    def __init__(self, intent: str, confidence: float) -> None:
        # Written by hand, storing straight into the instance dict: the __init__ a frozen
        # dataclass generates calls object.__setattr__ per field, and building the five
        # candidates and the Match of every message that way cost 3% of a match's
        # instructions (bench/instructions.py). tests/test_values.py checks that these
        # parameters stay the fields, in order, with their defaults.
        fields = self.__dict__
        fields["intent"] = intent
        fields["confidence"] = confidence


@dataclass(frozen=True, init=False)
class Match:
    """What the matcher made of a message: the winner (or None) and the ranked candidates.

    ``intent`` is None when the best confidence is under the threshold (fallback) or the
    top two are closer than the ambiguity margin (``ambiguous`` is then True).
    """

    text: str
    intent: str | None
    confidence: float
    candidates: tuple[Candidate, ...] = ()
    ambiguous: bool = False
    rule: str | None = None
    """What decided the intent, when not the scores alone: ``"pattern:<regex>"``,
    ``"keyword:<word>"``, ``"clarify:<n>"`` (the user picked option n) or ``"slot:<name>"``
    (the message filled a slot the bot had asked for)."""

    def __init__(
        self,
        text: str,
        intent: str | None,
        confidence: float,
        candidates: tuple[Candidate, ...] = (),
        ambiguous: bool = False,
        rule: str | None = None,
    ) -> None:
        # By hand, as Candidate's (see there): the same fields, set faster.
        fields = self.__dict__
        fields["text"] = text
        fields["intent"] = intent
        fields["confidence"] = confidence
        fields["candidates"] = candidates
        fields["ambiguous"] = ambiguous
        fields["rule"] = rule

    @property
    def top(self) -> Candidate | None:
        """The best-scoring candidate, whether or not it cleared the threshold."""
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, init=False)
class Reply:
    """The engine's answer to one message.

    ``action`` says what the bot did: ``respond`` (answered ``intent``), ``prompt``
    (asked for a slot), ``clarify`` (top intents too close), ``fallback``, ``cancel``,
    ``handoff`` (just handed to a human), ``handed_off`` (a human has it; the bot is
    silent), ``blocked`` (a plugin stopped the message), or an intent's custom action.
    """

    text: str
    intent: str | None
    confidence: float
    action: str
    candidates: tuple[Candidate, ...] = ()
    slots: Mapping[str, str] = field(default_factory=dict)
    handoff: bool = False
    handoff_reason: str | None = None
    payload: Mapping[str, Any] | None = None
    session_id: str = ""
    trace: tuple[str, ...] = ()
    """Steps that shaped this reply, for ``/debug`` and logs (e.g. ``"blocked by risk_control"``)."""

    def __init__(
        self,
        text: str,
        intent: str | None,
        confidence: float,
        action: str,
        candidates: tuple[Candidate, ...] = (),
        slots: Mapping[str, str] = _NEW_DICT,
        handoff: bool = False,
        handoff_reason: str | None = None,
        payload: Mapping[str, Any] | None = None,
        session_id: str = "",
        trace: tuple[str, ...] = (),
    ) -> None:
        # By hand, as Candidate's (see there): one or two are built for every reply, and
        # the generated __init__ called object.__setattr__ for each of the eleven fields.
        fields = self.__dict__
        fields["text"] = text
        fields["intent"] = intent
        fields["confidence"] = confidence
        fields["action"] = action
        fields["candidates"] = candidates
        fields["slots"] = {} if slots is _NEW_DICT else slots
        fields["handoff"] = handoff
        fields["handoff_reason"] = handoff_reason
        fields["payload"] = payload
        fields["session_id"] = session_id
        fields["trace"] = trace

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable form of the reply."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "action": self.action,
            "candidates": [
                {"intent": c.intent, "confidence": round(c.confidence, 4)} for c in self.candidates
            ],
            "slots": dict(self.slots),
            "handoff": self.handoff,
            "handoff_reason": self.handoff_reason,
            "payload": None if self.payload is None else dict(self.payload),
            "session_id": self.session_id,
            "trace": list(self.trace),
        }
