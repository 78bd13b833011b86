"""CSV and JSON Lines training data -> a ``BotDraft`` (``kefu.importers.write_bot`` writes it).

``check_csv_quotes`` is shared with ``kefu.evaluate``, which reads CSV test files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from kefu.checks import invisible_at
from kefu.errors import SpecError
from kefu.import_sources import LONG_NUMBER, read_text
from kefu.importers import BotDraft
from kefu.yamlsource import DuplicateKeyError, json_line, json_lines, lone_surrogate

__all__ = ["CSV_COLUMNS", "check_csv_quotes", "quote_hint", "read_csv", "read_jsonl"]


# How the csv module reads quotes: a quote opens a value only at the start of a
# field; up to the next single quote it holds anything (a doubled "" is one "), line breaks too.
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*("?)')  # group 1: the closing quote
_LINE_BREAK = re.compile(r"\r\n?|\n")


def _opening_quote(delimiter: str) -> re.Pattern[str]:
    """A quote at the start of a field: after a delimiter, a line break or nothing."""
    return re.compile(rf'(?<![^{re.escape(delimiter)}\r\n])"')


def _unclosed_quote_line(text: str, delimiter: str) -> int | None:
    """The line of a quote the CSV ``text`` leaves open at its end, else None.

    The csv module reads such a quote as the start of one value that runs to the end of the
    file, however many rows follow: they are lost without an error. A quoted value may hold
    line breaks, so only a quote still open at the end tells.
    """
    at, opening = 0, _opening_quote(delimiter)
    while quote := opening.search(text, at):  # outside quotes, every delimiter ends a field
        quoted = _QUOTED.match(text, quote.start())
        assert quoted is not None  # it starts at a quote
        if not quoted.group(1):
            return len(_LINE_BREAK.findall(text, 0, quote.start())) + 1
        at = quoted.end()
    return None


def check_csv_quotes(file: Path, text: str, delimiter: str = ",") -> None:
    """``SpecError`` at the line of a quote the CSV ``text`` leaves open at its end."""
    line = _unclosed_quote_line(text, delimiter)
    if line is not None:
        raise SpecError.single(
            file,
            line,
            'unclosed quote: the text from this " to the end of the file would be one value; '
            'close it (a " inside a quoted value is written "")',
        )


# Header names of each column, as spreadsheets of Chinese teams write them too.
CSV_COLUMNS = {
    "text": ("text", "问题", "例句"),
    "intent": ("intent", "意图"),
    "response": ("response", "回复", "答案"),
}
_CSV_NAMES = {alias: column for column, aliases in CSV_COLUMNS.items() for alias in aliases}
# Excel writes `;` where the comma is the decimal mark, and "Unicode Text" separates by tabs.
_DELIMITERS = (",", ";", "\t")


def _csv_header(file: Path, text: str) -> tuple[str, list[str]]:
    """The delimiter that splits the first line into the text and intent columns, and the header
    with those columns under their English names; ``SpecError`` when there is no such split."""
    first = _LINE_BREAK.split(text, maxsplit=1)[0]
    for delimiter in _DELIMITERS:
        names = _header_names(file, first, delimiter)
        header = [_CSV_NAMES.get(name.strip().lower(), name.strip()) for name in names]
        if {"text", "intent"} <= set(header):
            break
    else:
        got = ",".join(name.strip() for name in _header_names(file, first, ",")) or "nothing"
        raise SpecError.single(
            file, 1, f"CSV header needs columns text,intent[,response] or 问题,意图[,回复] (got {got})"
        )
    for column in CSV_COLUMNS:
        written = [name.strip() for name, meant in zip(names, header, strict=True) if meant == column]
        if len(written) > 1:
            raise SpecError.single(
                file, 1, f"CSV header has the column `{column}` twice ({', '.join(written)}): keep one"
            )
    return delimiter, header


def quote_hint(exc: csv.Error) -> str:
    """How to write what a strict CSV reader refused after a closing quote, or ""."""
    return ' (a " inside a quoted value is written "")' if "expected after" in str(exc) else ""


def _header_names(file: Path, first: str, delimiter: str) -> list[str]:
    """The names in the header line ``first``; ``SpecError`` at line 1 if CSV cannot read it
    (a name longer than the csv module's field limit, 131,072 characters)."""
    try:
        return next(csv.reader([first], delimiter=delimiter), [])
    except csv.Error as exc:
        raise SpecError.single(file, 1, f"invalid CSV: {exc}") from None


def read_csv(path: str | Path) -> BotDraft:
    """A CSV file with a ``text,intent[,response]`` header (column order free, Chinese names and
    `;` or tab delimiters too) as a draft; other columns are reported, not imported."""
    file = Path(path)
    text = read_text(file)
    delimiter, header = _csv_header(file, text)
    check_csv_quotes(file, text, delimiter)
    draft = BotDraft()
    if others := [name for name in header if name and name not in CSV_COLUMNS]:
        draft.warnings.append(
            f"{file}:1: column{'s' if len(others) > 1 else ''} {', '.join(others)} not imported: "
            "kefu reads text, intent and response"
        )
    # strict: text after a closing quote ("你"好") is an error; read leniently it became 你好".
    reader = csv.DictReader(
        io.StringIO(text, newline=""), fieldnames=header, delimiter=delimiter, strict=True
    )
    try:
        next(reader)  # the header row
        for row in reader:
            # DictReader keeps the fields past the header under None: a text with an unquoted comma
            # was read as text + intent, its real intent dropped. Empty ones (a trailing comma) lose nothing.
            if any(extra.strip() for extra in row.get(None) or ()):
                fields = len(header) + len(row[None])
                raise SpecError.single(
                    file,
                    reader.line_num,
                    f"row has {fields} fields, the header {len(header)}: "
                    f"put a text that contains a {_DELIMITER_NAMES[delimiter]} in double quotes",
                )
            # A line break in a quoted cell is the file's own line ending: CRLF from Windows (a
            # lone CR from old Macs), which a reply would send as written. YAML replies say \n.
            cells = {
                key: _LINE_BREAK.sub("\n", cell) if isinstance(cell, str) else cell
                for key, cell in row.items()
            }
            _add_record(draft, file, reader.line_num, cells)
    except csv.Error as exc:  # line_num counts the lines read before the bad one
        raise SpecError.single(file, reader.line_num + 1, f"invalid CSV: {exc}{quote_hint(exc)}") from None
    if not draft.intents:  # said here, not at the output folder, which is not to blame
        raise SpecError.single(file, 1, "nothing to import: no row under the header has a text and an intent")
    return draft


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def read_jsonl(path: str | Path) -> BotDraft:
    """A JSON Lines file of ``{"text", "intent"[, "response"]}`` objects as a draft; other fields
    (a labelling tool's ids, scores, entities) are reported, not imported."""
    file = Path(path)
    draft = BotDraft()
    ignored: dict[str, None] = {}  # field names in the order first seen
    first, lines = 0, 0  # the first line with an ignored field, and how many have one
    for number, line in enumerate(json_lines(read_text(file)), start=1):
        if not line.strip():
            continue
        try:
            record = json_line(line, frozenset(CSV_COLUMNS))
        except json.JSONDecodeError as exc:
            raise SpecError.single(file, number, f"invalid JSON: {exc.msg}") from None
        except DuplicateKeyError as exc:
            raise SpecError.single(file, number, f"invalid JSON: {exc}") from None
        except ValueError:  # the one other thing json.loads refuses
            raise SpecError.single(file, number, LONG_NUMBER) from None
        except RecursionError:
            raise SpecError.single(file, number, "invalid JSON: nested too deeply") from None
        if not isinstance(record, dict):
            raise SpecError.single(file, number, "each line must be a JSON object")
        others = [key for key in record if key not in CSV_COLUMNS]
        if others:
            ignored.update(dict.fromkeys(others))
            first, lines = first or number, lines + 1
        _add_record(draft, file, number, record, others)
    if ignored:
        names = ", ".join(ignored)
        plural = "s" if len(ignored) > 1 else ""
        draft.warnings.append(
            f"{file}:{first}: field{plural} {names} not imported ({lines} line{'s' if lines > 1 else ''}): "
            "kefu reads text, intent and response"
        )
    if not draft.intents:
        raise SpecError.single(file, 1, "nothing to import: no line has a text and an intent")
    return draft


def _add_record(
    draft: BotDraft, file: Path, line: int, record: dict[str, Any], others: list[str] | None = None
) -> None:
    """One labeled CSV row or JSON line (whose ``others`` fields are not read); a row whose
    fields are all empty is skipped."""
    fields = {key: _record_text(file, line, key, record.get(key)) for key in CSV_COLUMNS}
    blank = not any(value.strip() for value in fields.values())
    if blank and (not others or record.keys() & CSV_COLUMNS.keys()):  # an empty row, not another format
        return
    for key in ("text", "intent"):
        if not fields[key].strip():
            # A labelling tool's own names (label, sentence, data) are the likely reason.
            found = f" (it has {', '.join(others)})" if others else ""
            raise SpecError.single(file, line, f"row has no `{key}`{found}")
    name = fields["intent"].strip()
    if (odd := invisible_at(name)) is not None:  # found here, not as a problem of the written bot
        raise SpecError.single(
            file,
            line,
            f"intent name {name!r} holds an invisible character (U+{ord(name[odd]):04X}): write it without",
        )
    intent = draft.intent(name)
    intent.examples.append(fields["text"].strip())
    if fields["response"].strip():
        intent.responses.append(fields["response"].strip())


def _record_text(file: Path, line: int, key: str, value: object) -> str:
    """A field's text: empty when missing, a whole number as written (labels and texts like 12306)."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise SpecError.single(file, line, f"`{key}` must be text, not {type(value).__name__}")
    if problem := lone_surrogate(value):
        raise SpecError.single(file, line, f"`{key}`: {problem}")
    return value
