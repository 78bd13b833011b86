"""The validated, immutable form of a bot: ``BotSpec`` and its parts.

``kefu.loader`` builds these from YAML; everything after loading reads only these.
The file format is documented in docs/intents.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from kefu.bot_regex import RegexError, compile_regex
from kefu.builtin_entities import BUILTIN_FINDERS
from kefu.errors import Problem, SpecError

__all__ = [
    "BotSettings",
    "BotSpec",
    "EntitySpec",
    "IntentSpec",
    "MatcherSettings",
    "NlpSettings",
    "OutputContext",
    "PluginSettings",
    "SessionSettings",
    "SlotSpec",
]

DEFAULT_FALLBACK = ("抱歉，我没太明白，您可以换个说法吗？",)
CANCEL_WORDS = ("算了", "不用了", "取消", "不要了", "不查了", "不需要了", "不用查了", "没事了")
"""Answers that cancel the bot's slot or clarify question ("暂时不需要了"). 没事了 too: said
while the bot waits for an order number it drops the question ("没事了，拜拜" is more, and
left to the matcher)."""
ACKNOWLEDGE_WORDS = (
    "好的", "好", "好嘞", "好哒", "好吧", "嗯", "嗯嗯", "哦", "哦哦", "是", "是的", "对", "对的", "ok",
    "okay", "行", "可以", "没问题", "收到", "知道了", "明白", "明白了", "了解", "稍等", "等一下",
    "等下", "等等", "等我一下", "马上", "我找找", "我找一下", "我看看", "我看一下", "我查一下", "我查查",
)  # fmt: skip
"""Answers to a slot question that only say the customer heard it ("好的，我找一下"): the
question is asked again. 是的 and 对 too: where a yes/no slot takes them as a value, the
value is read first. Not thanks."""


@dataclass(frozen=True)
class BotSettings:
    """The ``bot:`` section: thresholds and the bot's own replies."""

    name: str = "kefu"
    threshold: float = 0.5
    ambiguity_margin: float = 0.05
    handoff_after_fallbacks: int = 3
    fallback: tuple[str, ...] = DEFAULT_FALLBACK
    clarify: str = "您是想问：{options}"
    handoff_reply: str = "正在为您转接人工客服，请稍候~"
    cancel_reply: str = "好的，已取消。还有什么可以帮您？"
    nothing_to_cancel_reply: str = "好的，还有什么可以帮您？"
    max_input_length: int = 500
    top_k: int = 5
    out_of_scope_label: str = "out_of_scope"
    slot_retries: int = 2
    give_up_reply: str = "抱歉，还是没能拿到需要的信息，这个问题先到这里。您可以稍后再问，或联系人工客服。"
    cancel_words: tuple[str, ...] = CANCEL_WORDS
    acknowledge_words: tuple[str, ...] = ACKNOWLEDGE_WORDS
    history_size: int = 50
    keyword_score: float = 0.8


@dataclass(frozen=True)
class NlpSettings:
    """The ``nlp:`` section: how text is segmented before it is vectorized."""

    user_dict: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()
    stopwords: tuple[str, ...] = ()
    hmm: bool = False


@dataclass(frozen=True)
class MatcherSettings:
    """The ``matcher:`` section: features and scoring head (see docs/accuracy.md)."""

    head: str = "linear"
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 3)
    word_weight: float = 0.7
    char_weight: float = 1.0
    char_padding: bool = True
    sublinear_tf: bool = True
    c: float = 0.5
    cosine_weight: float = 1.0
    count_unknown: bool = True
    cache_size: int = 4096


@dataclass(frozen=True)
class EntitySpec:
    """One entity extractor: a regex, a lookup list with synonyms, or a built-in."""

    name: str
    regex: str | None = None
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    builtin: str | None = None
    file: str = ""
    line: int = 0
    """Where the entity is declared (empty and 0 for entities built in code)."""


