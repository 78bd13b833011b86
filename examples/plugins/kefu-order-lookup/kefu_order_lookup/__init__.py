"""kefu plugin: answer "where is my order" with the order's real status from the backend.

The bot's ``order_status`` intent asks for the ``order_id`` slot; once it is filled this
plugin replaces the bot's generic answer (``response_built``) with one built from the
order service. An unknown id gets a polite "not found"; when the service is down the
bot's own answer stands and the error is logged, so the customer still hears something.

Settings in the bot file::

    plugins:
      order_lookup: {backend: fake}   # the only backend this example ships
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import kefu
from kefu_order_lookup.backend import BackendError, Order, find_order

__all__ = ["BACKENDS", "SETTINGS", "OrderLookup", "describe", "make_plugin", "not_found"]
__version__ = "0.1.0"

log = logging.getLogger(__name__)

INTENT = "order_status"
SLOT = "order_id"
BACKENDS: dict[str, Callable[[str], Order | None]] = {"fake": find_order}
"""Order backends by the name used in the ``backend`` setting."""


def describe(order: Order) -> str:
    """The reply for a known order: status, courier and expected delivery day."""
    return (
        f"亲，帮您查到订单 {order.order_id}：{order.status}，"
        f"承运快递为{order.courier}，预计送达时间 {order.eta}。"
    )


def not_found(order_id: str) -> str:
    """The reply for an order id the backend does not know."""
    return f"抱歉，没有查到该订单（{order_id}），请核对订单号后再发给我，或回复“转人工”由人工客服帮您查询。"


class OrderLookup:
    """One engine's order lookup: fills ``order_status`` replies from ``lookup``."""

    def __init__(self, lookup: Callable[[str], Order | None]) -> None:
        self.lookup = lookup

    @kefu.hookimpl
    def response_built(self, reply: kefu.Reply) -> kefu.Reply | None:
        """Replace the bot's answer to an order-status question by the order's real status."""
        order_id = reply.slots.get(SLOT)
        if reply.intent != INTENT or not order_id:
            return None
        try:
            order = self.lookup(order_id)
        except BackendError:
            # The bot's generic answer is better than silence; kefu need not count this.
            log.exception("order lookup failed for %s; keeping the bot's own reply", order_id)
            return None
        text = describe(order) if order is not None else not_found(order_id)
        return dataclasses.replace(reply, text=text)


SETTINGS = ("backend",)
"""The keys ``plugins: order_lookup:`` may hold; any other is a mistake worth failing on."""


def make_plugin(settings: Mapping[str, Any]) -> OrderLookup:
    """Build the plugin from the bot file's ``order_lookup`` settings (``ValueError`` if wrong)."""
    # kefu adds `_base_dir` (the bot file's folder) to what the bot file gives.
    unknown = sorted(str(key) for key in settings if key not in (*SETTINGS, "_base_dir"))
    if unknown:
        # A misspelled key (`backnd: real`) would otherwise leave the default in use, unnoticed.
        close = difflib.get_close_matches(unknown[0], SETTINGS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"order_lookup: unknown setting {unknown[0]!r}{hint}; known: {', '.join(SETTINGS)}")
    backend = settings.get("backend", "fake")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"order_lookup.backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return OrderLookup(BACKENDS[backend])
