"""``Engine``: the public face of kefu; one bot, its sessions and its plugins.

The message flow (docs/architecture.md): clean the text, session from the store,
``message_received`` hooks, match and decide (``kefu.dialog``), ``response_built`` hooks,
save the session. ``reply`` never raises on any ``str``; plugin failures are isolated.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kefu.arguments import check_contexts, check_id, check_metadata, check_text
from kefu.bot_regex import message_budget
from kefu.dialog import Turn, handle
from kefu.errors import KefuError
from kefu.manager import DEFAULT_PLUGINS, FailedPlugin, LoadedPlugin, PluginHost
from kefu.memory_store import MemoryStore
from kefu.message_hooks import drop_unstorable, message_received, response_built, session_started
from kefu.model import Model, load_model
from kefu.model_save import save_model
from kefu.normalize import clean
from kefu.runtime import Runtime, build_runtime, load_or_train
from kefu.sessions import Session, SessionStore
from kefu.spec import BotSpec
from kefu.values import Match, Message, Reply

__all__ = ["Engine"]

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 1.0
"""Seconds between checks for expired sessions (so ``session_ended`` fires promptly)."""

AGENT_NAME_LENGTH = 64
"""Longest agent name kept in a transcript label (the example chat server allows 32)."""

AGENT_TEXT_LENGTH = 4000
"""Longest agent message ``record_agent_message`` keeps; a longer one is a ``ValueError``.
Not the bot's ``max_input_length``, which bounds matching: an agent's words are only kept,
and cutting them would make the transcript differ from what the customer was shown."""


class Engine:
    """A customer-service bot: ``reply`` to messages, ``match`` text, manage sessions.

    Build one with ``Engine.from_path`` (bot YAML file or folder, or a saved model) or
    ``Engine.load`` (a saved model). ``reply`` is safe to call from many threads.
    """

    def __init__(
        self,
        model: Model,
        *,
        store: SessionStore | None = None,
        plugins_dir: str | Path | None = None,
        builtin_plugins: Sequence[str] = DEFAULT_PLUGINS,
        load_entry_points: bool = True,
        bot_plugins: bool = True,
        strict_plugins: bool = False,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        source: str | Path | None = None,
    ) -> None:
        if not isinstance(model, Model):
            raise TypeError(
                f"Engine takes a trained kefu.Model, not {type(model).__name__}: use Engine.from_path(path) "
                "for a bot file or folder, Engine.load(folder) for a saved model"
            )
        if store is not None and not isinstance(store, SessionStore):
            raise TypeError(
                f"store must be a session store (kefu.MemoryStore, kefu.RedisStore or another "
                f"kefu.SessionStore), not {type(store).__name__}"
            )
        self.clock = clock
        self.strict_plugins = strict_plugins
        self._plugin_dirs = (Path(plugins_dir),) if plugins_dir else ()
        self._builtins = tuple(builtin_plugins)
        self._entry_points = load_entry_points
        self._bot_plugins = bot_plugins
        self._source = Path(source) if source is not None else None
        self._rng = random.Random(seed)
        self._code_plugins: dict[str, Any] = {}
        # Re-entrant: an engine_loaded hook may register a plugin while its reload holds it.
        self._reload_lock = threading.RLock()
        self._last_sweep = clock()
        self.store: SessionStore = store if store is not None else _store_for(model.spec, clock)
        self._runtime = self._build(model, require_all_plugins=False)
        self.store.add_end_listener(self._session_ended)
        self._runtime.host.notify("engine_loaded", engine=self)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_path(cls, path: str | Path, *, n_jobs: int = 1, **options: Any) -> Engine:
        """An engine for a bot YAML file, a folder of them, or a saved model directory.

        Bot files are trained (or the model is taken from kefu's cache when these exact
        files were trained before). ``options`` are passed to ``Engine(...)``.
        """
        model = load_or_train(path, n_jobs=n_jobs)
        return cls(model, source=path, **options)

    @classmethod
    def load(cls, directory: str | Path, **options: Any) -> Engine:
        """An engine for a model saved with ``save`` (never executes code from it)."""
        return cls(load_model(directory), source=directory, **options)

    def save(self, directory: str | Path) -> Path:
        """Save the trained model (bot files included) to ``directory``."""
        return save_model(self._runtime.model, directory)

    def _build(self, model: Model, *, require_all_plugins: bool) -> Runtime:
        runtime = build_runtime(
            model,
            plugin_dirs=self._plugin_dirs,
            builtins=self._builtins,
            entry_points=self._entry_points,
            bot_plugins=self._bot_plugins,
            strict_plugins=self.strict_plugins,
            require_all_plugins=require_all_plugins,
        )
        for name, plugin in self._code_plugins.items():
            runtime.host.add(plugin, name)
        return runtime

    def reload(self, path: str | Path | None = None) -> None:
        """Rebuild the bot (model and plugins) from its source and swap it in atomically.

        Replies in flight finish on the old bot; sessions are kept, in the same store (a
        changed ``sessions:`` section takes effect on restart, with a warning). If anything fails
        (invalid YAML, a plugin that does not import) the old bot keeps serving and the
        ``KefuError`` saying why is raised.
        """
        with self._reload_lock:
            source = Path(path) if path is not None else self._source
            if source is None:
                raise KefuError("this engine was not built from a path; pass reload(path)")
            try:
                runtime = self._build(load_or_train(source), require_all_plugins=True)
            except KefuError:
                raise
            except Exception as exc:
                # A failure kefu did not foresee (a bug, or a file it could not read in a way
                # nobody planned for) must not stop a server that reloads on request: report
                # it like any failed reload, with the original chained for the traceback.
                raise KefuError(f"reload from {source} failed: {type(exc).__name__}: {exc}") from exc
            if runtime.spec.sessions != self._runtime.spec.sessions:
                # Switching stores would drop every conversation in flight, or mix two.
                log.warning(
                    "the bot's `sessions:` settings changed; conversations stay in the store this "
                    "engine started with until it is restarted"
                )
            # Before the swap: no message reaches plugins that are not set up yet (risk
            # control learns the shop's own numbers here), and a hook that fails under
            # strict_plugins leaves the old bot serving. The hook sees the new bot through
            # `engine` (its spec, its plugin settings): this thread's view is pinned to it.
            token = _PINNED.set((self, runtime))
            try:
                runtime.host.notify("engine_loaded", engine=self)
            finally:
                _PINNED.reset(token)
            self._runtime = runtime
            self._source = source
            log.info("reloaded bot %s from %s", runtime.spec.settings.name, source)

    # -- properties -------------------------------------------------------------------------

    def _serving(self) -> Runtime:
        """The bot this thread sees: inside a plugin hook, the one its reply (or reload)
        started on, even if a reload swapped another in meanwhile; else the current one."""
        pinned = _PINNED.get()
        return pinned[1] if pinned is not None and pinned[0] is self else self._runtime

    @property
    def spec(self) -> BotSpec:
        """The bot definition being served (to a plugin hook: the one its reply started on)."""
        return self._serving().spec

    @property
    def model(self) -> Model:
        """The trained model being served."""
        return self._serving().model

    @property
    def plugins(self) -> list[LoadedPlugin]:
        """Plugins loaded for this engine, in registration order."""
        return list(self._serving().host.loaded)

    @property
    def plugin_failures(self) -> list[FailedPlugin]:
        """Plugins that failed to load, with the error."""
        return list(self._serving().host.failed)

    @property
    def plugin_errors(self) -> dict[str, int]:
        """How many times each plugin raised in a hook since this bot was built."""
        return dict(self._serving().host.errors)

    def plugin_settings(self, name: str) -> Mapping[str, Any]:
        """The bot file's ``plugins: {<name>: {...}}`` settings for one plugin."""
        return self._serving().spec.plugins.config.get(name, {})

    def plugin(self, name: str) -> Any:
        """The plugin object registered as ``name``, or None."""
        return self._serving().host.plugin(name)

    def register_plugin(self, plugin: Any, name: str | None = None) -> str:
        """Add a plugin object (a module, or an instance with ``@kefu.hookimpl`` methods).

        It stays registered across ``reload``. Returns the name it was registered under.
        ``PluginError`` if it would not load: None, a class instead of an instance, no
        ``@kefu.hookimpl`` function, a hook kefu does not have, a hook wrapper, a keyword-only
        hook argument, a taken name; it is then not registered.
        """
        if not name:
            name = "None" if plugin is None else getattr(plugin, "__name__", None) or type(plugin).__name__
        with self._reload_lock:  # a reload copies the registered plugins into the bot it builds
            for host in self._hosts():
                host.add(plugin, name)
            self._code_plugins[name] = plugin
        return name

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin registered with ``register_plugin`` (or any plugin, by name)."""
        with self._reload_lock:
            self._code_plugins.pop(name, None)
            for host in self._hosts():
                host.remove(name)

    def _hosts(self) -> list[PluginHost]:
        """The plugin hosts a registration changes: the bot being served, and the one an
        engine_loaded hook of a reload in progress sees (about to be served)."""
        hosts = [self._runtime.host]
        if self._serving() is not self._runtime:
            hosts.append(self._serving().host)
        return hosts

    def choose(self, options: Sequence[str]) -> str:
        """Pick one reply variant (reproducible with ``Engine(seed=...)``)."""
        if isinstance(options, str):  # a sequence too: it would pick one character
            raise TypeError(f"choose takes a list of reply variants, not one str ({options[:40]!r})")
        if not isinstance(options, Sequence):  # a dict's keys would be read as positions
            raise TypeError(f"choose takes a list of reply variants, not {type(options).__name__}")
        return self._rng.choice(options)

    # -- matching ---------------------------------------------------------------------------

    def match(self, text: str, contexts: Sequence[str] | str | None = ()) -> Match:
        """Which intent ``text`` is, outside any conversation.

        ``contexts`` are treated as open, so follow-up intents can match (one ``str`` is one
        context, not a set of characters). A context that is not a ``str`` is a ``TypeError``.
        """
        text = check_text(text)
        opened = check_contexts(contexts)
        runtime = self._serving()
        return runtime.match(clean(text, runtime.spec.settings.max_input_length), opened)

    def segment(self, text: str) -> list[str]:
        """How the bot's tokenizer segments ``text`` (normalized, synonyms applied, no stopwords)."""
        runtime = self._serving()
        return runtime.model.features.analyzer.segment(
            check_text(text), runtime.spec.settings.max_input_length
        )

    def match_many(self, texts: Sequence[str], n_jobs: int = 1) -> list[Match]:
        """``match`` for many texts; ``n_jobs`` > 1 spreads them over processes."""
        from kefu.bulk import match_many

        if isinstance(texts, str):  # would be matched character by character
            raise TypeError("match_many takes a list of texts, not one str: use match() for one text")
        runtime = self._serving()
        limit = runtime.spec.settings.max_input_length
        # Cleaned and cut as match() does (lone surrogates in Match.text failed to encode).
        texts = [clean(check_text(text, f"texts[{i}]"), limit) for i, text in enumerate(texts)]
        return match_many(runtime, texts, n_jobs)

    # -- conversations ----------------------------------------------------------------------

    def reply(
        self, text: str, session_id: str = "default", *, metadata: Mapping[str, Any] | None = None
    ) -> Reply:
        """Answer one message of the conversation ``session_id``. Whatever the text holds, it
        is answered; text that is not a ``str`` is a ``TypeError``, a ``session_id`` that is
        not one a ``SessionIdError``. A failing session store is a ``StoreError``, a call from
        inside a plugin hook a ``KefuError``, a failing plugin with ``strict_plugins`` a
        ``PluginError``."""
        session_id = check_id(session_id)
        text = check_text(text)
        meta = check_metadata(metadata)
        _refuse_inside_hook("reply")
        replying = _Replying(session_id)
        token = _REPLYING.set(replying)
        try:
            reply = self._reply(text, session_id, meta)
        finally:
            _REPLYING.reset(token)
        for action in replying.after:  # what hooks did to this conversation, now it is saved
            action()
        return reply

    def _reply(self, text: str, session_id: str, meta: Mapping[str, Any]) -> Reply:
        runtime = self._runtime  # one bot for the whole message, even if a reload lands
        token = _PINNED.set((self, runtime))  # and the same bot for its plugin hooks
        try:
            return self._reply_on(runtime, text, session_id, meta)
        finally:
            _PINNED.reset(token)

    def _reply_on(self, runtime: Runtime, text: str, session_id: str, meta: Mapping[str, Any]) -> Reply:
        self._sweep(self.clock())
        settings = runtime.spec.settings
        text = clean(text, settings.max_input_length)
        with self.store.transaction(session_id) as session, message_budget():
            # Read under the conversation's lock, never before its last message: history in
            # time order when messages of one conversation arrive at once.
            now = max(self.clock(), session.last_active)
            if session.turns == 0 and session.last_active == session.created:
                # The store read its own clock a moment later: the conversation starts now.
                session.created = session.last_active = now
                session_started(self, runtime, session)
            message = Message(text, session_id, now, meta)
            turn = Turn(self, runtime, session, message, now, self._rng)
            reply = self._respond(turn)
            reply = response_built(turn, reply)
            session.turns += 1
            session.last_active = now
            label = reply.intent or reply.action
            # The transcript keeps the message as plugins left it (masked words stay masked).
            session.record((now, turn.message.text, reply.text, label), settings.history_size)
            # Contexts that closed with this message go (after response_built, which may read
            # them: risk control leaves a context's order number unmasked): the open ones stay.
            session.active_contexts(now)
            if session.has_data:
                drop_unstorable(self.store, session, "a plugin")
        return reply

    async def areply(
        self, text: str, session_id: str = "default", *, metadata: Mapping[str, Any] | None = None
    ) -> Reply:
        """``reply`` for asyncio servers: the work runs in a thread, off the event loop. Its
        arguments are checked before they leave the loop."""
        session_id = check_id(session_id)
        text = check_text(text)
        meta = check_metadata(metadata)
        # Here, not in the pool's thread: that thread does not see this one's hook marker,
        # so its reply would wait for the lock this thread's reply holds, forever.
        _refuse_inside_hook("areply")
        call = functools.partial(self.reply, text, session_id, metadata=meta)
        return await asyncio.get_running_loop().run_in_executor(None, call)

    def _respond(self, turn: Turn) -> Reply:
        blocked = message_received(turn)
        if blocked is not None:
            return blocked
        if turn.session.handoff:
            return turn.reply("", "handed_off", handoff=True, handoff_reason=turn.session.handoff_reason)
        return handle(turn)

    def session(self, session_id: str) -> Session | None:
        """The conversation ``session_id`` (its slots, contexts, history), or None."""
        return self.store.get(check_id(session_id))

    def release(self, session_id: str) -> None:
        """Give a handed-off conversation back to the bot (from a hook of that conversation's
        own reply: right after the reply is saved, like ``end_session``). A conversation
        that does not exist (ended, or never started) is left alone, not created."""
        session_id = check_id(session_id)

        def release(session: Session) -> None:
            session.handoff = False
            session.handoff_reason = None
            session.fallback_streak = 0

        self._now_or_after_reply(session_id, lambda: _update_existing(self.store, session_id, release))

    def record_agent_message(self, session_id: str, text: str, agent: str = "") -> None:
        """Add a human agent's message to the conversation's history, as an exchange with
        no customer text, labelled ``agent:<name>``: transcripts then show the whole
        conversation, and a store shared by several processes shares it too. It counts as
        activity (the session does not idle out while an agent talks), not as a turn.

        The text is kept whole up to ``AGENT_TEXT_LENGTH`` characters; a longer one is a
        ``ValueError`` and nothing is recorded (the caller should not send it either). From a
        hook of that conversation's own reply, it is recorded right after the reply. A
        conversation that does not exist (ended, or never started) is left alone."""
        session_id = check_id(session_id)
        text = check_text(text)
        agent = check_text(agent, "agent")
        if len(text) > AGENT_TEXT_LENGTH:
            raise ValueError(
                f"an agent message is at most {AGENT_TEXT_LENGTH} characters, this one has "
                f"{len(text)}: send it in parts (nothing was recorded)"
            )
        now = self.clock()
        settings = self._serving().spec.settings
        text = clean(text, AGENT_TEXT_LENGTH)  # lone surrogates only: the length is checked
        # The name is in every later transcript of this session: keep it encodable and short.
        agent = clean(agent, AGENT_NAME_LENGTH)

        def record(session: Session) -> None:
            session.last_active = max(now, session.last_active)
            session.record((session.last_active, "", text, f"agent:{agent}"), settings.history_size)

        # It created a session before: one no session_started hook had seen.
        self._now_or_after_reply(session_id, lambda: _update_existing(self.store, session_id, record))

    def end_session(self, session_id: str) -> None:
        """Forget a conversation now (``session_ended`` fires with reason "deleted").

        From a plugin hook of that conversation's own reply, it ends once the reply is
        saved: deleting it under the reply would be undone by the reply's save.
        """
        session_id = check_id(session_id)
        self._now_or_after_reply(session_id, lambda: self.store.delete(session_id))

    def _now_or_after_reply(self, session_id: str, action: Callable[[], None]) -> None:
        """Run ``action`` now or, from a hook of this conversation's own reply, right after
        that reply is saved: under it, the reply's save would undo what ``action`` changed
        (or, with a store that locks across processes, ``action`` would wait for the reply)."""
        replying = _REPLYING.get()
        if replying is not None and replying.session_id == session_id:
            replying.after.append(action)
        else:
            action()

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep >= SWEEP_INTERVAL:
            self._last_sweep = now
            self.store.expire()

    def _session_ended(self, session: Session, reason: str) -> None:
        self._serving().host.notify("session_ended", session=session, reason=reason, engine=self)


