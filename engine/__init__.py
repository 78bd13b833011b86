"""kefu: a Chinese-first dialog engine for customer-service bots.

>>> from kefu import Engine
>>> bot = Engine.from_path("intents/")
>>> bot.reply("我的快递到哪了", session_id="user-1").action  # it asks for the order number
'prompt'
"""

from typing import Any

from kefu._version import __version__
from kefu.crossval import cross_validate
from kefu.dialogues import Dialogue, DialogueResult, read_dialogues, run_dialogue
from kefu.engine import Engine
from kefu.errors import KefuError, ModelError, PluginError, Problem, SessionIdError, SpecError, StoreError
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
from kefu.model import Model, ModelSaveError, load_model, save_model, saved_fingerprint, train
from kefu.normalize import normalize
from kefu.reports import write_report
from kefu.sessions import MemoryStore, Session, SessionStore
from kefu.spec import BotSpec, IntentSpec
from kefu.thresholds_file import write_thresholds
from kefu.tuning import TuningPoint, recommend, sweep
from kefu.values import Block, Candidate, Match, Message, Reply

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


def __getattr__(name: str) -> Any:
    # RedisStore needs the optional `redis` package; import it only when asked for.
    if name == "RedisStore":
        from kefu.redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module 'kefu' has no attribute {name!r}")
