"""Avatar images for the `links.avatar` hrefs the emulator hands out (initials on a colour, as SVG).

Bitbucket serves avatars from its own hosts without authentication; the emulator's payloads point at itself, so
pages that show `<img src=links.avatar.href>` get a picture instead of a broken image.
"""

from __future__ import annotations

import hashlib
import html
import re

from ..world.objects import Workspace, WorldError
from ..world.state import World

_USER = re.compile(r"^/account/(?P<uuid>\{[0-9a-f-]+\})/avatar/")
_WORKSPACE = re.compile(r"^/workspaces/(?P<slug>[^/]+)/avatar/")
_PROJECT = re.compile(r"^/account/user/(?P<ws>[^/]+)/projects/(?P<key>[^/]+)/avatar/")
_REPOSITORY = re.compile(r"^/(?P<ws>[^/]+)/(?P<repo>[^/]+)/avatar/")


def _label(world: World, path: str) -> tuple[str, bool] | None:
    """The name to draw and whether it is a person (round) or a thing (square)."""
    if m := _USER.match(path):
        for u in world.users.values():
            if u.uuid == m["uuid"]:
                return u.display_name, True
        for t in world.access_tokens.values():
            if t.uuid == m["uuid"]:
                return t.name, True
        return None
    if m := _PROJECT.match(path):
        ws = _workspace(world, m["ws"])
        return (ws.projects[m["key"]].name, False) if ws and m["key"] in ws.projects else None
    if m := _WORKSPACE.match(path):
        ws = _workspace(world, m["slug"])
        return (ws.name, False) if ws else None
    if m := _REPOSITORY.match(path):
        try:
            return world.repository(m["ws"], m["repo"]).name, False
        except WorldError:
            return None
    return None


def _workspace(world: World, slug: str) -> Workspace | None:
    try:
        return world.workspace(slug)
    except WorldError:
        return None


def avatar_svg(world: World, path: str) -> bytes | None:
    with world.lock:
        found = _label(world, path)
    if found is None:
        return None
    name, person = found
    words = [w for w in re.split(r"[\s_./-]+", name) if w]
    initials = "".join(w[0] for w in words[:2]).upper() or "?"
    hue = int(hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:4], 16) % 360
    radius = 32 if person else 8
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="{radius}" fill="hsl({hue},55%,45%)"/>'
        '<text x="32" y="32" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="26" '
        f'fill="#fff">{html.escape(initials)}</text></svg>'
    ).encode()
