"""A fake order backend: a few orders in memory, and an outage for ids ending in 0000.

A real plugin would call the shop's order API here; the plugin only relies on
``find_order`` returning an ``Order`` or None and raising ``BackendError`` when the
service cannot answer.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ORDERS", "BackendError", "Order", "find_order"]


class BackendError(Exception):
    """The order service could not answer (timeout, outage); the message says why."""


@dataclass(frozen=True)
class Order:
    """What the order service knows about one order."""

    order_id: str
    status: str
    courier: str
    eta: str


ORDERS: dict[str, Order] = {
    order.order_id: order
    for order in (
        Order("2024112712345678", "运输中", "顺丰速运", "11月29日"),
        Order("2024112912345678", "已发货，等待揽收", "中通快递", "12月2日"),
        Order("2024112512345678", "已签收", "京东快递", "11月27日（已送达）"),
    )
}
"""The orders the fake backend knows, by order id."""


def find_order(order_id: str) -> Order | None:
    """The order with this id, or None if there is none; ``BackendError`` during an outage.

    Any id ending in ``0000`` simulates the order service timing out.
    """
    if order_id.endswith("0000"):
        raise BackendError(f"order service timed out looking up {order_id}")
    return ORDERS.get(order_id)
