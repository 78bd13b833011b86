"""The default fallback: one of the bot's ``bot.fallback`` replies, chosen at random.

Registered ``trylast`` so any other plugin's ``fallback`` answer wins.
"""

from __future__ import annotations

import kefu


@kefu.hookimpl(trylast=True)
def fallback(engine: kefu.Engine) -> str:
    """Answer with one of the bot's fallback replies."""
    return engine.choose(engine.spec.settings.fallback)
