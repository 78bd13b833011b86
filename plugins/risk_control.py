"""Risk control: sensitive words, per-session rate limiting, and masking of personal data.

Runs before matching (``message_received``), so a blocked message costs no NLU time, and
again on every reply (``response_built``) to mask mobile, ID-card and bank-card numbers.
Declared fail-closed: if this plugin itself fails, the message is blocked, not waved on.

Settings (bot file; every key optional)::

    plugins:
      risk_control:
        words: [傻逼, 诈骗]            # listed words
        words_file: sensitive.txt      # one word per line, relative to the bot file
        verdict: block                 # block | mask | handoff
        reply: 您的消息包含不当内容，请文明用语。
        pinyin_initials: false         # also catch "sb" for 傻逼 (needs kefu[pinyin])
        max_gap: 3                     # padding characters allowed inside a word (傻**逼), 0-10
        rate_limit: {per_second: 1.0, burst: 8}   # token bucket per session; off when absent
                                                  # (per_second > 0, burst >= 1, both finite)
        rate_reply: 您发送得太快了，请稍后再试。
        mask_replies: true             # mask personal numbers in replies (not the bot's
                                       # own: a hotline written in a response stays)
        mask_logs: true                # mask them in kefu's log records (tracebacks too)

With no words and no rate limit configured the plugin only masks personal data.
``SETTINGS`` declares these keys; ``kefu validate`` checks a bot file against it and
reports a wrong value with its file and line (an empty value, NaN, a word with no
letter or digit, or one that reads as a single character once its symbols are skipped,
such as ``+V``, included), and a setting that would never be used: ``verdict``,
``reply``, ``pinyin_initials`` or ``max_gap`` with no words listed, ``reply`` with
``verdict: mask``, ``rate_reply`` without ``rate_limit``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

import kefu
from kefu.checks import Check, FileChecker, dotted, word_list, word_problem
from kefu.plugin_settings import checked_plugin_settings
from kefu.plugins.pii import mask_pii, numbers_in, only_order_like_readings
from kefu.plugins.sensitive_words import (
    MAX_GAP,
    SensitiveWordFilter,
    WordListError,
    read_word_list,
    reading,
)
from kefu.yamlsource import PathKey

__all__ = ["SETTINGS", "PIIMaskingFilter", "RiskControl", "make_plugin"]

VERDICTS = ("block", "mask", "handoff")
SEEN_TEXTS = 4096
BUCKET_KEY = "risk_control.bucket"
DEFAULT_REPLY = "您的消息包含不当内容，请文明用语。"
DEFAULT_RATE_REPLY = "您发送得太快了，请稍后再试。"


class PIIMaskingFilter(logging.Filter):
    """A logging filter that masks personal numbers in log messages and their arguments,
    and in the traceback and stack a record carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it and never raises (logging must not fail)."""
        try:
            message = record.getMessage()
            record.msg, record.args = mask_pii(message), None
            # A failing plugin's traceback quotes what it was handed (ValueError: 无法解析
            # 13812345678). Formatters print `exc_text` when it is set, so set it masked.
            if record.exc_info and not record.exc_text:
                record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = mask_pii(record.exc_text)
            if record.stack_info:
                record.stack_info = mask_pii(record.stack_info)
        except Exception:
            pass
        return True


_TRACEBACKS = logging.Formatter()


_log_filter = PIIMaskingFilter()


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` messages at once, refilled at ``per_second``."""

    per_second: float
    burst: float


