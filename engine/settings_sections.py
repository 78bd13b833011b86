"""The sections of a bot file besides its intents: bot, nlp, matcher, entities, sessions.

Each is checked and converted to its spec object; ``SECTION_CHECKS`` maps every section
name but ``intents`` (which ``kefu.sections`` checks) to its check, and takes ``plugins``
from ``kefu.plugin_settings``. See docs/intents.md for the format.
"""

from __future__ import annotations

import re
from typing import Any

from kefu.checks import Check, FileChecker, dotted, word_list
from kefu.dagcut import splitting_char
from kefu.normalize import fold, normalize
from kefu.plugin_settings import check_plugins
from kefu.sessions import MAX_SECONDS
from kefu.spec import (
    BotSettings,
    EntitySpec,
    MatcherSettings,
    NlpSettings,
    SessionSettings,
)
from kefu.yamlsource import PathKey

__all__ = [
    "BUILTIN_ENTITIES",
    "SECTION_CHECKS",
    "check_text",
    "integer_in",
    "number_in",
    "sent_as_written",
]

BUILTIN_ENTITIES = ("order_id", "mobile", "amount", "date")
HEADS = ("ensemble", "linear", "cosine")
STORES = ("memory", "redis")

# Upper bounds where a bigger value would only fail later: the matcher keeps a table as
# long as the longest message it reads, and functools' match cache takes a C-sized maxsize.
MAX_INPUT_LENGTH = 100_000
MAX_CACHE_SIZE = 10_000_000


def number_in(low: float, high: float | None = None) -> Check:
    """The check of a number from ``low`` to ``high`` (no upper bound if None)."""
    return lambda c, p, v: c.number(p, v, low, high)


def integer_in(low: int, high: int | None = None) -> Check:
    """The check of an integer from ``low`` to ``high`` (no upper bound if None)."""
    return lambda c, p, v: c.integer(p, v, low, high)


def check_text(c: FileChecker, p: PathKey, v: Any) -> Any:
    """The check of one text."""
    return c.text(p, v)


def _texts(c: FileChecker, p: PathKey, v: Any) -> Any:
    return c.texts(p, v, single_ok=True)


def _unreadable(word: str) -> str | None:
    # "！！" normalizes to nothing: a cancel or acknowledgement word no message can hold.
    return None if normalize(word) else "has no letter or digit, so it can never match"


_answer_words = word_list("word", _unreadable, single_ok=True)


def _top_k(c: FileChecker, p: PathKey, v: Any) -> Any:
    if type(v) is int and v == 1:
        # One candidate leaves no runner-up: the bot would never ask which intent was
        # meant and `kefu tune` could not measure a margin; this used to pass silently.
        why = "the bot compares the best two intents to decide whether to ask which one was meant"
        c.problem(p, f"`bot.top_k` must be >= 2 (got 1): {why}; to never ask, set `bot.ambiguity_margin: 0`")
        return None
    return c.integer(p, v, 2)


BOT_CHECKS: dict[str, Check] = {
    "name": check_text,
    "threshold": number_in(0.0, 1.0),
    "ambiguity_margin": number_in(0.0, 1.0),
    "handoff_after_fallbacks": integer_in(0),
    "fallback": _texts,
    "clarify": check_text,
    "handoff_reply": check_text,
    "cancel_reply": check_text,
    "nothing_to_cancel_reply": check_text,
    "max_input_length": integer_in(1, MAX_INPUT_LENGTH),
    "top_k": _top_k,
    "out_of_scope_label": check_text,
    "slot_retries": integer_in(0),
    "give_up_reply": check_text,
    "cancel_words": _answer_words,
    "acknowledge_words": _answer_words,
    "history_size": integer_in(1),
    "keyword_score": number_in(0.0, 1.0),
}

MAX_COSINE_WEIGHT = 10.0
"""Past this the nearest example's cosine drowns the linear score (every answer certain and
often wrong: 1e300 sent 转人工 to service_hours); 0.25-1 are the values measured."""

MATCHER_CHECKS: dict[str, Check] = {
    "head": lambda c, p, v: c.choice(p, v, HEADS),
    "word_ngrams": FileChecker.ngram_range,
    "char_ngrams": FileChecker.ngram_range,
    "word_weight": number_in(0.0),
    "char_weight": number_in(0.0),
    "char_padding": FileChecker.flag,
    "sublinear_tf": FileChecker.flag,
    "c": number_in(1e-6),
    "cosine_weight": number_in(0.0, MAX_COSINE_WEIGHT),
    "count_unknown": FileChecker.flag,
    "cache_size": integer_in(0, MAX_CACHE_SIZE),
}

SESSION_CHECKS: dict[str, Check] = {
    "store": lambda c, p, v: c.choice(p, v, STORES),
    "max_sessions": integer_in(1),
    "idle_ttl": number_in(1.0, MAX_SECONDS),
    "url": check_text,
    "key_prefix": check_text,
    "lock_timeout": number_in(0.001, MAX_SECONDS),
    "lock_wait": number_in(0.0, MAX_SECONDS),
    "end_grace": number_in(0.0, MAX_SECONDS),
}


