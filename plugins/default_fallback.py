"""The default fallback: one of the bot's ``bot.fallback`` replies, chosen at random.

Registered ``trylast`` so any other plugin's ``fallback`` answer wins. It takes no
settings (``SETTINGS`` is empty), so ``kefu validate`` reports any key given for it.
"""

from __future__ import annotations

import kefu
from kefu.checks import Check

SETTINGS: dict[str, Check] = {}
"""What ``plugins: default_fallback:`` may hold: nothing."""


@kefu.hookimpl(trylast=True)
def fallback(engine: kefu.Engine) -> str:
    """Answer with one of the bot's fallback replies."""
    return engine.choose(engine.spec.settings.fallback)
