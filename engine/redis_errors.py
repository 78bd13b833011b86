"""What went wrong with a Redis URL or server, said so the user can fix it.

``RedisStore`` turns every Redis failure into a ``StoreError``; this module writes its
message: the URL with any password hidden (``redact``), a database path that is not a
number refused before redis-py misreads it (``check_database``), and Redis's own error
with what to change when a password, a database or a Redis Cluster is the cause
(``explain``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kefu.errors import StoreError

try:
    import redis
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("RedisStore needs the redis package: pip install 'kefu[redis]'") from exc

__all__ = ["check_database", "explain", "redact", "unparsed"]


def redact(url: str) -> str:
    """``url`` without its password (in the user part or a ``password=`` option), for
    error messages and logs. Never raises, even for a URL that does not parse."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    # By hand rather than with urlsplit, which refuses bad ports and brackets. A password
    # may hold / ? # (unescaped, they break the URL, and the error must still hide it): the
    # user part runs to the last @, unless that @ is in an option (?username=me@corp).
    rest = _QUERY_PASSWORD.sub(r"\1***", rest)
    userinfo, at, after = rest.rpartition("@")
    if at and ":" in userinfo and not _OPTION_VALUE.search(userinfo):
        rest = f"{userinfo.split(':', 1)[0]}:***@{after}"
    return f"{scheme}{sep}{rest}"


_OPTION_VALUE = re.compile(r"[?&][A-Za-z_]+=[^&]*$")


# The value runs to the next ``&name=`` option, or to the end: an unescaped & or # is more
# likely part of the password than the start of an option or fragment (``password=ab&cd``).
_QUERY_PASSWORD = re.compile(r"([?&]password=).*?(?=&[A-Za-z_]+=|$)", re.IGNORECASE | re.DOTALL)

_DATABASES = "a Redis has databases 0 to 15 unless its `databases` setting gives more"
# SELECT takes a C int and `databases` is at most INT_MAX, so no server has a higher one.
_MAX_DATABASE = 2**31 - 2
_ENCODE = "percent-encode any @ : / % ? # in"  # a password in the user part
_ESCAPE_HINT = "a password holding @ : / % ? or # must have them percent-encoded"
# A ``password=`` option is decoded as a form field: ``+`` reads as a space.
_ENCODE_OPTION = "percent-encode any % & # + in"
_CLUSTER = (
    "Redis Cluster is not supported: a session, its lock and the idle index are used together, "
    "and a cluster keeps them in different hash slots; use a standalone Redis"
)
_CLUSTER_ERRORS = (
    redis.exceptions.ClusterCrossSlotError,
    redis.exceptions.AskError,  # and MovedError
    redis.exceptions.ClusterError,
    redis.exceptions.TryAgainError,
)


def check_database(url: str) -> None:
    """Refuse a database path that is not a number: redis-py reads ``/abc`` as database 0
    and ``/1/2`` as database 12, so a typo would silently share another bot's sessions.
    Refuse ``?db=`` beside a database path for the same reason: it overrides the path."""
    if not url.lower().startswith(("redis://", "rediss://")):
        return  # unix:// takes the database as ?db=, which redis-py checks itself
    parts = urlsplit(url)
    path = parts.path
    if path.strip("/") and any(
        name.lower() == "db" for name, _ in parse_qsl(parts.query, keep_blank_values=True)
    ):
        # redis-py lets ?db= override the path: redis://host/0?db=2 was database 2.
        problem = "give the database once, in the path after the host (/2) or as ?db=, not both"
        raise StoreError(f"invalid Redis URL {redact(url)!r}: {problem}")
    if "@" in path:  # redis://user:12/34@host: the password's / made "12" the port
        raise StoreError(f"invalid Redis URL {redact(url)!r}: an @ follows the host; {_ESCAPE_HINT}")
    number = path.removeprefix("/")
    if number and not re.fullmatch("[0-9]+", number):
        problem = f"the path after the host must be a database number such as /0, not {path!r}"
        raise StoreError(f"invalid Redis URL {redact(url)!r}: {problem}")
    if number and int(number) > _MAX_DATABASE:
        raise StoreError(
            f"invalid Redis URL {redact(url)!r}: there is no database {int(number)} ({_DATABASES})"
        )


def unparsed(exc: Exception, url: str) -> str:
    """Why redis-py could not parse ``url``, without the values it quotes: with an unescaped
    / ? or # in a password, it reads part of the password as the port and quotes it."""
    reason = re.sub(r" as '.*'$", "", str(exc))
    if redact(url) != url:  # a password was given
        reason += f"; {_ESCAPE_HINT}"
    return reason


def explain(exc: redis.RedisError, url: str, options: Mapping[str, Any]) -> str:
    """Redis's error, with what to change when the URL or the deployment is the cause."""
    if isinstance(exc, redis.AuthenticationError):
        return _auth_problem(exc, url, options)
    if isinstance(exc, _CLUSTER_ERRORS) or "not allowed in cluster mode" in str(exc):
        return f"{_CLUSTER} ({exc})"
    if isinstance(exc, redis.ResponseError) and str(exc) == "DB index is out of range":
        number = options.get("db", 0)
        return f"there is no database {number} on this server ({_DATABASES}); name another in the URL"
    return str(exc)


def _auth_problem(exc: redis.AuthenticationError, url: str, options: Mapping[str, Any]) -> str:
    """How to give the password Redis wants. Redis's own words ("HELLO must be called with
    the client already authenticated ...") do not say; they never hold the password."""
    if not options.get("password"):
        return f"the server wants a password and the URL gives none: put it in the URL, as in {_where(url)}"
    encode = _ENCODE_OPTION if _QUERY_PASSWORD.search(url) else _ENCODE
    refused, them = ("user name and password", "them") if options.get("username") else ("password", "it")
    return f"the server refused the {refused} in the URL ({exc}); check {them}, and {encode} {them}"


def _where(url: str) -> str:
    """``url`` (which has no password) with a ``<password>`` placeholder where one goes, the
    same for an ACL user, and how to write the password there."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "unix":  # the socket's path fills the URL: the password is an option
        example = f"{url}{'&' if '?' in url else '?'}password=<password>"
        return f"{example} (add &username=<user> for an ACL user; {_ENCODE_OPTION} it)"
    netloc, slash, path = rest.partition("/")
    user, _, hostport = netloc.rpartition("@")
    example = f"{scheme}://{user.partition(':')[0]}:<password>@{hostport}{slash}{path}"
    return f"{example} ({scheme}://<user>:<password>@... for an ACL user; {_ENCODE} it)"
