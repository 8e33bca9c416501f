"""Reading the question, distribution and battery files of the survey-style outputs.

Three layouts hold a list of records:

* ``.json``: a list of objects, or an object whose ``key`` member is that list (its other members
  are metadata, e.g. ``"description"``);
* ``.jsonl``: one object per line (blank lines and lines starting with ``#`` are skipped);
* ``.csv``: a header row, then one record per row; list-valued fields separate items with ``|``;
  lines starting with ``#`` before the header are the description.

Every error names the file, the line and the field of the bad entry.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

LIST_SEP = "|"


class RecordError(ValueError):
    """A malformed entry: the message names the file, line and field."""


def fail(source: str, line: int | None, field: str | None, message: str):
    where = source + (f", line {line}" if line is not None else "") + (f", field {field!r}" if field else "")
    raise RecordError(f"{where}: {message}")


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _json_items(text: str, key: str, source: str) -> tuple[list[tuple[int, object]], dict]:
    """[(line, item)] of the top-level list (or of member ``key``), and the other members."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        fail(source, e.lineno, None, f"invalid JSON ({e.msg}, column {e.colno})")
    dec, meta = json.JSONDecoder(), {}
    i = _skip_ws(text, 0)
    if text[i] == "{":
        i, start = _skip_ws(text, i + 1), None
        while text[i] != "}":
            name, i = dec.raw_decode(text, i)
            i = _skip_ws(text, _skip_ws(text, i) + 1)  # past ':'
            if name == key:
                start = i
            value, i = dec.raw_decode(text, i)
            if name != key:
                meta[name] = value
            i = _skip_ws(text, i)
            i = _skip_ws(text, i + 1) if text[i] == "," else i
        if start is None:
            fail(source, 1, key, f"the top-level object has no {key!r} list")
        i = start
    if text[i] != "[":
        fail(source, text.count("\n", 0, i) + 1, key, f"expected a list of records (or an object with a {key!r} list)")
    items = []
    i = _skip_ws(text, i + 1)
    while text[i] != "]":
        line = text.count("\n", 0, i) + 1
        value, i = dec.raw_decode(text, i)
        items.append((line, value))
        i = _skip_ws(text, i)
        i = _skip_ws(text, i + 1) if text[i] == "," else i
    return items, meta


def read_records(path: str | Path, key: str) -> tuple[list[tuple[int, dict]], dict, str]:
    """(records as [(line, dict)], metadata, source name) from a .json, .jsonl or .csv file.
    CSV values stay strings; the caller parses them."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    meta: dict = {}
    if suffix == ".json":
        items, meta = _json_items(text, key, source)
    elif suffix == ".jsonl":
        items = []
        for n, raw in enumerate(text.splitlines(), 1):
            if raw.strip() and not raw.lstrip().startswith("#"):
                try:
                    items.append((n, json.loads(raw)))
                except json.JSONDecodeError as e:
                    fail(source, n, None, f"invalid JSON ({e.msg}, column {e.colno})")
    elif suffix == ".csv":
        lines = text.splitlines(keepends=True)
        head = 0
        while head < len(lines) and (lines[head].lstrip().startswith("#") or not lines[head].strip()):
            head += 1
        description = " ".join(x.strip().lstrip("#").strip() for x in lines[:head] if x.strip())
        if description:
            meta["description"] = description
        reader = csv.reader(io.StringIO("".join(lines[head:])))
        header = next(reader, None)
        if not header:
            fail(source, head + 1, None, "no header row")
        header = [h.strip() for h in header]
        items = []
        for row in reader:
            line = head + reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                fail(source, line, None, f"{len(row)} values for the {len(header)} columns {header}")
            items.append((line, {h: c.strip() for h, c in zip(header, row) if c.strip() != ""}))
    else:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use .json, .jsonl or .csv")
    for line, item in items:
        if not isinstance(item, dict):
            fail(source, line, None, f"each record must be an object, got {type(item).__name__}")
    if not items:
        fail(source, None, None, "no records")
    return items, meta, source


def field_str(rec: dict, name: str, source: str, line: int, required: bool = True) -> str | None:
    value = rec.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            fail(source, line, name, "missing or empty")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        fail(source, line, name, f"expected text, got {type(value).__name__}")
    return str(value).strip()


def field_list(rec: dict, name: str, source: str, line: int, required: bool = True) -> list | None:
    """A list field: a JSON list, or a CSV/JSON string of items separated by ``|``."""
    value = rec.get(name)
    if value is None or value == "" or value == []:
        if required:
            fail(source, line, name, "missing or empty")
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(LIST_SEP)]
    if not isinstance(value, list):
        fail(source, line, name, f"expected a list (or items separated by {LIST_SEP!r}), got {type(value).__name__}")
    return value


def field_numbers(rec: dict, name: str, source: str, line: int, required: bool = True) -> list[float] | None:
    values = field_list(rec, name, source, line, required)
    if values is None:
        return None
    out = []
    for v in values:
        try:
            if isinstance(v, bool):
                raise ValueError
            out.append(float(v))
        except (TypeError, ValueError):
            fail(source, line, name, f"{v!r} is not a number")
    if any(x != x or x in (float("inf"), float("-inf")) for x in out):
        fail(source, line, name, "values must be finite numbers")
    return out


def field_number(rec: dict, name: str, source: str, line: int, default: float | None = None) -> float:
    value = rec.get(name)
    if value is None or value == "":
        if default is None:
            fail(source, line, name, "missing")
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        out = float(value)
    except (TypeError, ValueError):
        fail(source, line, name, f"{value!r} is not a number")
    if out != out or out in (float("inf"), float("-inf")):
        fail(source, line, name, "must be a finite number")
    return out


def statement_ids(items: list[tuple[int, dict]], source: str) -> tuple[list[str], list[str]]:
    """(ids, statements) of statement records: ``statement`` required, ``id`` optional (default: the
    record's 1-based number) and unique."""
    ids, statements = [], []
    for n, (line, rec) in enumerate(items):
        statements.append(field_str(rec, "statement", source, line))
        sid = field_str(rec, "id", source, line, required=False) or str(n + 1)
        if sid in ids:
            fail(source, line, "id", f"duplicate id {sid!r}")
        ids.append(sid)
    return ids, statements