def _bot(c: FileChecker, path: PathKey, value: Any) -> BotSettings:
    data = c.fields(path, c.mapping(path, value, BOT_CHECKS), BOT_CHECKS)
    if "fallback" in data and not data["fallback"]:
        c.problem((*path, "fallback"), "`bot.fallback` needs at least one reply")
        del data["fallback"]
    if "clarify" in data and "{options}" not in data["clarify"]:
        c.problem((*path, "clarify"), "`bot.clarify` must contain {options}")
        del data["clarify"]
    for i, text in enumerate(data.get("fallback", ())):
        sent_as_written(c, (*path, "fallback", i), text)
    for key in ("handoff_reply", "cancel_reply", "nothing_to_cancel_reply", "give_up_reply", "clarify"):
        if key in data:
            sent_as_written(c, (*path, key), data[key].replace("{options}", ""))
    return BotSettings(**data)


_BRACES = re.compile(r"\{+[^{}]*\}+")


def sent_as_written(c: FileChecker, path: PathKey, text: str) -> None:
    """The bot's own replies and slot questions are sent as written: a ``{name}`` in one
    would reach the customer as it stands, since only intent responses fill placeholders."""
    found = _BRACES.search(text)
    if found is not None:
        c.problem(
            path,
            f"`{dotted(path)}` is sent as written, so the customer would see {found[0]}: "
            "placeholders are filled in intent `responses` only",
        )


def _nlp(c: FileChecker, path: PathKey, value: Any) -> NlpSettings:
    data = c.mapping(path, value, ("user_dict", "synonyms", "stopwords", "hmm"))
    synonyms = c.mapping((*path, "synonyms"), data.get("synonyms"), None)
    pairs: dict[str, tuple[str, PathKey]] = {}  # normalized variant -> (canonical, where)
    for variant, canonical in synonyms.items():
        where = (*path, "synonyms", variant)
        target = c.text(where, canonical)
        # Spaces pass: a variant of several words is replaced as a phrase (kefu.text).
        usable = target is not None and _has_word(c, where, str(variant)) and _has_word(c, where, target)
        if usable and (" " in normalize(str(variant)) or _kept_whole(c, where, str(variant))):
            key = normalize(str(variant))
            if key in pairs:  # VIP: 会员 and vip: 贵宾: one of them was silently dropped
                if pairs[key][0] != normalize(str(target)):  # the same word twice is harmless
                    first = pairs[key][1][-1]  # the variant as written
                    c.problem(
                        where, f"`nlp.synonyms` {variant!r} is {first!r} again once normalized: keep one"
                    )
                continue
            pairs[key] = (normalize(str(target)), where)
    words = {key: c.texts((*path, key), data.get(key)) for key in ("user_dict", "stopwords")}
    for key, texts in words.items():
        for i, word in enumerate(texts):
            _one_word(c, (*path, key, i), word)
    hmm = c.flag((*path, "hmm"), data["hmm"]) if "hmm" in data else False
    return NlpSettings(
        user_dict=words["user_dict"],
        synonyms=_followed(c, pairs),
        stopwords=tuple(normalize(w) for w in words["stopwords"]),
        hmm=False if hmm is None else hmm,
    )


def _followed(c: FileChecker, pairs: dict[str, tuple[str, PathKey]]) -> tuple[tuple[str, str], ...]:
    """Synonym pairs with chains followed to their end (退钱: 还钱 and 还钱: 退款 make 退钱 退款:
    each is replaced once, so 退钱 became 还钱 and stayed it). A circle (发货: 寄出, 寄出: 发货)
    is a problem. Each word is walked once: linear in the number of pairs."""
    target = {variant: canonical for variant, (canonical, _) in pairs.items() if canonical != variant}
    end: dict[str, str | None] = {}  # variant -> the word it ends as; None: it runs into a circle
    for start in target:
        path: list[str] = []
        index: dict[str, int] = {}
        node = start
        while node in target and node not in end and node not in index:
            index[node] = len(path)
            path.append(node)
            node = target[node]
        result: str | None = end.get(node, node)
        if node in index:
            circle = path[index[node] :]
            cycle = " -> ".join([*circle, node])
            c.problem(
                pairs[circle[0]][1],
                f"`nlp.synonyms` go round in a circle ({cycle}): give them one canonical word",
            )
            result = None
        for word in path:
            end[word] = result
    out = []
    for variant in pairs:
        final = end.get(variant)
        if final is not None:  # 会员: 会员 (importers write them) replaces nothing; a circle is reported
            out.append((variant, final))
    return tuple(out)


def _has_word(c: FileChecker, path: PathKey, word: str) -> bool:
    """Whether ``word`` keeps a letter or digit once normalized (！ does not)."""
    if normalize(word):
        return True
    c.problem(
        path,
        f"`{dotted(path[:2])}` {word!r} has no letters or digits, so it never matches a word of a message",
    )
    return False


