"""Response templates: ``{slot}`` and ``{context.parameter}`` placeholders.

Templates are rendered with our own tiny parser rather than ``str.format`` so that a
template can never reach attributes or indexes of Python objects, and a missing value
renders as an empty string instead of raising. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["TemplateError", "placeholders", "render"]

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[^\W\d][\w]*(\.[^\W\d][\w]*)?$")


class TemplateError(ValueError):
    """A template is malformed (an unmatched brace or an invalid placeholder name)."""


def placeholders(template: str) -> list[str]:
    """The placeholder names in ``template``, in order; ``TemplateError`` if malformed."""
    names: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(f"unmatched {token!r} (write {token * 2} for a literal brace)")
        name = name.strip()
        if not _NAME.match(name):
            raise TemplateError(f"invalid placeholder {{{name}}}")
        names.append(name)
    return names


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``template`` from ``values``; unknown or missing names render as ''."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        return "" if name is None else str(values.get(name.strip(), ""))

    return _TOKEN.sub(substitute, template)
