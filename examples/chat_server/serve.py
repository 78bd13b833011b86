"""``main``: run the chat server with uvicorn (``python examples/chat_server --help``)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import resource
from collections.abc import Sequence

import uvicorn

import kefu
from chat_server.app import create_app
from chat_server.settings import Settings

__all__ = ["main"]

log = logging.getLogger(__name__)


def _arguments(argv: Sequence[str] | None, defaults: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python examples/chat_server",
        description="A customer-service chat server on kefu: visitor widget at /, agent desk at /agent. "
        "Every limit can be set with KEFU_CHAT_<NAME> environment variables (see the README).",
    )
    parser.add_argument("--host", default=defaults.host, help="Address to listen on (default: %(default)s).")
    parser.add_argument("--port", type=int, default=defaults.port, help="Port (default: %(default)s).")
    parser.add_argument("--bot", default=defaults.bot, help="Bot YAML file or folder, or a saved model.")
    parser.add_argument("--redis-url", default=defaults.redis_url, help="Keep sessions in this Redis.")
    parser.add_argument("--log-level", default="info", help="uvicorn's log level (default: %(default)s).")
    return parser.parse_args(argv)


def raise_open_files_limit(wanted: int) -> None:
    """Raise this process's soft limit on open files towards ``wanted`` (each WebSocket is one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main(argv: Sequence[str] | None = None) -> None:
    """Start the server and serve until interrupted.

    Bad settings or a bad bot file end it before it listens: their message on stderr, no
    traceback, exit status 1.
    """
    try:
        defaults = Settings.from_env()
        args = _arguments(argv, defaults)
        settings = dataclasses.replace(
            defaults, host=args.host, port=args.port, bot=args.bot, redis_url=args.redis_url
        )
    except ValueError as exc:  # Settings name every bad value; a traceback would only bury them
        raise SystemExit(str(exc)) from None
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    raise_open_files_limit(settings.max_connections + 100)
    try:
        app = create_app(settings)
    except kefu.KefuError as exc:  # names the bot file and line
        raise SystemExit(str(exc)) from None
    print(f"visitor widget: http://{settings.host}:{settings.port}/", flush=True)
    print(f"agent desk:     http://{settings.host}:{settings.port}/agent", flush=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        ws_max_size=settings.hard_frame_bytes,
        ws_max_queue=8,
        limit_concurrency=settings.max_connections + 100,
        backlog=4096,
    )
    uvicorn.Server(config).run()
