"""The icons pages show: a sprite of GitHub's Octicons (MIT, `static/icons/LICENSE`), one `<symbol>` per name in
`NAMES`, drawn by `{% icon %}` (dashboard.templatetags.icons) through `<use href="…sprite.svg#name">`. Each icon fills
with `currentColor`, so it takes the colour of the text or badge around it in both palettes.

`manage.py icons_sprite --from <unpacked @primer/octicons>` rewrites the sprite from the npm package (`npm pack
@primer/octicons`, no build step); a unit test checks the sprite holds exactly `NAMES` and that every name a template
or a mapping below uses is one of them.

The mappings turn a state into its icon. An icon never says a state alone: it sits next to the state's words, or
carries them as its label.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from django.conf import settings

from bitbucket_sync import turns
from bitbucket_sync.models import BuildStatus, PullRequest
from dashboard.selectors.readiness import BUILD_STATES, ReviewState

SPRITE_PATH = Path(settings.BASE_DIR) / "static" / "icons" / "sprite.svg"
LICENSE_PATH = SPRITE_PATH.with_name("LICENSE")
SPRITE_STATIC_NAME = "icons/sprite.svg"
PACKAGE = "@primer/octicons"
SIZE = 16  # the 16 px drawings: the ones made for text-sized icons

# Every icon in the sprite, named as Octicons names it (the symbol for "git-branch" is build/svg/git-branch-16.svg).
NAMES = (
    # pull request states
    "git-pull-request",
    "git-merge",
    "git-pull-request-closed",
    "git-pull-request-draft",
    # reviews
    "check",
    "file-diff",
    "sync",
    # builds, and the readiness panel's conditions
    "check-circle",
    "x-circle",
    "stop",
    "clock",
    "question",
    # refs and the source browser
    "git-branch",
    "tag",
    "git-commit",
    "file",
    "file-directory-fill",
    # what may not be written: archived repositories, read-only notes, merge restrictions
    "lock",
)

PR_STATE_ICONS: dict[str, str] = {
    PullRequest.State.OPEN: "git-pull-request",
    PullRequest.State.MERGED: "git-merge",
    PullRequest.State.DECLINED: "git-pull-request-closed",
    PullRequest.State.SUPERSEDED: "git-pull-request-closed",
}
DRAFT_ICON = "git-pull-request-draft"
BUILD_ICONS: dict[str, str] = {
    BuildStatus.State.SUCCESSFUL: "check-circle",
    BuildStatus.State.FAILED: "x-circle",
    BuildStatus.State.STOPPED: "stop",
    BuildStatus.State.INPROGRESS: "clock",
}
# The pages show a build by its word ("passed", "stopped"): the same icons, by word.
BUILD_WORD_ICONS = {word: BUILD_ICONS[state] for state, (_, word) in BUILD_STATES.items()}
# A merge condition's status, and a build row's colour where the state itself is not at hand.
STATUS_ICONS: dict[str, str] = {
    turns.GREEN: "check-circle",
    turns.RED: "x-circle",
    turns.PENDING: "clock",
    turns.UNKNOWN: "question",
}
REVIEW_ICONS = {"approved": "check", "changes_requested": "file-diff", "needs_rereview": "sync"}


def pr_state_icon(value: PullRequest | str) -> str:
    """A pull request's icon (a draft has its own while open), or a state's ("OPEN", "merged"); "" for none."""
    if isinstance(value, PullRequest):
        if value.draft and value.state == PullRequest.State.OPEN:
            return DRAFT_ICON
        value = value.state
    return PR_STATE_ICONS.get(str(value).upper(), "")


def pr_state_label(pull_request: PullRequest) -> str:
    """The words an icon standing alone for a pull request's state says: "Draft pull request", "Merged pull request"."""
    if pull_request.draft and pull_request.state == PullRequest.State.OPEN:
        return "Draft pull request"
    return f"{pull_request.get_state_display().capitalize()} pull request"


def build_icon(value: str) -> str:
    """A build's icon from its state ("FAILED") or the word the page shows for it ("failed"); "" for neither."""
    return BUILD_ICONS.get(value, "") or BUILD_WORD_ICONS.get(value, "")


def status_icon(value: str) -> str:
    """A merge condition's icon from its status (green, red, pending, unknown)."""
    return STATUS_ICONS.get(value, "")


def review_icon(value: ReviewState | str) -> str:
    """A reviewer's icon from their review (a ReviewState or its key); "" when they have not reviewed."""
    key = value.key if isinstance(value, ReviewState) else value
    return REVIEW_ICONS.get(key, "")


def mapped_names() -> set[str]:
    """Every icon the mappings above can return."""
    return {DRAFT_ICON, *PR_STATE_ICONS.values(), *BUILD_ICONS.values(), *STATUS_ICONS.values(), *REVIEW_ICONS.values()}


# --- the sprite, written from the npm package ---

SVG_NS = "http://www.w3.org/2000/svg"


def sprite_from_package(package_dir: Path) -> tuple[str, str]:
    """The sprite's text and the licence file's text, from an unpacked `@primer/octicons` (its package.json, LICENSE
    and build/svg/<name>-16.svg). Raises FileNotFoundError naming an icon the package lacks."""
    meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    if meta.get("name") != PACKAGE:
        raise ValueError(f"{package_dir} holds {meta.get('name')!r}, not {PACKAGE}")
    version = meta["version"]
    ET.register_namespace("", SVG_NS)
    symbols = []
    for name in NAMES:
        source = package_dir / "build" / "svg" / f"{name}-{SIZE}.svg"
        drawing = ET.parse(source).getroot()  # noqa: S314 - the files of the package the maintainer fetched
        symbol = ET.Element(f"{{{SVG_NS}}}symbol", {"id": name, "viewBox": drawing.attrib["viewBox"]})
        symbol.extend(list(drawing))
        symbols.append(ET.tostring(symbol, encoding="unicode").replace(f' xmlns="{SVG_NS}"', ""))
    sprite = "\n".join(
        [
            f'<svg xmlns="{SVG_NS}">',
            f"<!-- {PACKAGE} {version} (MIT, see LICENSE), {SIZE} px icons. Written by `manage.py icons_sprite`. -->",
            *symbols,
            "</svg>",
            "",
        ]
    )
    licence = (
        f"The icons in sprite.svg are from {PACKAGE} {version} (https://github.com/primer/octicons),\n"
        f"copied unchanged from the npm package's build/svg/*-{SIZE}.svg. Their licence:\n\n"
        + (package_dir / "LICENSE").read_text(encoding="utf-8")
    )
    return sprite, licence


def sprite_names(text: str) -> list[str]:
    """The ids of the symbols in a sprite, in order."""
    root = ET.fromstring(text)  # noqa: S314 - our own static file
    return [symbol.attrib["id"] for symbol in root.iter(f"{{{SVG_NS}}}symbol")]
