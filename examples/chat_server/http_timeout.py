"""``with_header_timeout``: uvicorn's HTTP protocol, closing connections that never send a request.

uvicorn waits for a request's headers for as long as the client keeps the connection open,
so half-open connections (slowloris: a request line, then nothing) pile up for good. With
uvicorn's ``limit_concurrency`` they made every page and ``/healthz`` a 503; without it they
hold file descriptors until there are none left. This protocol gives a new connection
``seconds`` to finish its first request's headers, then closes it. Requests after the first
are covered by uvicorn's keep-alive timeout; WebSockets are left alone once upgraded.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["with_header_timeout"]


def with_header_timeout(seconds: float) -> type[H11Protocol]:
    """An ``H11Protocol`` subclass (for ``uvicorn.Config(http=...)``) with a ``seconds`` header timeout."""

    class HeaderTimeoutProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            # Past IDLE: the request line and headers are in (a WebSocket upgrade included).
            if self._header_timer is not None and self.conn.their_state is not h11.IDLE:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            super().connection_lost(exc)

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            self.transport.close()

    return HeaderTimeoutProtocol