@dataclasses.dataclass
class _Replying:
    """The conversation this thread is answering, and what hooks asked to do to it."""

    session_id: str
    after: list[Callable[[], None]] = dataclasses.field(default_factory=list)


_REPLYING: contextvars.ContextVar[_Replying | None] = contextvars.ContextVar("kefu_replying", default=None)
"""Set while this thread runs ``reply``: plugin hooks run inside it."""

_PINNED: contextvars.ContextVar[tuple[Engine, Runtime] | None] = contextvars.ContextVar(
    "kefu_pinned", default=None
)
"""The engine and the bot this thread's plugin hooks see (``Engine._serving``): the bot a
reply started on, or the one a reload is about to serve."""


def _refuse_inside_hook(method: str) -> None:
    """``KefuError`` if this thread (or a loop it runs) is inside a hook of a reply."""
    if _REPLYING.get() is not None:
        # A hook of this thread's reply holds a session lock (maybe this very session's,
        # maybe one sharing its lock stripe): waiting for it would wait forever.
        raise KefuError(f"{method}() called from inside a plugin hook: keep the message for later instead")


class _NoSession(Exception):
    """Raised inside a transaction to leave a session that did not exist unsaved."""


def _update_existing(store: SessionStore, session_id: str, change: Callable[[Session], None]) -> None:
    """``change`` the session ``session_id`` under its lock and save it; nothing at all if
    there is none. Checked under the lock: a ``get`` first could see a session that is
    evicted before the transaction, which would then create it anew."""
    with contextlib.suppress(_NoSession), store.transaction(session_id) as session:
        if session.turns == 0 and not session.history:  # the store just made it
            raise _NoSession  # a transaction that raises saves nothing
        change(session)


def _store_for(spec: BotSpec, clock: Callable[[], float]) -> SessionStore:
    settings = spec.sessions
    if settings.store == "redis":
        from kefu.redis_store import RedisStore

        assert settings.url is not None  # the loader guarantees a url for redis
        return RedisStore(
            settings.url,
            idle_ttl=settings.idle_ttl,
            key_prefix=settings.key_prefix,
            lock_timeout=settings.lock_timeout,
            lock_wait=settings.lock_wait,
            end_grace=settings.end_grace,
            clock=clock,
        )
    return MemoryStore(settings.max_sessions, settings.idle_ttl, clock=clock)
