"""Collections the Bitbucket way: `pagelen`/`page` and opaque cursors, `fields=`, BBQL `q=` and `sort=`.

BBQL subset (what clients send): comparisons `= != ~ !~ > >= < <=`, `IN (...)`, `NOT IN (...)`, `AND`, `OR`,
`NOT`-less parentheses, string/number/null/true/false literals and unquoted ISO-8601 datetimes, dotted field paths.
`q` and `sort` apply to the JSON representation of each item; an unknown field answers 400.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ..world.objects import WorldError

_MISSING = object()


# ---- BBQL ------------------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?)(?![\w.:-])
      | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
      | (?P<op>!=|>=|<=|!~|=|~|>|<)
      | (?P<paren>[(),])
      | (?P<word>[A-Za-z_][\w.\-]*)
    )""",
    re.VERBOSE,
)


@dataclass
class Cmp:
    path: str
    op: str
    value: Any


@dataclass
class BoolOp:
    op: str  # AND | OR
    items: list


def _bad_query(message: str) -> WorldError:
    return WorldError(400, f"Invalid query: {message}", fields={"q": [message]})


def tokenize(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _bad_query(f"unexpected input at position {pos}: {text[pos : pos + 12]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise _bad_query("unexpected end of query")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == word:
            self.i += 1
            return True
        return False

    def parse(self):
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise _bad_query(f"unexpected {tok[1]!r}")
        return node

    def parse_or(self):
        items = [self.parse_and()]
        while self.keyword("OR"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("OR", items)

    def parse_and(self):
        items = [self.parse_primary()]
        while self.keyword("AND"):
            items.append(self.parse_primary())
        return items[0] if len(items) == 1 else BoolOp("AND", items)

    def parse_primary(self):
        tok = self.peek()
        if tok == ("paren", "("):
            self.take()
            node = self.parse_or()
            if self.take() != ("paren", ")"):
                raise _bad_query("missing ')'")
            return node
        kind, path = self.take()
        if kind != "word":
            raise _bad_query(f"expected a field name, got {path!r}")
        if self.keyword("NOT"):
            if not self.keyword("IN"):
                raise _bad_query("expected IN after NOT")
            return Cmp(path, "NOT IN", self.parse_list())
        if self.keyword("IN"):
            return Cmp(path, "IN", self.parse_list())
        kind, op = self.take()
        if kind != "op":
            raise _bad_query(f"expected an operator after {path!r}")
        return Cmp(path, op, self.parse_value())

    def parse_list(self) -> list:
        if self.take() != ("paren", "("):
            raise _bad_query("expected '('")
        values = [self.parse_value()]
        while self.peek() == ("paren", ","):
            self.take()
            values.append(self.parse_value())
        if self.take() != ("paren", ")"):
            raise _bad_query("expected ')'")
        return values

    def parse_value(self):
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "datetime":
            return _parse_dt(text)
        if kind == "word":
            low = text.lower()
            if low in ("null", "none"):
                return None
            if low in ("true", "false"):
                return low == "true"
        raise _bad_query(f"unexpected value {text!r}")


def _parse_dt(text: str) -> datetime:
    if len(text) == 10:
        text += "T00:00:00"
    text = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_query(text: str):
    return _Parser(tokenize(text)).parse()


def get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part, _MISSING)
            if obj is _MISSING:
                return _MISSING
        elif obj is None:
            return None
        else:
            return _MISSING
    return obj


def _known(sample: dict, path: str) -> bool:
    obj: Any = sample
    for part in path.split("."):
        if isinstance(obj, dict):
            if part not in obj:
                return False
            obj = obj[part]
        else:
            return True  # below a null or scalar: cannot tell, accept
    return True


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str) and _CANONICAL_TIME.fullmatch(actual):
        # A quoted datetime against a timestamp field compares as a datetime (clients quote them too).
        with contextlib.suppress(ValueError):
            expected = _parse_dt(expected)
    if isinstance(expected, datetime) and isinstance(actual, str):
        if _CANONICAL_TIME.fullmatch(actual):
            # Our own timestamps share one format and zone: compare as text, no parsing per item.
            expected = expected.astimezone(UTC).isoformat(timespec="microseconds")
        else:
            try:
                actual = _parse_dt(actual)
            except ValueError:
                return False
    if op == "IN":
        return any(_compare(actual, "=", e) for e in expected)
    if op == "NOT IN":
        return not any(_compare(actual, "=", e) for e in expected)
    if op == "=":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op in ("~", "!~"):
        found = actual is not None and str(expected).lower() in str(actual).lower()
        return found if op == "~" else not found
    if actual is None or expected is None:
        return False
    try:
        return {">": actual > expected, ">=": actual >= expected, "<": actual < expected, "<=": actual <= expected}[op]
    except TypeError:
        return False


def _fields_of(node) -> list[str]:
    if isinstance(node, Cmp):
        return [node.path]
    return [p for item in node.items for p in _fields_of(item)]


def evaluate(node, item: dict) -> bool:
    if isinstance(node, BoolOp):
        results = (evaluate(i, item) for i in node.items)
        return all(results) if node.op == "AND" else any(results)
    value = get_path(item, node.path)
    if value is _MISSING:
        value = None
    return _compare(value, node.op, node.value)


def check_fields(paths: Sequence[str], sample: dict | None, param: str) -> None:
    if sample is None:
        return
    for path in paths:
        if not _known(sample, path):
            raise WorldError(
                400, f"Invalid field name: '{path}' is not a valid field for {param}", fields={param: [path]}
            )


def filter_and_sort(items: list[dict], q: str | None, sort: str | None, sample: dict | None = None) -> list[dict]:
    """Apply `q` then `sort` to JSON items; `sample` (a full item) tells which field names exist."""
    sample = sample if sample is not None else (items[0] if items else None)
    if q:
        node = parse_query(q)
        check_fields(_fields_of(node), sample, "q")
        items = [i for i in items if evaluate(node, i)]
    if sort:
        key = sort.strip()
        reverse = key.startswith("-")
        key = key.lstrip("-+")
        check_fields([key], sample, "sort")
        keyed = [(_sort_key(get_path(item, key)), item) for item in items]
        present = [(k, i) for k, i in keyed if k is not None]
        present.sort(key=lambda pair: pair[0], reverse=reverse)
        items = [i for _, i in present] + [i for k, i in keyed if k is None]
    return items


_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def _sort_key(value: Any):
    """A comparable key; None for missing values (sorted last whatever the direction, as Bitbucket does)."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, str):
        if _CANONICAL_TIME.fullmatch(value):
            return (0, value)  # our own timestamps: one format, one zone, so text order is time order
        if re.match(r"\d{4}-\d{2}-\d{2}T", value):
            return (0, _parse_dt(value).astimezone(UTC).isoformat(timespec="microseconds"))
        return (1, _natural(value))
    if isinstance(value, bool | int | float):
        return (2, value)
    return (3, str(value))


def _natural(text: str):
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", text) if p)


# ---- fields= ---------------------------------------------------------------------------------------------------
def _trie(paths: list[str]) -> dict:
    root: dict = {}
    for path in paths:
        node = root
        for part in path.split("."):
            node = node.setdefault(part, {})
        node["\0"] = True
    return root


def _select(obj: Any, node: dict) -> Any:
    if "\0" in node:
        return obj
    if isinstance(obj, list):
        return [_select(x, node) for x in obj]
    if not isinstance(obj, dict):
        return obj
    if "*" not in node:
        return {key: _select(obj[key], child) for key, child in node.items() if key in obj}
    wildcard = node["*"]
    return {key: _select(value, node.get(key) or wildcard) for key, value in obj.items()}


def _remove(obj: Any, parts: list[str]) -> Any:
    if isinstance(obj, list):
        return [_remove(x, parts) for x in obj]
    if not isinstance(obj, dict) or not parts:
        return obj
    head, rest = parts[0], parts[1:]
    out = {}
    for key, value in obj.items():
        if head in (key, "*"):
            if rest:
                out[key] = _remove(value, rest)
        else:
            out[key] = value
    return out


def _graft(target: Any, source: Any, parts: list[str]) -> Any:
    """Copy `parts` (a dotted path, through lists) from `source` into `target`."""
    if not parts:
        return source
    if isinstance(source, list) and isinstance(target, list) and len(source) == len(target):
        return [_graft(t, s, parts) for t, s in zip(target, source, strict=True)]
    if not isinstance(source, dict) or not isinstance(target, dict):
        return target
    head, rest = parts[0], parts[1:]
    out = dict(target)
    for key in source if head == "*" else [head]:
        if key in source:
            out[key] = _graft(target.get(key, {} if rest else None), source[key], rest)
    return out


def apply_fields(obj: dict, spec: str | None, hidden: Sequence[str] = ()) -> dict:
    """`fields=`: bare paths select, `-path` removes, `+path` adds back (also fields hidden by default)."""
    tokens = [t.strip() for t in (spec or "").split(",") if t.strip()]
    plus = [t[1:] for t in tokens if t.startswith("+")]
    minus = [t[1:] for t in tokens if t.startswith("-")]
    bare = [t for t in tokens if t[0] not in "+-"]
    full = obj
    for h in hidden:
        wanted = any(p in ("*", h) or p.startswith(h + ".") for p in plus + bare)
        if not wanted:
            obj = _remove(obj, h.split("."))
    if bare:
        obj = _select(obj, _trie(bare + plus))
    for m in minus:
        obj = _remove(obj, m.split("."))
    for p in plus:
        obj = _graft(obj, full, p.split("."))
    return obj


def split_fields(spec: str | None) -> tuple[str, str]:
    """Split a page's `fields=` into the envelope's part and each item's part (paths under `values.`).

    `apply_fields(page, spec)` equals applying the item part to every item and the envelope part to the page, which
    lets a list cache each item's selection.
    """
    envelope: list[str] = []
    item: list[str] = []
    for token in (t.strip() for t in (spec or "").split(",") if t.strip()):
        sign, path = (token[0], token[1:]) if token[0] in "+-" else ("", token)
        if path.startswith("values."):
            item.append(sign + path.removeprefix("values."))
            if sign == "" and "values" not in envelope:
                envelope.append("values")
        else:
            envelope.append(token)
    return ",".join(envelope), ",".join(item)


# ---- pagination ------------------------------------------------------------------------------------------------
def pagelen_of(args, default: int = 10, maximum: int = 100) -> int:
    raw = args.get("pagelen")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise WorldError(400, "Invalid pagelen") from None
    if value < 1 or value > maximum:
        raise WorldError(400, "Invalid pagelen")
    return value


def _url(base: str, args, overrides: dict) -> str:
    pairs = [(k, v) for k, v in args.items(multi=True) if k not in overrides]
    pairs += [(k, str(v)) for k, v in overrides.items()]
    return f"{base}?{urlencode(pairs)}"


def page(
    items: list,
    args,
    url: str,
    render: Callable[[Any], Any] = lambda x: x,  # a JSON object, or one already `Encoded`
    default: int = 10,
    maximum: int = 100,
    with_size: bool = True,
) -> dict:
    """A list-style page: `page`, `pagelen`, `size`, `values`, `next`/`previous` that repeat the query."""
    pagelen = pagelen_of(args, default, maximum)
    try:
        number = int(args.get("page", "1") or "1")
    except ValueError:
        raise WorldError(400, "Invalid page") from None
    if number < 1:
        raise WorldError(400, "Invalid page")
    start = (number - 1) * pagelen
    chunk = items[start : start + pagelen]
    body: dict = {"pagelen": pagelen}
    if with_size:
        body["size"] = len(items)
    body["values"] = [render(x) for x in chunk]
    body["page"] = number
    if start + pagelen < len(items):
        body["next"] = _url(url, args, {"page": number + 1})
    if number > 1:
        body["previous"] = _url(url, args, {"page": number - 1})
    return body


_CURSOR_SALT = "bb1"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_SALT}:{offset}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        salt, offset = raw.split(":")
        if salt != _CURSOR_SALT:
            raise ValueError
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise WorldError(400, "Invalid cursor") from None


def cursor_page(
    items: list,
    args,
    url: str,
    render: Callable[[Any], dict] = lambda x: x,
    cursor_param: str = "page",
    default: int = 10,
    maximum: int = 100,
) -> dict:
    """An iterator-style page: only `values`, `pagelen` and an opaque `next`."""
    pagelen = pagelen_of(args, default, maximum)
    raw = args.get(cursor_param)
    start = decode_cursor(raw) if raw else 0
    chunk = items[start : start + pagelen]
    body: dict = {"values": [render(x) for x in chunk], "pagelen": pagelen}
    if start + pagelen < len(items):
        body["next"] = _url(url, args, {cursor_param: encode_cursor(start + pagelen)})
    return body
