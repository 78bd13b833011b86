"""``main``: run the chat server with uvicorn (``python examples/chat_server --help``)."""

from __future__ import annotations

import argparse
import logging
import resource
import socket
from collections.abc import Sequence

import uvicorn

import kefu
from chat_server.app import create_app
from chat_server.http_timeout import with_header_timeout
from chat_server.settings import Settings

__all__ = ["NotUtf8Frame", "main"]

log = logging.getLogger(__name__)


FLAGS = ("host", "port", "bot", "redis_url")
LOG_LEVELS = tuple(uvicorn.config.LOG_LEVELS)  # critical ... debug, and uvicorn's own "trace"
"""Settings that have a command-line flag too (``--redis-url`` for ``redis_url``)."""


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    # No defaults here: a flag left out means its KEFU_CHAT_ variable, then the setting's
    # default, and only Settings.from_env knows which (or that the variable is bad).
    parser = argparse.ArgumentParser(
        prog="python examples/chat_server",
        description="A customer-service chat server on kefu: visitor widget at /, agent desk at /agent. "
        "Every limit can be set with KEFU_CHAT_<NAME> environment variables (see the README); "
        "a flag wins over its variable.",
    )
    parser.add_argument(
        "--host", help=f"Address to listen on (default: KEFU_CHAT_HOST, else {Settings.host})."
    )
    parser.add_argument("--port", type=int, help=f"Port (default: KEFU_CHAT_PORT, else {Settings.port}).")
    parser.add_argument(
        "--bot", help="Bot YAML file or folder, or a saved model (default: KEFU_CHAT_BOT, else the demo bot)."
    )
    parser.add_argument(
        "--redis-url", help="Keep sessions in this Redis (default: KEFU_CHAT_REDIS_URL, else in memory)."
    )
    parser.add_argument(
        "--log-level",
        default="info",
        type=str.lower,
        choices=LOG_LEVELS,
        help="uvicorn's log level (default: %(default)s).",
    )
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
    args = _arguments(argv)
    # Before the settings are read: their warnings (a misspelled variable) use this format.
    logging.basicConfig(
        level=uvicorn.config.LOG_LEVELS[args.log_level], format="%(levelname)s:     %(name)s: %(message)s"
    )
    flags = {name: getattr(args, name) for name in FLAGS if getattr(args, name) is not None}
    try:
        settings = Settings.from_env(flags=flags)
    except ValueError as exc:  # Settings name every bad value; a traceback would only bury them
        raise SystemExit(str(exc)) from None
    raise_open_files_limit(settings.max_connections + 100)
    # Bound before the bot loads: a taken port or an unknown host fails at once, and the
    # addresses printed are the ones really bound (port 0 picks a free one).
    sock = bind(settings.host, settings.port)
    try:
        app = create_app(settings)
    except kefu.KefuError as exc:  # names the bot file and line
        raise SystemExit(str(exc)) from None
    base = base_url(sock)
    print(f"visitor widget: {base}/", flush=True)
    print(f"agent desk:     {base}/agent", flush=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=sock.getsockname()[1],
        log_level=args.log_level,
        ws_max_size=settings.hard_frame_bytes,
        ws_max_queue=8,
        # No limit_concurrency: uvicorn counted half-open connections against it and then
        # answered every page, /healthz too, with 503. The app caps WebSockets itself, and
        # connections that never send a request are closed after header_timeout.
        http=with_header_timeout(settings.header_timeout),
        backlog=4096,
    )
    # After uvicorn.Config, which sets up uvicorn's loggers (it keeps the filters they have).
    logging.getLogger("uvicorn.error").addFilter(NotUtf8Frame())
    uvicorn.Server(config).run(sockets=[sock])


class NotUtf8Frame(logging.Filter):
    """One warning line for a WebSocket text frame that is not UTF-8, instead of an error with
    a ``UnicodeDecodeError`` traceback. uvicorn closes that connection with 1007 itself and
    logs it with ``logger.exception``: what any client can send is not a server bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The message too: a UnicodeDecodeError in the app ("Exception in ASGI application")
        # is a bug, and keeps its traceback.
        frame_error = record.msg == "Invalid UTF-8 sequence received from client."
        if frame_error and record.exc_info is not None and isinstance(record.exc_info[1], UnicodeDecodeError):
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.msg, record.args = "WebSocket closed with 1007: a text frame that is not UTF-8", ()
        return True


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port``, not yet listening (uvicorn listens on it).

    ``SystemExit`` with one line naming the address if it cannot be had: an unknown host,
    a port in use, one that needs privileges.
    """
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise SystemExit(f"cannot listen on {where}: {exc.strerror or exc}") from None
    except UnicodeError as exc:  # a host name that is no name at all ("a..b")
        raise SystemExit(f"cannot listen on {where}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restarts reuse it
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise SystemExit(f"cannot listen on {where}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (an IPv6 address in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
