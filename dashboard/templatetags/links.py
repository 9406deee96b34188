"""Links taken from Bitbucket data (`html_url`, avatars, any URL in a payload) go through `safe_url` before they
reach an `href` or `src`: only an absolute http(s) URL with a host survives, so a `javascript:`, `data:` or
protocol-relative value from a payload can never run or point the browser somewhere the API did not name.
"""

from urllib.parse import quote, urlsplit

from django import template
from django.utils.http import RFC3986_SUBDELIMS

register = template.Library()

_SCHEMES = {"http", "https"}


@register.filter
def safe_url(value: object) -> str:
    """The URL when it is absolute http(s) with a host, else "" (templates test it before rendering a link)."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    # Browsers drop tabs and newlines inside a URL ("java\tscript:"), and urlsplit does too; refuse them outright
    # rather than reason about which spelling a browser would rebuild.
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an invalid IPv6 literal or port
        return ""
    if parts.scheme.lower() not in _SCHEMES or not host or "\\" in url:
        return ""
    return url


@register.filter
def url_path(value: object) -> str:
    """A path (a file, a directory) quoted as `reverse` quotes a URL argument, to append to a prefix the view reversed
    once: a long listing or file then costs one `reverse`, not one per row or line."""
    return quote(str(value), safe=RFC3986_SUBDELIMS + "/~:@")
