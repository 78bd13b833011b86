"""Everything a bot serves with, built in one piece: model, plugins, entity extractor.

An ``Engine`` holds one ``Runtime`` and replaces it in a single assignment on reload, so
a reply in flight finishes on the runtime it started with and a failed build never
replaces a working one.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from kefu.bot_regex import message_budget, timeouts
from kefu.cache import cache_dir
from kefu.entities import EntityExtractor
from kefu.errors import ModelError, PluginError
from kefu.jobs import check_n_jobs
from kefu.loader import load_spec
from kefu.manager import DEFAULT_PLUGINS, FailedPlugin, PluginHost
from kefu.matcher import verdict
from kefu.model import Model, is_model_dir, load_model, train
from kefu.model_save import ModelSaveError, save_model
from kefu.normalize import normalize
from kefu.spec import BotSpec
from kefu.values import Candidate, Match

__all__ = ["Runtime", "build_runtime", "cached_model_dir", "load_or_train", "store_in_cache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """A trained model with its plugin host and entity extractor."""

    model: Model
    host: PluginHost
    extractor: EntityExtractor

    @property
    def spec(self) -> BotSpec:
        """The bot definition this runtime serves."""
        return self.model.spec

    @functools.cached_property
    def model_dir(self) -> Path:
        """``cached_model_dir`` of this bot, found once: for a bot built in code it means
        dumping the whole bot to YAML (1.4 s for 100,000 examples), on every ``match_many``."""
        return cached_model_dir(self.spec)

    def __post_init__(self) -> None:
        size = self.model.spec.matcher.cache_size
        # Customers repeat themselves ("在吗", "转人工"); identical normalized text in the
        # same contexts always gets the same verdict, so it is computed once.
        compute = functools.lru_cache(maxsize=size)(self._verdict) if size else self._verdict
        object.__setattr__(self, "_cached_verdict", compute)

    def match(self, text: str, contexts: frozenset[str] = frozenset()) -> Match:
        """Score ``text`` against every intent and apply thresholds and margin."""
        normalized = normalize(text, self.spec.settings.max_input_length)
        with message_budget():
            before = timeouts()
            decided: _Verdict = self._cached_verdict(normalized, contexts)  # type: ignore[attr-defined]
            if before or timeouts() != before:
                # A pattern ran out of time on this message (or a slot's entity regex had
                # already used its budget up): the verdict counted some patterns as not
                # matching, so it must not answer the next message with the same text.
                clear = getattr(self._cached_verdict, "cache_clear", None)  # type: ignore[attr-defined]
                if clear is not None:
                    clear()
        return Match(text, *decided)

    def _verdict(self, normalized: str, contexts: frozenset[str]) -> _Verdict:
        """What normalized text gets (fallback, ambiguous or an intent): a ``Match`` but its text."""
        settings = self.spec.settings
        query = self.model.features.vector(normalized, normalized=True)
        ranking = self.model.matcher.rank(query, normalized, contexts, settings.top_k)
        names = self.model.matcher.intents
        candidates = tuple(
            Candidate(names[i], c) for i, c in zip(ranking.order, ranking.confidences, strict=True) if c > 0
        )
        if not candidates:
            return None, 0.0, (), False, None
        best = candidates[0]
        # A lone candidate has no rival to be ambiguous with.
        runner_up = candidates[1].confidence if len(candidates) > 1 else -math.inf
        decided = verdict(
            best.confidence,
            runner_up,
            self.spec.threshold_of(self.spec.intents[ranking.order[0]]),
            settings.ambiguity_margin,
            ranking.rule,
        )
        if decided == "fallback":
            return None, best.confidence, candidates, False, None
        if decided == "ambiguous":
            return None, best.confidence, candidates, True, None
        return best.intent, best.confidence, candidates, False, ranking.rule


_Verdict = tuple[str | None, float, tuple[Candidate, ...], bool, str | None]
"""A ``Match`` without its text: intent, confidence, candidates, ambiguous, rule. The
verdict cache keeps these, and ``match`` builds one ``Match`` with the message's own text:
``dataclasses.replace`` of a cached ``Match`` cost twice as much as building it."""


def cached_model_dir(spec: BotSpec) -> Path:
    """Where kefu's cache keeps the trained model of ``spec`` (named by its fingerprint).

    A bot built in code has no files and so no fingerprint: its folder is named by the
    bot-file YAML it amounts to (without this, every such bot was the "models" folder).
    """
    key = spec.fingerprint
    if not key:
        from kefu.specdump import dump_spec  # bots built in code only

        key = hashlib.sha256(dump_spec(spec).encode("utf-8", "surrogatepass")).hexdigest()
    return cache_dir() / "models" / key[:24]


def load_or_train(path: str | Path, *, n_jobs: int = 1, use_cache: bool = True) -> Model:
    """A model for ``path``: a saved model directory, or bot files trained (or taken from
    kefu's cache when an identical bot was trained before)."""
    check_n_jobs(n_jobs)  # also when the model comes from a file and nothing is trained
    if is_model_dir(path):
        return load_model(path)
    spec = load_spec(path)
    cached = cached_model_dir(spec)
    if use_cache and is_model_dir(cached):
        try:
            return load_model(cached, bot=spec)
        except ModelError as exc:
            log.warning("ignoring damaged cached model %s: %s", cached, exc)
    model = train(spec, n_jobs=n_jobs)
    if use_cache:
        try:
            store_in_cache(model, cached)
        except OSError as exc:
            log.warning("could not cache the trained model in %s: %s", cached, exc)
    return model


def store_in_cache(model: Model, folder: Path) -> None:
    """Save ``model`` as kefu's cached copy in ``folder`` (see ``cached_model_dir``).

    A damaged entry there is removed first: the folder is kefu's own, and ``save_model``
    rightly refuses to replace a folder that is not a model, so the damage used to stay
    (every start retrained, and match_many's workers failed on it).
    """
    try:
        save_model(model, folder, portable=False)
    except ModelSaveError:
        if folder.is_symlink() or not folder.is_dir():
            raise
        shutil.rmtree(folder, ignore_errors=True)
        save_model(model, folder, portable=False)


def build_runtime(
    model: Model,
    *,
    plugin_dirs: tuple[Path, ...] = (),
    builtins: tuple[str, ...] = DEFAULT_PLUGINS,
    entry_points: bool = True,
    strict_plugins: bool = False,
    require_all_plugins: bool = False,
    with_plugins: bool = True,
    bot_plugins: bool = True,
) -> Runtime:
    """Load plugins for ``model`` and assemble a runtime.

    A fail-closed plugin that fails to load always fails the build (``PluginError``); with
    ``require_all_plugins`` (used by reload) any failing plugin does, instead of being
    skipped; ``with_plugins=False`` loads none (matching only); ``bot_plugins=False`` skips
    the folder the bot file names (``plugins: {dir}``).
    """
    spec = model.spec
    if not with_plugins:  # matching only: no plugin code runs at all
        host = PluginHost(builtins=(), entry_points=False)
        return Runtime(model, host, EntityExtractor(spec.entities))
    if bot_plugins and model.plugins_left_behind and not plugin_dirs:
        # Serving without them could drop a guard the bot depends on, without a word.
        raise PluginError(
            model.plugins_left_behind,
            f"the bot was trained with `plugins: {{dir: {model.plugins_left_behind}}}`, and a saved model "
            "carries no code: pass that folder (plugins_dir=..., kefu --plugins-dir) or serve the bot files",
        )
    own = (spec.plugins.dir,) if bot_plugins and spec.plugins.dir else ()
    host = PluginHost(
        spec.plugins.config,
        plugin_dirs=_distinct((*own, *plugin_dirs)),
        builtins=builtins,
        entry_points=entry_points,
        strict=strict_plugins,
        # Settings for plugins of a folder skipped on purpose (kefu predict, test, tune) are
        # no typo to warn about.
        check_settings=bot_plugins,
    )
    closed = [f for f in host.failed if f.fail_closed]
    if closed:
        # Serving without risk control (or any plugin that says it must not be skipped)
        # would let through exactly what it exists to stop.
        raise PluginError(
            closed[0].name, f"fail-closed plugin could not be loaded, not serving: {_listed(closed)}"
        )
    if require_all_plugins and host.failed:
        raise PluginError(host.failed[0].name, f"plugins failed to load: {_listed(host.failed)}")
    return Runtime(model, host, EntityExtractor(spec.entities))


def _distinct(folders: tuple[Path, ...]) -> tuple[Path, ...]:
    """``folders`` without repeats (compared resolved), each as it was first given."""
    # `plugins: {dir: plugins}` and --plugins-dir naming that folder by its absolute path
    # loaded every file twice: each second copy failed to load, and so did every reload.
    first: dict[Path, Path] = {}
    for folder in folders:
        try:
            key = folder.resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL: loading says why
            key = folder
        first.setdefault(key, folder)
    return tuple(first.values())


def _listed(failed: list[FailedPlugin]) -> str:
    """Failed plugins as one line for a ``PluginError``: name, source and error of each."""
    return "; ".join(f"{f.name} ({f.source}): {f.error}" for f in failed)
