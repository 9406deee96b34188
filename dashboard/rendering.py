"""Turning Bitbucket content into HTML that cannot run anything: Markdown, source files and diffs.

Everything here returns `SafeString` only after the content went through an escaper (Pygments escapes every token)
or the nh3 sanitiser; templates never mark anything else safe.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nh3
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


def highlight_lines(text: str, *, path: str) -> list[SafeString]:
    """`text` highlighted for its file type, one escaped HTML string per line.

    Pygments' HTML formatter closes its spans at the end of each line, so the output splits cleanly on newlines.
    """
    if not text:
        return []
    html = highlight(text, lexer_for(path, text[:4096]), _formatter)
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
    annotations: list = field(default_factory=list)  # findings on the file's top (line 0) or on lines not shown
    # The viewer's review of this file on a pull request page: marked viewed (and unchanged since), or changed since
    # the source commit they last reviewed.
    viewed: bool = False
    changed_since_review: bool = False
    fingerprint: str = ""  # a digest of this file's change, which a "viewed" mark remembers ("" offers no mark)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def anchor(self) -> str:
        return file_anchor(self.path)


def file_anchor(path: str) -> str:
    """A DOM id for a file of a diff; the digest keeps two paths that differ only in punctuation apart."""
    return "file-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)[-60:] + "-" + hashlib.sha256(path.encode()).hexdigest()[:8]


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_GIT_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")


def _unquote_path(value: str) -> str | None:
    value = value.strip()
    if value == "/dev/null":
        return None
    if value.startswith(("a/", "b/")):
        value = value[2:]
    return value.split("\t", 1)[0]


def parse_diff(text: str, *, truncated: bool = False) -> tuple[list[DiffFile], bool]:
    """A raw git diff split per file, each hunk highlighted for its file type. Returns (files, truncated).

    `truncated`: `text` is only the beginning of the diff (the client stopped reading at its cap); the last, partial
    file is dropped either way."""
    if len(text) > MAX_DIFF_BYTES:
        text, truncated = text[:MAX_DIFF_BYTES], True
    if truncated:
        text = text[: text.rfind("\ndiff --git ") + 1] or text
    files: list[DiffFile] = []
    current: DiffFile | None = None
    hunk: list[tuple[str, str]] = []
    old_no = new_no = 0

    def flush_hunk() -> None:
        nonlocal old_no, new_no
        if current is None or not hunk:
            hunk.clear()
            return
        if len(current.lines) + len(hunk) > MAX_DIFF_FILE_LINES:
            current.too_large = True
            hunk.clear()
            return
        body = "\n".join(code for _, code in hunk) + "\n"
        highlighted = highlight_lines(body, path=current.path)
        for (prefix, _), html in zip(hunk, highlighted, strict=False):
            if prefix == "+":
                current.lines.append(DiffLine("add", None, new_no, html))
                new_no += 1
            elif prefix == "-":
                current.lines.append(DiffLine("del", old_no, None, html))
                old_no += 1
            else:
                current.lines.append(DiffLine("ctx", old_no, new_no, html))
                old_no += 1
                new_no += 1
        hunk.clear()

    for line in text.split("\n"):
        if header := _GIT_HEADER.match(line):
            flush_hunk()
            current = DiffFile(old_path=header.group(1), new_path=header.group(2))
            files.append(current)
            continue
        if current is None:
            continue
        if line.startswith("new file mode"):
            current.status, current.old_path = "added", None
        elif line.startswith("deleted file mode"):
            current.status, current.new_path = "removed", None
        elif line.startswith("rename from "):
            current.status = "renamed"
        elif line.startswith("Binary files "):
            current.binary = True
        elif line.startswith("--- ") and not hunk and not current.lines:
            current.old_path = _unquote_path(line[4:]) if current.status != "added" else None
        elif line.startswith("+++ ") and not hunk and not current.lines:
            current.new_path = _unquote_path(line[4:]) if current.status != "removed" else None
        elif match := _HUNK.match(line):
            flush_hunk()
            old_no, new_no = int(match.group(1)), int(match.group(2))
            if not current.too_large:
                current.lines.append(DiffLine("hunk", None, None, mark_safe(escape(line))))  # noqa: S308
        elif line.startswith(("+", "-", " ")):
            hunk.append((line[0], line[1:]))
            if line[0] == "+":
                current.added += 1
            elif line[0] == "-":
                current.removed += 1
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
    flush_hunk()
    return files, truncated
