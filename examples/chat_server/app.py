"""``create_app``: the FastAPI application: two pages, two WebSockets and a health check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response, WebSocket
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import kefu
from chat_server.endpoints import Connections, agent_endpoint, visitor_endpoint
from chat_server.hub import Hub
from chat_server.settings import Settings

__all__ = ["create_app", "load_engine"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
HEALTH_PROBE = "healthz"
"""The session id ``/healthz`` reads (whether it exists does not matter; the read must work)."""


def load_engine(settings: Settings) -> kefu.Engine:
    """The bot named by the settings, with sessions in Redis when ``redis_url`` is set."""
    if settings.redis_url:
        from kefu.redis_store import RedisStore

        return kefu.Engine.from_path(settings.bot, store=RedisStore(settings.redis_url))
    return kefu.Engine.from_path(settings.bot)


class _SessionEnds:
    """A kefu plugin telling the hub when the store drops a conversation (it runs in kefu's threads)."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.loop = loop

    @kefu.hookimpl
    def session_ended(self, session: kefu.Session) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed at shutdown
            self.loop.call_soon_threadsafe(self.hub.session_ended, session.id)


def create_app(settings: Settings | None = None, engine: kefu.Engine | None = None) -> FastAPI:
    """The chat server for ``settings`` (default: from the environment) serving ``engine``.

    Without an ``engine`` the bot named by the settings is loaded now (a few seconds
    the first time it is trained; kefu caches the model).
    """
    settings = settings or Settings.from_env()
    hub = Hub(engine or load_engine(settings), settings.agent_max_chats)
    connections = Connections(settings.max_connections)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        plugin = _SessionEnds(hub, asyncio.get_running_loop())
        name = hub.engine.register_plugin(plugin, f"chat_server-{id(hub):x}")
        log.info("serving bot %s from %s", hub.bot_name, settings.bot)
        try:
            yield
        finally:
            hub.engine.unregister_plugin(name)

    app = FastAPI(title="kefu chat server", lifespan=lifespan)
    app.state.hub = hub
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def widget() -> FileResponse:
        return FileResponse(STATIC / "visitor.html")

    @app.get("/agent", include_in_schema=False)
    async def desk() -> FileResponse:
        return FileResponse(STATIC / "agent.html")

    @app.get("/healthz")
    async def health(response: Response) -> dict[str, Any]:
        # One read from the session store: with Redis down every message fails, so the
        # server must not look healthy to a load balancer.
        try:
            await asyncio.to_thread(hub.engine.session, HEALTH_PROBE)
        except kefu.SessionDamagedError:
            pass  # the store answered: one damaged key is no reason to take this server out
        except kefu.StoreError as exc:
            response.status_code = 503
            return {"ok": False, "bot": hub.bot_name, "error": str(exc)}
        return {
            "ok": True,
            "bot": hub.bot_name,
            "visitors": len(hub.visitors),
            "agents": len(hub.agents),
            "handoffs": len(hub.handoffs),
            "waiting": sum(1 for h in hub.handoffs.values() if h.agent is None),
        }

    @app.websocket("/ws/visitor")
    async def visitor(ws: WebSocket) -> None:
        await visitor_endpoint(ws, hub, settings, connections)

    @app.websocket("/ws/agent")
    async def agent(ws: WebSocket) -> None:
        await agent_endpoint(ws, hub, settings, connections)

    return app
