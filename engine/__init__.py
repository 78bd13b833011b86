"""kefu: a Chinese-first dialog engine for customer-service bots.

>>> from kefu import Engine
>>> bot = Engine.from_path("intents/")
>>> bot.reply("我的快递到哪了", session_id="user-1").action  # it asks for the order number
'prompt'

Public names are imported on first use: all of them together pull in NumPy, SciPy and
jieba, which ``kefu validate`` or ``kefu --help`` never need (half a second of every start).
"""

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu._version import __version__
    from kefu.crossval import cross_validate
    from kefu.dialogues import Dialogue, DialogueResult, read_dialogues, run_dialogue
    from kefu.engine import Engine
    from kefu.errors import (
        KefuError,
        ModelError,
        PluginError,
        Problem,
        SessionDamagedError,
        SessionIdError,
        SpecError,
        StoreError,
    )
    from kefu.evaluate import (
        EvalReport,
        IntentScore,
        Prediction,
        TestRow,
        evaluate,
        predict_rows,
        read_test_file,
    )
    from kefu.explain import Explanation, explain
    from kefu.hookspecs import hookimpl
    from kefu.lint import Finding, lint
    from kefu.loader import load_spec
    from kefu.manager import FailedPlugin, LoadedPlugin, register_plugin_commands
    from kefu.memory_store import MemoryStore
    from kefu.model import Model, load_model, saved_fingerprint, train
    from kefu.model_save import ModelSaveError, save_model
    from kefu.normalize import normalize
    from kefu.redis_store import RedisStore
    from kefu.reports import write_report
    from kefu.sessions import Session, SessionStore
    from kefu.spec import BotSpec, IntentSpec
    from kefu.thresholds_file import write_thresholds
    from kefu.tuning import TuningPoint, recommend, sweep
    from kefu.values import Block, Candidate, Match, Message, Reply

_EXPORTS = {  # the import above, for when a name is first read
    "kefu._version": ("__version__",),
    "kefu.crossval": ("cross_validate",),
    "kefu.dialogues": ("Dialogue", "DialogueResult", "read_dialogues", "run_dialogue"),
    "kefu.engine": ("Engine",),
    "kefu.errors": (
        "KefuError", "ModelError", "PluginError", "Problem", "SessionDamagedError", "SessionIdError",
        "SpecError", "StoreError",
    ),
    "kefu.evaluate": (
        "EvalReport", "IntentScore", "Prediction", "TestRow", "evaluate", "predict_rows", "read_test_file"
    ),
    "kefu.explain": ("Explanation", "explain"),
    "kefu.hookspecs": ("hookimpl",),
    "kefu.lint": ("Finding", "lint"),
    "kefu.loader": ("load_spec",),
    "kefu.manager": ("FailedPlugin", "LoadedPlugin", "register_plugin_commands"),
    "kefu.memory_store": ("MemoryStore",),
    "kefu.model": ("Model", "load_model", "saved_fingerprint", "train"),
    "kefu.model_save": ("ModelSaveError", "save_model"),
    "kefu.normalize": ("normalize",),
    "kefu.redis_store": ("RedisStore",),  # needs the optional `redis` package
    "kefu.reports": ("write_report",),
    "kefu.sessions": ("Session", "SessionStore"),
    "kefu.spec": ("BotSpec", "IntentSpec"),
    "kefu.thresholds_file": ("write_thresholds",),
    "kefu.tuning": ("TuningPoint", "recommend", "sweep"),
    "kefu.values": ("Block", "Candidate", "Match", "Message", "Reply"),
}  # fmt: skip

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "Block",
    "BotSpec",
    "Candidate",
    "Dialogue",
    "DialogueResult",
    "Engine",
    "EvalReport",
    "Explanation",
    "FailedPlugin",
    "Finding",
    "IntentScore",
    "IntentSpec",
    "KefuError",
    "LoadedPlugin",
    "Match",
    "MemoryStore",
    "Message",
    "Model",
    "ModelError",
    "ModelSaveError",
    "PluginError",
    "Prediction",
    "Problem",
    "RedisStore",
    "Reply",
    "Session",
    "SessionDamagedError",
    "SessionIdError",
    "SessionStore",
    "SpecError",
    "StoreError",
    "TestRow",
    "TuningPoint",
    "__version__",
    "cross_validate",
    "evaluate",
    "explain",
    "hookimpl",
    "lint",
    "load_model",
    "load_spec",
    "normalize",
    "predict_rows",
    "read_dialogues",
    "read_test_file",
    "recommend",
    "register_plugin_commands",
    "run_dialogue",
    "save_model",
    "saved_fingerprint",
    "sweep",
    "train",
    "write_report",
    "write_thresholds",
]


class _Package(types.ModuleType):
    """The ``kefu`` module: a public name is imported when first read."""

    def __getattr__(self, name: str) -> Any:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module 'kefu' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        super().__setattr__(name, value)  # read once: later reads are plain attributes
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing kefu.lint (or evaluate, explain, normalize) makes Python set the
        # package's attribute of that name to the module; it must stay the function.
        if name in _MODULE_OF and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *__all__})


sys.modules[__name__].__class__ = _Package