class RiskControl:
    """One engine's risk-control plugin, built from its bot file's settings."""

    fail_closed = True

    def __init__(
        self,
        words: SensitiveWordFilter | None,
        *,
        verdict: str = "block",
        reply: str = DEFAULT_REPLY,
        rate_limit: RateLimit | None = None,
        rate_reply: str = DEFAULT_RATE_REPLY,
        mask_replies: bool = True,
    ) -> None:
        self.words = words
        self.verdict = verdict
        self.reply = reply
        self.rate_limit = rate_limit
        self.rate_reply = rate_reply
        self.mask_replies = mask_replies
        self._seen: dict[str, bool] = {}
        # Replies repeat (templates), so each is masked once; per engine, bounded.
        self._masked = functools.lru_cache(maxsize=SEEN_TEXTS)(_mask_except_slots)
        self._shop_numbers: frozenset[str] = frozenset()

    @kefu.hookimpl
    def engine_loaded(self, engine: kefu.Engine) -> None:
        """Note the numbers the bot's own texts give out (a hotline in a template): they are
        the shop's, and masking them would leave customers a number they cannot call."""
        spec = engine.spec
        settings = spec.settings
        texts = [*settings.fallback, settings.clarify, settings.handoff_reply, settings.cancel_reply]
        texts += [settings.nothing_to_cancel_reply, settings.give_up_reply]
        texts += [self.reply, self.rate_reply]
        for intent in spec.intents:
            texts += intent.responses
            texts += [text for slot in intent.slots for text in (slot.prompt, slot.invalid_prompt)]
        self._shop_numbers = numbers_in(texts)

    @kefu.hookimpl(tryfirst=True)
    def message_received(
        self, message: kefu.Message, session: kefu.Session
    ) -> kefu.Block | kefu.Message | None:
        """Rate-limit, then block, mask or hand off messages with listed words."""
        if self.rate_limit is not None and not self._take_token(session, message.received_at):
            return kefu.Block(reason="rate_limit", reply=self.rate_reply)
        if self.words is None or not self._contains(message.text):
            return None
        if self.verdict == "mask":
            return dataclasses.replace(message, text=self.words.mask(message.text))
        if self.verdict == "handoff" and session.handoff:
            return None  # already with a human: no second transfer notice, no second page
        reason = f"sensitive:{self.words.find(message.text)[0].word}"
        return kefu.Block(reason=reason, reply=self.reply, handoff=self.verdict == "handoff")

    @kefu.hookimpl
    def response_built(self, reply: kefu.Reply, session: kefu.Session) -> kefu.Reply | None:
        """Mask mobile, ID-card and bank-card numbers in what the bot says."""
        if not self.mask_replies or not reply.text:
            return None
        # What the reply may echo: its slots, and the slots an open context carries (a
        # follow-up's {order.order_id}), which are not among the reply's own.
        given = [*reply.slots.values()]
        given += [v for ctx in session.contexts.values() for v in (ctx.params or {}).values()]
        masked = self._masked(reply.text, tuple(given), self._shop_numbers)
        return None if masked == reply.text else dataclasses.replace(reply, text=masked)

    def _contains(self, text: str) -> bool:
        """Whether ``text`` has a listed word. Customers repeat themselves ("在吗"), so the
        answer is remembered per text; the memory is emptied when it holds 4,096 texts."""
        hit = self._seen.get(text)
        if hit is None:
            assert self.words is not None
            hit = self.words.contains(text)
            if len(self._seen) >= SEEN_TEXTS:
                self._seen.clear()
            self._seen[text] = hit
        return hit

    def _take_token(self, session: kefu.Session, now: float) -> bool:
        limit = self.rate_limit
        assert limit is not None
        stored = session.data.get(BUCKET_KEY) or (limit.burst, now)  # a list after a JSON round trip
        tokens = min(limit.burst, float(stored[0]) + max(0.0, now - float(stored[1])) * limit.per_second)
        allowed = tokens >= 1.0
        session.data[BUCKET_KEY] = [tokens - 1.0 if allowed else tokens, now]
        return allowed


def _mask_except_slots(text: str, slots: tuple[str, ...], shop: frozenset[str] = frozenset()) -> str:
    """Mask personal numbers, except slot values echoed back that only look like bank cards
    or 15-digit ID numbers, and the ``shop``'s own numbers (those its templates give out).

    An order number the user just gave ("订单 2024112712345678 正在配送中") may pass the
    Luhn check, or read as a 15-digit ID number; echoing it is the point of the reply.
    Mobile and 18-digit ID numbers are masked even when they are slot values.
    """
    # Every reading, overlaps included: a value read first as a card may also hold a mobile
    # (6222021234567002 138 1234 5678), which the non-overlapping spans would hide.
    keep = [v for v in slots if v and v in text and only_order_like_readings(v)]
    if not keep:
        return mask_pii(text, numbers_kept=shop)
    # Masked as one text, not piece by piece around the kept values: a mobile running from
    # a kept value into the words after it (…1111 138, then 1234 5678) is still a mobile.
    kept = re.compile("|".join(map(re.escape, sorted(keep, key=len, reverse=True))))
    return mask_pii(text, cards_kept=[match.span() for match in kept.finditer(text)], numbers_kept=shop)


# Module level too: if make_plugin fails (bad settings, unreadable words_file) the engine
# refuses to start instead of serving without risk control.
fail_closed = True


def make_plugin(settings: Mapping[str, Any]) -> RiskControl:
    """Build this engine's risk control from its settings (``ValueError`` if they are wrong)."""
    checked = checked_plugin_settings("risk_control", settings, SETTINGS)
    if checked.get("mask_logs", True):
        _mask_kefu_logs()
    words = [*checked.get("words", ()), *checked.get("words_file", ())]
    word_filter = (
        SensitiveWordFilter(
            words,
            pinyin_initials=checked.get("pinyin_initials", False),
            max_gap=checked.get("max_gap", 3),
        )
        if words
        else None
    )
    return RiskControl(
        word_filter,
        verdict=checked.get("verdict", "block"),
        reply=checked.get("reply", DEFAULT_REPLY),
        rate_limit=checked.get("rate_limit"),
        rate_reply=checked.get("rate_reply", DEFAULT_RATE_REPLY),
        mask_replies=checked.get("mask_replies", True),
    )