@dataclass(frozen=True)
class SlotSpec:
    """A slot an intent fills from an entity, with its prompt and validation."""

    name: str
    entity: str
    required: bool = False
    prompt: str = ""
    invalid_prompt: str = ""
    regex: str | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputContext:
    """A context an intent opens: alive for ``lifespan`` turns and, if set, ``ttl`` seconds."""

    name: str
    lifespan: int = 5
    ttl: float | None = None


@dataclass(frozen=True)
class IntentSpec:
    """One intent as written in a bot file."""

    name: str
    examples: tuple[str, ...]
    responses: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    threshold: float | None = None
    slots: tuple[SlotSpec, ...] = ()
    input_contexts: tuple[str, ...] = ()
    output_contexts: tuple[OutputContext, ...] = ()
    action: str | None = None
    payload: Mapping[str, Any] | None = None
    title: str | None = None
    """How the intent is named to users when the bot asks which one they meant."""
    file: str = ""
    line: int = 0
    example_lines: tuple[int, ...] = ()
    """The line of each example in ``file`` (empty for intents built in code)."""


@dataclass(frozen=True)
class SessionSettings:
    """The ``sessions:`` section: where conversations are kept and for how long."""

    store: str = "memory"
    max_sessions: int = 100_000
    idle_ttl: float = 1800.0
    url: str | None = None
    key_prefix: str = "kefu:session:"
    lock_timeout: float = 10.0
    lock_wait: float = 10.0
    end_grace: float = 3600.0


@dataclass(frozen=True)
class PluginSettings:
    """The ``plugins:`` section: a folder of loose plugin files and per-plugin settings."""

    dir: Path | None = None
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class BotSpec:
    """A whole validated bot: settings, entities and intents, plus where it came from."""

    settings: BotSettings
    nlp: NlpSettings
    matcher: MatcherSettings
    entities: tuple[EntitySpec, ...]
    intents: tuple[IntentSpec, ...]
    sessions: SessionSettings = field(default_factory=SessionSettings)
    plugins: PluginSettings = field(default_factory=PluginSettings)
    files: tuple[str, ...] = ()
    fingerprint: str = ""

    def __post_init__(self) -> None:
        # The loader reports these with their lines; a bot built in code meets them here,
        # not as an exception in the middle of a conversation.
        problems = list(_slot_problems(self))
        if problems:
            raise SpecError(problems)

    @property
    def example_count(self) -> int:
        """How many examples the bot's intents have in all."""
        return sum(len(intent.examples) for intent in self.intents)

    def intent(self, name: str) -> IntentSpec:
        """The intent called ``name``; ``KeyError`` if there is none."""
        try:
            return self._intents_by_name[name]
        except TypeError:  # a list or a dict (from a plugin, say) names no intent either
            raise KeyError(name) from None

    @cached_property
    def _intents_by_name(self) -> dict[str, IntentSpec]:
        # Looked up several times a reply; a scan of 5,000 intents took longer than the
        # match. The first of two intents with one name wins, as the scan it replaced did.
        found: dict[str, IntentSpec] = {}
        for intent in self.intents:
            found.setdefault(intent.name, intent)
        return found

    def threshold_of(self, intent: IntentSpec) -> float:
        """The confidence ``intent`` needs to be answered: its own threshold, else the bot's."""
        return self.settings.threshold if intent.threshold is None else intent.threshold


def _slot_problems(spec: BotSpec) -> Iterator[Problem]:
    """Slots that would raise on a reply: an unknown entity, a regex that does not compile."""
    entities = {entity.name for entity in spec.entities} | set(BUILTIN_FINDERS)
    for intent in spec.intents:
        where = intent.file or "<bot built in code>"
        for slot in intent.slots:
            if slot.entity not in entities:
                known = ", ".join(sorted(entities))
                message = f"slot {slot.name!r} uses unknown entity {slot.entity!r} (entities: {known})"
                yield Problem(where, intent.line, f"intent {intent.name!r}: {message}")
            if slot.regex is not None:
                try:
                    compile_regex(slot.regex)
                except RegexError as exc:
                    message = f"slot {slot.name!r} has an invalid regex {slot.regex!r}: {exc}"
                    yield Problem(where, intent.line, f"intent {intent.name!r}: {message}")