def _one_word(c: FileChecker, path: PathKey, word: str) -> bool:
    """Whether ``word`` is one word once normalized: synonyms, stopwords and the user
    dictionary act on the words of a message, and punctuation or a space splits words."""
    key = normalize(word)
    if " " in key or not key:
        what = f"is {len(key.split())} words once normalized ({key!r})" if key else "has no letters or digits"
        c.problem(path, f"`{dotted(path[:2])}` {word!r} {what}, so it never matches a word of a message")
        return False
    return _kept_whole(c, path, word)


def _kept_whole(c: FileChecker, path: PathKey, word: str) -> bool:
    """Whether jieba can give ``word`` as one word: it splits text at characters outside
    its runs (é in café, kana, hangul, rare CJK past U+9FD5), so such a word never is."""
    split = splitting_char(normalize(word))
    if split is None:
        return True
    c.problem(
        path,
        f"`{dotted(path[:2])}` {word!r} holds {split!r} (U+{ord(split):04X}), where jieba splits words "
        "(it keeps together only CJK characters U+4E00-U+9FD5, Latin letters and digits), "
        "so it never matches a word of a message",
    )
    return False


def _matcher(c: FileChecker, path: PathKey, value: Any) -> MatcherSettings:
    settings = MatcherSettings(**c.fields(path, c.mapping(path, value, MATCHER_CHECKS), MATCHER_CHECKS))
    if settings.word_weight == 0 and settings.char_weight == 0:
        c.problem(path, "`matcher.word_weight` and `matcher.char_weight` are both 0: no feature would count")
    return settings


def _sessions(c: FileChecker, path: PathKey, value: Any) -> SessionSettings:
    data = c.fields(path, c.mapping(path, value, SESSION_CHECKS), SESSION_CHECKS)
    if data.get("store") == "redis" and "url" not in data:
        c.problem(path, "`sessions.store: redis` needs `url` (e.g. redis://localhost:6379/0)")
    return SessionSettings(**data)


def _entities(c: FileChecker, path: PathKey, value: Any) -> tuple[EntitySpec, ...]:
    out = []
    for name, body in c.mapping(path, value, None).items():
        entity = _entity(c, (*path, name), str(name), body)
        if entity is not None and c.visible_name((*path, name), "entity", str(name), at_key=True):
            out.append(entity)
    return tuple(out)


def _entity(c: FileChecker, path: PathKey, name: str, body: Any) -> EntitySpec | None:
    data = c.mapping(path, body, ("regex", "values", "builtin"))
    kinds = [k for k in ("regex", "values", "builtin") if k in data]
    if len(kinds) != 1:
        c.problem(path, f"entity {name!r} needs exactly one of regex, values, builtin")
        return None
    file, line = str(c.src.path), c.src.key_line(path)
    if "builtin" in data:
        builtin = c.choice((*path, "builtin"), data["builtin"], BUILTIN_ENTITIES)
        return EntitySpec(name, builtin=builtin, file=file, line=line) if builtin else None
    if "regex" in data:
        pattern = c.nfkc_pattern((*path, "regex"), data["regex"])
        return EntitySpec(name, regex=pattern, file=file, line=line) if pattern else None
    values = _lookup_values(c, (*path, "values"), data["values"])
    return EntitySpec(name, values=values, file=file, line=line)


def _lookup_values(c: FileChecker, path: PathKey, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    values: tuple[tuple[str, tuple[str, ...]], ...]
    if isinstance(value, list):  # a plain list: each value is its own canonical form
        values = tuple((v, ()) for v in c.texts(path, value))
        paths = [[(*path, i)] for i in range(len(values))]
    else:
        mapping = c.mapping(path, value, None)
        values = tuple((str(k), c.texts((*path, k), words)) for k, words in mapping.items())
        paths = [
            [(*path, k), *((*path, k, j) for j in range(len(words)))]
            for k, (_, words) in zip(mapping, values, strict=True)
        ]
    _shared_words(c, values, paths)
    return values


def _shared_words(
    c: FileChecker, values: tuple[tuple[str, tuple[str, ...]], ...], paths: list[list[PathKey]]
) -> None:
    """A word listed for two values (compared as the extractor reads them, ignoring case,
    width and Traditional forms) only ever gives the first: under the second it would be ignored."""
    owner: dict[str, str] = {}
    for (canonical, words), where in zip(values, paths, strict=True):
        for word, at in zip((canonical, *words), where, strict=True):
            first = owner.setdefault(fold(word), canonical)
            if first == canonical:
                continue
            if word == canonical:  # case, width and Traditional forms do not count: xl is XL
                c.problem(at, f"value {word!r} is already a word of {first!r}, so it is never given")
            else:
                c.problem(
                    at, f"{word!r} of {canonical!r} is already a word of {first!r}, which it always gives"
                )


SECTION_CHECKS: dict[str, Check] = {
    "bot": _bot,
    "nlp": _nlp,
    "matcher": _matcher,
    "entities": _entities,
    "sessions": _sessions,
    "plugins": check_plugins,
}