def _mask_kefu_logs() -> None:
    """Add the masking filter to every kefu logger: a logger's filters do not apply to
    records of its children, and each kefu module logs through its own child logger."""
    names = ["kefu", *(n for n in logging.root.manager.loggerDict if n.startswith("kefu."))]
    for name in names:
        logger = logging.getLogger(name)
        if _log_filter not in logger.filters:
            logger.addFilter(_log_filter)


# -- settings -------------------------------------------------------------------------------


def _word_problem(word: str) -> str | None:
    """Why a listed word cannot be used as written, or None: `+V` (add me on WeChat) reads as
    `v` and would block `V领毛衣`, `C#` every `C盘`."""
    return word_problem(word, reading(word), "symbols are skipped like padding", "match")


def _words_file(c: FileChecker, path: PathKey, value: Any) -> list[str] | None:
    """The file's words: read while checking, so a missing file is reported by ``kefu validate``."""
    name = c.text(path, value)
    if name is None:
        return None
    try:
        words = read_word_list(c.src.path.parent / name)
    except WordListError as exc:
        c.problem(path, str(exc))
        return None
    if not words:  # a file emptied by mistake would leave the bot without its word filter
        c.problem(path, f"`{dotted(path)}`: {name} lists no words (only blank lines and comments)")
        return None
    for word in words:
        problem = _word_problem(word)
        if problem is not None:
            c.problem(path, f"`{dotted(path)}`: {name} lists {word!r}, which {problem}")
            break
    return words


def _rate_limit(c: FileChecker, path: PathKey, value: Any) -> RateLimit | None:
    data = c.mapping(path, value, ("per_second", "burst"))
    per_second = c.number((*path, "per_second"), data.get("per_second", 1.0), 0.0)
    if per_second == 0.0:  # a bucket that never refills would block the session for good
        c.problem((*path, "per_second"), f"`{dotted((*path, 'per_second'))}` must be greater than 0")
        per_second = None
    burst = c.number((*path, "burst"), data.get("burst", 8), 1.0)
    return None if per_second is None or burst is None else RateLimit(per_second, burst)


def _needs_words(check: Check) -> Check:
    """``check``, and a problem when neither ``words`` nor ``words_file`` lists a word: the
    setting then configures a word filter that does not exist."""

    def checked(c: FileChecker, path: PathKey, value: Any) -> Any:
        converted = check(c, path, value)
        if converted is None or c.sibling(path, "words") or c.sibling(path, "words_file"):
            return converted
        # Kept silently, it let a shop believe listed words were blocked.
        c.problem(
            path,
            f"`{dotted(path)}` is never used: without `words` or `words_file` no message is "
            f"checked for listed words; list the words or leave `{path[-1]}` out",
        )
        return None

    return checked


def _reply(c: FileChecker, path: PathKey, value: Any) -> str | None:
    text = c.text(path, value)
    if text is not None and c.sibling(path, "verdict") == "mask":
        # Kept silently, it let a shop believe customers were warned.
        c.problem(
            path,
            f"`{dotted(path)}` is never sent: with `verdict: mask` the masked message goes on "
            "to the bot, which answers it; leave `reply` out or choose block or handoff",
        )
        return None
    return text


def _rate_reply(c: FileChecker, path: PathKey, value: Any) -> str | None:
    text = c.text(path, value)
    if text is not None and c.sibling(path, "rate_limit") is None:
        # Kept silently, it let a shop believe messages were rate-limited.
        c.problem(
            path,
            f"`{dotted(path)}` is never sent: without `rate_limit` no message is rate-limited; "
            "add `rate_limit: {per_second: 1.0, burst: 8}` or leave `rate_reply` out",
        )
        return None
    return text


SETTINGS: dict[str, Check] = {
    "words": word_list("word", _word_problem),
    "words_file": _words_file,
    "verdict": _needs_words(lambda c, p, v: c.choice(p, v, VERDICTS)),
    "reply": _needs_words(_reply),
    "pinyin_initials": _needs_words(FileChecker.flag),
    "max_gap": _needs_words(lambda c, p, v: c.integer(p, v, 0, MAX_GAP)),
    "rate_limit": _rate_limit,
    "rate_reply": _rate_reply,
    "mask_replies": FileChecker.flag,
    "mask_logs": FileChecker.flag,
}
"""What ``plugins: risk_control:`` may hold, each key with the check that converts it."""

DATA_FILES = ("words_file",)
"""Settings that name a file beside the bot file: a saved model carries a copy of each."""
