"""Turning Bitbucket content into HTML that cannot run anything: Markdown, source files and diffs.

Everything here returns `SafeString` only after the content went through an escaper (Pygments escapes every token)
or the nh3 sanitiser; templates never mark anything else safe.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import zip_longest
from urllib.parse import urlsplit

import nh3
import unidiff
from django.conf import settings
from django.http.request import validate_host
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

# Files larger than this are not rendered (a browser tab with a 5 MB highlighted table is useless); a link to
# Bitbucket's raw view is offered instead.
MAX_FILE_BYTES = 512 * 1024
MAX_FILE_LINES = 20_000
# Diffs: beyond these a file's hunks are replaced by a message, and the whole diff is cut.
MAX_DIFF_FILE_LINES = 3_000
MAX_DIFF_BYTES = 4 * 1024 * 1024
# A page renders a diff's files in batches as they scroll into view: at most this many files, or this much raw diff,
# per request (whichever comes first; a batch always holds at least one file), so the cost of one request is bounded
# however many files the diff has.
DIFF_BATCH_FILES = 20
DIFF_BATCH_BYTES = 256 * 1024
# A file whose change is longer than this opens collapsed (its header says how long); so do generated files.
DIFF_COLLAPSE_LINES = 400
# Files people rarely review line by line: lock files, minified bundles, vendored code and source maps. They open
# collapsed. Patterns match the whole path (fnmatch; `*` crosses `/`) or, without a `/`, the file name.
GENERATED_FILES = (
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Pipfile.lock",
    "uv.lock", "pdm.lock", "Cargo.lock", "Gemfile.lock", "composer.lock", "go.sum", "mix.lock", "pubspec.lock",
    "packages.lock.json", "flake.lock", "*.lock", "*.min.js", "*.min.css", "*.map", "*.pb.go", "*_pb2.py",
    "*.generated.*", "vendor/*", "*/vendor/*", "node_modules/*", "*/node_modules/*", "third_party/*",
)  # fmt: skip

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def _site_hosts() -> list[str]:
    """The host names this site answers on, as far as its settings say (ALLOWED_HOSTS' '*' names none)."""
    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    for url in (settings.BBDASH_PUBLIC_URL, *settings.CSRF_TRUSTED_ORIGINS):
        if host := urlsplit(url).hostname:
            hosts.append(host)
    return hosts


def loads_from_this_site(src: str) -> bool:
    """Whether an image at `src` would make the viewer's browser request this site: a relative URL (`/acme/…/src/…`,
    `x.png`, `https:/x`) or one on a host of this site. Such a request carries the viewer's session, so a pull request
    description could make anyone who opens it load a page as themselves."""
    parts = urlsplit(src.strip())
    if not parts.netloc:
        return True
    host = parts.hostname
    return host is None or validate_host(host, _site_hosts())


def _render_image(renderer, tokens, idx, options, env) -> str:
    """An image from this site becomes a link to it (nothing loads until the viewer clicks); others render as is."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if not loads_from_this_site(src):
        return renderer.image(tokens, idx, options, env)
    text = renderer.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escape(src)}">{escape(text)}</a>'


_markdown.add_render_rule("image", _render_image)

# --- mentions -----------------------------------------------------------------------------------------------------
# Bitbucket writes a mention as `@{account_id}`; an Atlassian account id is `<digits>:<uuid>` or, for older accounts,
# 24 hex digits. Anything else between the braces is not a mention and stays text.
ACCOUNT_ID = re.compile(
    r"[0-9]{1,12}:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{24}"
)
_MENTION = re.compile(r"@\{(" + ACCOUNT_ID.pattern + r")\}")
UNKNOWN_PERSON = "unknown user"


def mentioned_account_ids(texts: Iterable[str]) -> set[str]:
    """The account ids `texts` mention (those in code too: looking up a name too many costs nothing)."""
    return {match.group(1) for text in texts if text and "@{" in text for match in _MENTION.finditer(text)}


def _mention_rule(state, silent: bool) -> bool:
    """`@{account_id}` outside code becomes a `mention` token; code spans and blocks never reach inline rules."""
    if not state.src.startswith("@{", state.pos):
        return False
    match = _MENTION.match(state.src, state.pos)
    if match is None or match.end() > state.posMax:
        return False
    if not silent:
        token = state.push("mention", "", 0)
        token.meta = {"account_id": match.group(1), "in_link": state.linkLevel > 0}
    state.pos = match.end()
    return True


def _render_mention(renderer, tokens, idx, options, env) -> str:
    """A link to the person's page with the name the mirror knows; `@unknown user` for an id it does not know; the
    text as written when the page named no people (`env["mentions"]` is None)."""
    meta = tokens[idx].meta
    names: Mapping[str, str] | None = env.get("mentions")
    if names is None:
        return escape(f"@{{{meta['account_id']}}}")
    name = names.get(meta["account_id"])
    if not name:
        return escape(f"@{UNKNOWN_PERSON}")
    if meta["in_link"]:
        return escape(f"@{name}")
    href = reverse("person_detail", args=[meta["account_id"]])
    return f'<a class="mention" href="{escape(href)}">{escape(f"@{name}")}</a>'


_markdown.inline.ruler.after("text", "mention", _mention_rule)
_markdown.add_render_rule("mention", _render_mention)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},  # class: only "mention" (the filter below)
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "code": {"class"},
}
# No javascript:, data: or vbscript: links: a link or image with another scheme loses its URL.
URL_SCHEMES = {"http", "https", "mailto"}


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    # The Markdown renderer already turned such images into links; this holds for any other HTML that gets here.
    if element == "img" and attribute == "src" and loads_from_this_site(value):
        return None
    if attribute == "class" and element == "a" and value != "mention":
        return None
    return value


def sanitise(html: str) -> SafeString:
    """Keep only harmless markup; links get rel="noopener noreferrer nofollow"; images only from other sites."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=_filter_attribute,
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 with an allow-list just above


def markdown(text: str, mentions: Mapping[str, str] | None = None) -> SafeString:
    """Bitbucket Markdown (CommonMark, raw HTML disabled) to sanitised HTML.

    `mentions`: display names by account id (`selectors.mentions.mention_names`) for the `@{account_id}` mentions of
    the page, which become links to the person's page; None leaves mentions as written."""
    if not text:
        return mark_safe("")
    return sanitise(_markdown.render(text, {"mentions": mentions}))


# --- source files -------------------------------------------------------------------------------------------------


def lexer_for(path: str, sample: str = "") -> Lexer:
    try:
        return get_lexer_for_filename(path.rsplit("/", 1)[-1] or path, sample, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


_formatter = HtmlFormatter(nowrap=True)


def highlight_lines(text: str, *, path: str, lexer: Lexer | None = None) -> list[SafeString]:
    """`text` highlighted for its file type (`lexer`: the one `lexer_for(path)` chose already), one escaped HTML
    string per line.

    Pygments' HTML formatter closes its spans at the end of each line, so the output splits cleanly on newlines.
    """
    if not text:
        return []
    html = highlight(text, lexer or lexer_for(path, text[:4096]), _formatter)
    lines = html.split("\n")
    expected = text.count("\n") + (0 if text.endswith("\n") else 1)
    lines = lines[:expected]
    return [mark_safe(line) for line in lines]  # noqa: S308 - Pygments escapes every token it emits


@dataclass
class FileView:
    kind: str  # "text", "binary", "too_large", "empty"
    lines: list[SafeString] = field(default_factory=list)
    size: int = 0
    message: str = ""


def looks_binary(content: bytes) -> bool:
    return b"\x00" in content[:8192]


def file_view(content: bytes, *, path: str, size: int | None = None) -> FileView:
    size = len(content) if size is None else size
    if size > MAX_FILE_BYTES:
        return FileView(kind="too_large", size=size, message=f"This file is too large to show here ({size:,} bytes).")
    if looks_binary(content):
        return FileView(kind="binary", size=size, message=f"This is a binary file ({size:,} bytes).")
    if not content:
        return FileView(kind="empty", size=0, message="This file is empty.")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    if text.count("\n") > MAX_FILE_LINES:
        return FileView(kind="too_large", size=size, message=f"This file has more than {MAX_FILE_LINES:,} lines.")
    return FileView(kind="text", lines=highlight_lines(text, path=path), size=size)


# --- diffs --------------------------------------------------------------------------------------------------------


@dataclass
class DiffLine:
    kind: str  # "add", "del", "ctx", "hunk", "note"
    old: int | None
    new: int | None
    html: SafeString
    annotations: list = field(default_factory=list)  # Code Insights findings on this new-side line
    threads: list = field(default_factory=list)  # review threads anchored to this line (pull request pages)

    @property
    def side(self) -> str:
        """The side a comment on this line anchors to: `old` for a removed line, `new` for the others."""
        return "old" if self.kind == "del" else "new"

    @property
    def number(self) -> int | None:
        return self.old if self.kind == "del" else self.new


@dataclass
class DiffFile:
    old_path: str | None
    new_path: str | None
    status: str = "modified"
    lines: list[DiffLine] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    binary: bool = False
    too_large: bool = False
    unreadable: bool = False  # its section of the diff is not a well-formed one (nothing of it is shown)
    similarity: int | None = None  # renamed or copied: how much of the file stayed the same (git's percentage)
    old_mode: str = ""  # a changed mode (e.g. 100644 then 100755): both; "" otherwise
    new_mode: str = ""
    annotations: list = field(default_factory=list)  # findings on the file's top (line 0) or on lines not shown
    # The viewer's review of this file on a pull request page: marked viewed (and unchanged since), or changed since
    # the source commit they last reviewed.
    viewed: bool = False
    changed_since_review: bool = False
    fingerprint: str = ""  # a digest of this file's change, which a "viewed" mark remembers ("" offers no mark)
    # Review threads on the file but not under a shown line (file comments, outdated ones, lines not in the diff):
    # `PlacedThread`s, shown at the file's top.
    threads: list = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def generated(self) -> bool:
        return is_generated(self.path)

    @property
    def changed_lines(self) -> int:
        return self.added + self.removed

    @property
    def collapsed(self) -> bool:
        """Whether the file opens collapsed: generated, or too long a change to read in passing."""
        return self.generated or self.too_large or self.changed_lines > DIFF_COLLAPSE_LINES

    @property
    def split_rows(self) -> list[SplitRow]:
        return split_rows(self.lines)

    @property
    def anchor(self) -> str:
        return file_anchor(self.path)


def file_anchor(path: str) -> str:
    """A DOM id for a file of a diff; the digest keeps two paths that differ only in punctuation apart."""
    return "file-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)[-60:] + "-" + hashlib.sha256(path.encode()).hexdigest()[:8]


# --- git's names in a diff ----------------------------------------------------------------------------------------
# git writes a name that holds a control character, a `"`, a `\` or a non-ASCII byte (core.quotePath, the default)
# between double quotes with C escapes, its bytes above 0x7f as octal: `"a/caf\303\251.txt"`.
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
_OCTAL = frozenset("01234567")


def read_git_quoted(text: str) -> tuple[str, str] | None:
    """The C-style quoted name at the start of `text` (as git's `quote_c_style` writes it), decoded as UTF-8 (a byte
    that is not becomes U+FFFD), and the rest of `text` after its closing quote; None when `text` does not start with
    a well-formed quoted name."""
    if not text.startswith('"'):
        return None
    raw = bytearray()
    i, size = 1, len(text)
    while i < size:
        char = text[i]
        if char == '"':
            return raw.decode("utf-8", errors="replace"), text[i + 1 :]
        if char != "\\":
            raw += char.encode("utf-8", errors="surrogateescape")
            i += 1
            continue
        escaped = text[i + 1 : i + 2]
        if escaped in _C_ESCAPES:
            raw.append(_C_ESCAPES[escaped])
            i += 2
        elif len(digits := text[i + 1 : i + 4]) == 3 and set(digits) <= _OCTAL and digits[0] in "0123":
            raw.append(int(digits, 8))
            i += 4
        else:
            return None
    return None


def git_name(text: str) -> str | None:
    """A file name as git writes it after `rename from `, `--- ` or `+++ `: quoted or not; an unquoted one ends at a
    tab (git adds one after a name with a space), `/dev/null` is no file (None)."""
    quoted = read_git_quoted(text)
    name = quoted[0] if quoted is not None else text.split("\t", 1)[0]
    return None if name == "/dev/null" else name


def _unprefixed(name: str | None, prefix: str) -> str | None:
    return name[len(prefix) :] if name is not None and name.startswith(prefix) else name


def git_header_names(line: str) -> tuple[str, str] | None:
    """The old and new names of a `diff --git a/<old> b/<new>` line, without their `a/` and `b/`; None when they
    cannot be told apart: both unquoted and different, so a space before `b/` may be in either (a rename, whose
    `rename from`/`rename to` lines name it exactly)."""
    rest = line.removeprefix("diff --git ")
    if (first := read_git_quoted(rest)) is not None:
        old, after = first
        if not after.startswith(" "):
            return None
        second = read_git_quoted(after[1:])
        new = second[0] if second is not None and not second[1] else after[1:]
    elif rest.endswith('"') and (cut := rest.find(' "')) > 0:
        # `a/plain "b/quoted"`: the first ` "` that starts a quoted name running to the line's end
        while cut > 0:
            second = read_git_quoted(rest[cut + 1 :])
            if second is not None and not second[1]:
                old, new = rest[:cut], second[0]
                break
            cut = rest.find(' "', cut + 1)
        else:
            return None
    else:
        # Unquoted, the same name on both sides (all but renames and copies): `a/N b/N`, whatever N holds.
        half = (len(rest) - 5) // 2
        if len(rest) % 2 == 0 or rest[: half + 2] != "a/" + rest[half + 5 :] or rest[half + 2 : half + 5] != " b/":
            return None
        return rest[2 : half + 2], rest[2 : half + 2]
    old_name, new_name = _unprefixed(old, "a/"), _unprefixed(new, "b/")
    return (old_name, new_name) if old_name and new_name else None


@dataclass
class _Header:
    """What the lines of a file's section of a git diff before its first hunk say: its names, its status."""

    old_path: str | None = None
    new_path: str | None = None
    status: str = "modified"
    similarity: int | None = None
    end: int = 0  # where the header ends in the chunk: its first hunk, its binary patch, or the chunk's end
    lines: list[str] = field(default_factory=list)  # the header's lines but its names' (`---`/`+++`)


def _read_header(chunk: str) -> _Header:
    """The names and status of a file from its chunk of a diff (`diff_file_chunks`): the `diff --git` line, then
    `rename from`/`rename to` (or `copy`), then `---`/`+++`, each more exact than the one before; `new file` and
    `deleted file` make it added or removed."""
    end = chunk.find("\n@@ ")
    if end < 0:
        end = chunk.find("\nGIT binary patch")
    end = len(chunk) if end < 0 else end + 1
    header = _Header(end=end)
    first, *lines = chunk[:end].split("\n")
    header.old_path, header.new_path = git_header_names(first) or (None, None)
    unsplit = first.removeprefix("diff --git ")
    old_label = new_label = ""
    for line in lines:
        if line.startswith("--- "):
            old_label = line[4:]
            continue
        if line.startswith("+++ "):
            new_label = line[4:]
            continue
        header.lines.append(line)
        if line.startswith(("rename from ", "copy from ")):
            header.old_path = git_name(line.split(" ", 2)[2])
            header.status = "renamed" if line[0] == "r" else "copied"
        elif line.startswith(("rename to ", "copy to ")):
            header.new_path = git_name(line.split(" ", 2)[2])
        elif line.startswith("similarity index ") and line.endswith("%"):
            header.similarity = int(line[17:-1]) if line[17:-1].isdigit() else None
        elif line.startswith("new file mode "):
            header.status = "added"
        elif line.startswith("deleted file mode "):
            header.status = "removed"
    if old_label:
        header.old_path = _unprefixed(git_name(old_label), "a/") or header.old_path
    if new_label:
        header.new_path = _unprefixed(git_name(new_label), "b/") or header.new_path
    if header.old_path is None and header.new_path is None:
        # Both unquoted, different and nothing else names them: the first ` b/` parts them (git does the same).
        old, _, new = unsplit.partition(" b/")
        header.old_path, header.new_path = _unprefixed(old, "a/"), new
    if header.status == "added":
        header.old_path = None
    elif header.status == "removed":
        header.new_path = None
    return header


def chunk_path(chunk: str) -> str:
    """The path of the file a chunk of a diff (`diff_file_chunks`) is about: its new name, or its old one when it was
    removed (as `DiffFile.path`)."""
    first = chunk.partition("\n")[0]
    if '"' not in first and (names := git_header_names(first)) is not None:
        # The same unquoted name on both sides, and no `rename to`/`copy to` line says otherwise: the common case,
        # read without splitting the header (a pull request page reads the path of every file of its diff).
        end = chunk.find("\n@@ ")
        end = len(chunk) if end < 0 else end
        if chunk.find("\nrename to ", 0, end) < 0 and chunk.find("\ncopy to ", 0, end) < 0:
            return names[1]
    header = _read_header(chunk)
    return header.new_path or header.old_path or ""


# The diff unidiff reads for a file: its header's lines without the names (read above, which unidiff cannot: it keeps
# them quoted and parts `a/x b/y b/x b/y` at the wrong ` b/`), under a header line it does read.
_NAMELESS_HEADER = "diff --git a/- b/-"
_SHOWN = frozenset("+- ")  # added, removed and context lines (not `\ No newline at end of file`)


def _hunk_header(hunk: unidiff.Hunk) -> str:
    """A hunk's `@@` line as git writes it (a range of one line without its length)."""

    def span(start: int, length: int) -> str:
        return str(start) if length == 1 else f"{start},{length}"

    tail = f" {hunk.section_header}" if hunk.section_header else ""
    return f"@@ -{span(hunk.source_start, hunk.source_length)} +{span(hunk.target_start, hunk.target_length)} @@{tail}"


def _parse_file(chunk: str) -> DiffFile:
    """One file of a diff (a chunk of `diff_file_chunks`), its hunks highlighted for its file type, hunk by hunk."""
    header = _read_header(chunk)
    file = DiffFile(
        old_path=header.old_path, new_path=header.new_path, status=header.status, similarity=header.similarity
    )
    try:
        (patched,) = unidiff.PatchSet("\n".join([_NAMELESS_HEADER, *header.lines]) + chunk[header.end :])
    except (unidiff.UnidiffParseError, ValueError):
        file.unreadable = True
        return file
    file.binary = patched.is_binary_file
    old_mode, new_mode = patched.source_mode, patched.target_mode
    if header.status not in ("added", "removed") and old_mode and new_mode and old_mode != new_mode:
        file.old_mode, file.new_mode = old_mode, new_mode
    lexer: Lexer | None = None
    for hunk in patched:
        rows = [line for line in hunk if line.line_type in _SHOWN]
        for line in rows:
            if line.line_type == "+":
                file.added += 1
            elif line.line_type == "-":
                file.removed += 1
        if file.too_large or len(file.lines) + len(rows) > MAX_DIFF_FILE_LINES:
            file.too_large = True  # the lines already made stay; the page shows none of them
            continue
        body = "".join(line.value if line.value.endswith("\n") else line.value + "\n" for line in rows)
        if lexer is None:
            lexer = lexer_for(file.path, body[:4096])
        file.lines.append(DiffLine("hunk", None, None, mark_safe(escape(_hunk_header(hunk)))))  # noqa: S308
        for line, html in zip(rows, highlight_lines(body, path=file.path, lexer=lexer), strict=False):
            if line.line_type == "+":
                file.lines.append(DiffLine("add", None, line.target_line_no, html))
            elif line.line_type == "-":
                file.lines.append(DiffLine("del", line.source_line_no, None, html))
            else:
                file.lines.append(DiffLine("ctx", line.source_line_no, line.target_line_no, html))
    return file


def parse_diff(text: str, *, truncated: bool = False) -> tuple[list[DiffFile], bool]:
    """A raw git diff split per file (names decoded, renames, binaries and mode changes told), each hunk highlighted
    for its file type. Returns (files, truncated).

    `truncated`: `text` is only the beginning of the diff (the client stopped reading at its cap); the last, partial
    file is dropped either way."""
    chunks, truncated = diff_file_chunks(text, truncated=truncated)
    return [_parse_file(chunk) for chunk in chunks], truncated


def is_generated(path: str) -> bool:
    """Whether `path` is a lock file, a minified bundle, a source map or vendored code (`GENERATED_FILES`)."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path if "/" in p else name, p) for p in GENERATED_FILES)


@dataclass
class SplitRow:
    """One row of a side-by-side diff: the old side's line on the left, the new side's on the right. A context line
    is the same `DiffLine` on both sides; a hunk header spans the row (`left` is `right`)."""

    left: DiffLine | None
    right: DiffLine | None

    @property
    def kind(self) -> str:
        return "hunk" if self.left is not None and self.left.kind == "hunk" else "line"

    @property
    def primary(self) -> DiffLine:
        """The line the row's id names: the new side's when it has one."""
        line = self.right or self.left
        assert line is not None
        return line

    @property
    def paired(self) -> bool:
        """A removed line beside the added line that replaced it: the left cell carries the old side's id."""
        return self.left is not None and self.right is not None and self.left is not self.right

    @property
    def threads(self) -> list:
        if self.left is None or self.right is None or self.left is self.right:
            return self.primary.threads
        return [*self.left.threads, *self.right.threads]


def split_rows(lines: list[DiffLine]) -> list[SplitRow]:
    """Lines of a unified diff paired for a side-by-side view: each run of removed lines beside the run of added lines
    that follows it, line by line (the longer run's rest against blanks)."""
    rows: list[SplitRow] = []
    dels: list[DiffLine] = []
    adds: list[DiffLine] = []

    def flush() -> None:
        rows.extend(SplitRow(left, right) for left, right in zip_longest(dels, adds))
        dels.clear()
        adds.clear()

    for line in lines:
        if line.kind == "del":
            if adds:  # a removal after additions starts a new change
                flush()
            dels.append(line)
        elif line.kind == "add":
            adds.append(line)
        else:
            flush()
            if line.kind in ("ctx", "hunk"):
                rows.append(SplitRow(line, line))
    flush()
    return rows


def diff_file_chunks(text: str, *, truncated: bool = False) -> tuple[list[str], bool]:
    """A raw git diff cut at its `diff --git` headers, one chunk per file, without parsing or highlighting anything:
    the cheap step that lets a page render only the files it shows. The same byte cap and cut-off rules as
    `parse_diff`; returns (chunks, truncated)."""
    if len(text) > MAX_DIFF_BYTES:
        text, truncated = text[:MAX_DIFF_BYTES], True
    if truncated:
        text = text[: text.rfind("\ndiff --git ") + 1] or text
    starts = [0] if text.startswith("diff --git ") else []
    starts += [m.start() + 1 for m in re.finditer(r"\ndiff --git ", text)]
    ends = [*starts[1:], len(text)] if starts else []
    return [text[a:b] for a, b in zip(starts, ends, strict=True)], truncated


def diff_batch_end(chunks: list[str], start: int) -> int:
    """The end (exclusive) of the batch of files that begins at `start`: `DIFF_BATCH_FILES` files or
    `DIFF_BATCH_BYTES` of diff, whichever comes first, and at least one file."""
    end, size = start, 0
    while end < len(chunks) and end - start < DIFF_BATCH_FILES:
        size += len(chunks[end])
        if size > DIFF_BATCH_BYTES and end > start:
            break
        end += 1
    return end
