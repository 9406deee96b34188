"""Which repository paths, refs and identifiers may go into a request URL: the one check the views, the forms and the
client share.

A URL's dot segments are collapsed on the way out (requests and urllib3 do it, and servers decode ``%2F`` and
``%2E`` before routing), so ``src/main/../../../../other-ws/repo/src/main/secret`` would read another workspace's
file with the caller's credential. Anything that is, or spells, an empty, ``.`` or ``..`` segment is refused before
a URL is built; the client also checks the final URL with ``stays_under``.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote, urlsplit

import requests

# Percent-escapes of '.', '/', '\' and '%' itself: a server that decodes once (or twice) would see a dot segment or a
# separator that was never there. No real file or branch needs them.
_ENCODED = re.compile(r"%(?:2e|2f|5c|25)", re.IGNORECASE)

EMPTY_OR_DOTS = "A path cannot contain empty, '.' or '..' parts."
ENCODED_OR_BACKSLASH = "A path cannot contain a backslash, a NUL character or a percent-encoded '.', '/', '\\' or '%'."
HAS_SLASH = "This name cannot contain '/'."


class UnsafePath(ValueError):
    """A path, ref or identifier that could step out of the resource it names; refused before any request."""


def path_problem(path: str) -> str | None:
    """Why ``path`` (a file or directory of a repository, '/'-separated, no leading or trailing '/') is refused, or
    None when it is safe to send."""
    if "\\" in path or "\x00" in path or _ENCODED.search(path):
        return ENCODED_OR_BACKSLASH
    if any(part in ("", ".", "..") for part in path.split("/")):
        return EMPTY_OR_DOTS
    return None


def ref_problem(ref: str) -> str | None:
    """Why a ref (a branch name, which may hold '/', or a commit hash) is refused, or None."""
    return path_problem(ref)


def name_problem(name: str) -> str | None:
    """Why a single URL segment (a workspace or repository slug, a uuid, a hook id) is refused, or None."""
    if "/" in name:
        return HAS_SLASH
    return path_problem(name)


def _checked(value: str, problem: str | None) -> str:
    if problem:
        raise UnsafePath(f"{problem} ({value!r})")
    return value


def check_path(path: str) -> str:
    return _checked(path, path_problem(path))


def check_ref(ref: str) -> str:
    return _checked(ref, ref_problem(ref))


def check_name(name: str) -> str:
    return _checked(name, name_problem(name))


def _as_served(path: str) -> str:
    """A URL path as a server routes it: percent-decoded, dot segments and doubled slashes collapsed."""
    normal = posixpath.normpath(unquote(path))
    return "/" if normal in (".", "") else normal


def stays_under(url: str, prefix: str) -> bool:
    """Whether ``url``, as requests will send it and as the server will read it, stays at or under ``prefix`` (an
    absolute URL: the repository's ``…/repositories/{workspace}/{repo}``)."""
    sent = urlsplit(requests.Request("GET", url).prepare().url or "")
    base = urlsplit(prefix)
    if (sent.scheme, sent.netloc) != (base.scheme, base.netloc):
        return False
    root = _as_served(base.path)
    served = _as_served(sent.path)
    return served == root or served.startswith(root.rstrip("/") + "/")
