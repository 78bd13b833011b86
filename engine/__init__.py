"""kefu: a Chinese-first dialog engine for customer-service bots."""

from kefu._version import __version__
from kefu.errors import KefuError, ModelError, PluginError, SpecError, StoreError
from kefu.loader import load_spec
from kefu.normalize import normalize

__all__ = [
    "KefuError",
    "ModelError",
    "PluginError",
    "SpecError",
    "StoreError",
    "__version__",
    "load_spec",
    "normalize",
]
