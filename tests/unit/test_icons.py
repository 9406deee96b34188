"""Icons: `{% icon %}` draws a symbol of the vendored Octicons sprite, named for screen readers when it stands alone
and hidden from them when the words next to it say the same; the sprite holds exactly the icons the templates and the
state mappings use, as `manage.py icons_sprite` writes it from the npm package; and the pages show them."""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.templatetags.static import static

from bitbucket_sync.models import BuildStatus, PullRequest
from dashboard import icons
from dashboard.management.commands import icons_sprite as command
from dashboard.selectors.readiness import ReviewState
from tests import factories as f
from tests.unit.test_theme import _block, _contrast, _properties

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# `{% icon "name" …%}` with a literal name; a name from a variable goes through one of the mappings (tested below).
LITERAL = re.compile(r"""\{%\s*icon\s+["']([^"']+)["']""")
ANY_ICON_TAG = re.compile(r"\{%\s*icon\s")


def _render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def _literal_names() -> dict[str, list[str]]:
    """Each literal icon name the templates use, with the templates that use it."""
    used: dict[str, list[str]] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        for name in LITERAL.findall(path.read_text()):
            used.setdefault(name, []).append(str(path.relative_to(TEMPLATES)))
    return used


def test_a_labelled_icon_is_an_image_named_by_its_label():
    html = _render('{% icon "lock" label=why %}', why="Read-only <archived>")
    href = static("icons/sprite.svg") + "#lock"
    assert html == (
        '<svg class="icon icon-lock" width="16" height="16" role="img" aria-label="Read-only &lt;archived&gt;">'
        f'<use href="{href}"></use></svg>'
    )
    assert "aria-hidden" not in html


def test_an_icon_without_label_is_hidden_from_screen_readers():
    html = _render('<span class="badge">{% icon "git-branch" %}branch</span>')
    assert 'aria-hidden="true"' in html
    assert "role=" not in html and "aria-label" not in html
    assert '<use href="' + static("icons/sprite.svg") + '#git-branch"></use>' in html


def test_an_icon_from_a_variable_and_an_empty_name():
    assert 'href="' + static("icons/sprite.svg") + '#git-merge"' in _render("{% icon s|pr_state_icon %}", s="MERGED")
    assert _render("[{% icon s|pr_state_icon %}]", s="SOMETHING_NEW") == "[]"  # no icon rather than a wrong one


def test_an_icon_the_sprite_lacks_fails_loudly():
    with pytest.raises(ValueError, match="no icon 'git-rebase'"):
        _render('{% icon "git-rebase" %}')


def test_the_sprite_holds_exactly_the_icons_named_in_the_code():
    sprite = icons.SPRITE_PATH.read_text(encoding="utf-8")
    assert icons.sprite_names(sprite) == list(icons.NAMES)
    root = ET.fromstring(sprite)  # noqa: S314 - our own static file
    for symbol in root.iter(f"{{{icons.SVG_NS}}}symbol"):
        assert symbol.attrib["viewBox"] == "0 0 16 16" and len(symbol) > 0


def test_every_icon_a_template_uses_is_in_the_sprite():
    used = _literal_names()
    assert len(used) >= 10  # the scan does find the templates' icons
    missing = {name: where for name, where in used.items() if name not in icons.NAMES}
    assert missing == {}, "add them to dashboard.icons.NAMES and run manage.py icons_sprite"
    # Every {% icon %} tag names its icon in quotes or through a filter of dashboard.icons: none escapes the scan.
    for path in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"\{%\s*icon\s[^%]*%\}", path.read_text()):
            assert LITERAL.match(tag) or re.search(r"\|(pr_state|build|status|review)_icon\b", tag), (path, tag)
    assert sum(len(ANY_ICON_TAG.findall(p.read_text())) for p in TEMPLATES.rglob("*.html")) > len(used)


def test_the_sprite_carries_no_icon_nothing_uses():
    unused = set(icons.NAMES) - set(_literal_names()) - icons.mapped_names()
    assert unused == set()
    assert icons.mapped_names() <= set(icons.NAMES)


def test_the_licence_names_the_package_and_version_of_the_sprite():
    sprite = icons.SPRITE_PATH.read_text(encoding="utf-8")
    version = re.search(r"@primer/octicons (\d+\.\d+\.\d+) \(MIT", sprite).group(1)
    licence = icons.LICENSE_PATH.read_text(encoding="utf-8")
    assert f"@primer/octicons {version}" in licence
    assert "MIT License" in licence and "Permission is hereby granted" in licence


def _package_from_sprite(root: Path, *, leave_out: str = "") -> Path:
    """An unpacked @primer/octicons holding, as build/svg/<name>-16.svg, the drawings the committed sprite has."""
    sprite = ET.fromstring(icons.SPRITE_PATH.read_text(encoding="utf-8"))  # noqa: S314 - our own static file
    version = re.search(r"octicons (\S+) ", icons.SPRITE_PATH.read_text(encoding="utf-8")).group(1)
    (root / "build" / "svg").mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "@primer/octicons", "version": version}))
    licence = icons.LICENSE_PATH.read_text(encoding="utf-8")
    (root / "LICENSE").write_text(licence[licence.index("MIT License") :])
    for symbol in sprite.iter(f"{{{icons.SVG_NS}}}symbol"):
        if symbol.attrib["id"] == leave_out:
            continue
        inner = "".join(ET.tostring(child, encoding="unicode") for child in symbol)
        inner = inner.replace(f' xmlns="{icons.SVG_NS}"', "")
        (root / "build" / "svg" / f"{symbol.attrib['id']}-16.svg").write_text(
            f'<svg xmlns="{icons.SVG_NS}" width="16" height="16" viewBox="{symbol.attrib["viewBox"]}">{inner}</svg>'
        )
    return root


def test_the_generator_rebuilds_the_committed_sprite_and_licence(tmp_path):
    sprite, licence = icons.sprite_from_package(_package_from_sprite(tmp_path))
    assert sprite == icons.SPRITE_PATH.read_text(encoding="utf-8")  # a hand edit of the sprite makes this fail
    assert licence == icons.LICENSE_PATH.read_text(encoding="utf-8")


def test_the_command_refuses_a_package_without_an_icon_or_of_another_name(tmp_path, monkeypatch):
    package = _package_from_sprite(tmp_path / "pkg", leave_out="lock")
    monkeypatch.setattr(command, "SPRITE_PATH", tmp_path / "out" / "sprite.svg")
    monkeypatch.setattr(command, "LICENSE_PATH", tmp_path / "out" / "LICENSE")
    with pytest.raises(CommandError, match=r"lock-16\.svg"):
        call_command("icons_sprite", "--from", str(package))
    (package / "package.json").write_text(json.dumps({"name": "lucide-static", "version": "1.0.0"}))
    with pytest.raises(CommandError, match="not @primer/octicons"):
        call_command("icons_sprite", "--from", str(package))
    assert not (tmp_path / "out").exists()


@pytest.mark.django_db
def test_state_mappings():
    ws = f.workspace("acme")
    repo = f.repository(ws, "api")
    draft = f.pull_request(repo, draft=True)
    merged = f.pull_request(repo, state=PullRequest.State.MERGED)
    assert icons.pr_state_icon(draft) == "git-pull-request-draft"
    assert icons.pr_state_label(draft) == "Draft pull request"
    assert icons.pr_state_icon(merged) == "git-merge" and icons.pr_state_label(merged) == "Merged pull request"
    assert [icons.pr_state_icon(s) for s in ("OPEN", "declined", "SUPERSEDED")] == [
        "git-pull-request",
        "git-pull-request-closed",
        "git-pull-request-closed",
    ]
    # A build by its state or by the word the page shows for it.
    assert icons.build_icon(BuildStatus.State.STOPPED) == icons.build_icon("stopped") == "stop"
    assert icons.build_icon("passed") == "check-circle" and icons.build_icon("running") == "clock"
    assert icons.build_icon("QUEUED") == ""
    assert icons.status_icon("red") == "x-circle" and icons.status_icon("unknown") == "question"
    assert icons.review_icon(ReviewState("changes_requested", "changes requested")) == "file-diff"
    assert icons.review_icon("not_reviewed") == ""


@pytest.mark.parametrize("palette", [":root {", ':root[data-theme="dark"] {'])
def test_source_listing_icons_stand_out_from_the_card(palette):
    # Non-text contrast (WCAG 1.4.11): 3:1 for the folder and file icons on the card's surface.
    p = _properties(_block(palette))
    assert _contrast(p["--icon-dir-edge"], p["--surface"]) >= 3
    assert _contrast(p["--muted"], p["--surface"]) >= 3


@pytest.mark.django_db
def test_pages_show_state_icons_with_their_words(client, browse_encryption_key):
    viewer, ws = f.user("viewer"), f.workspace("acme")
    me, olga = f.account("Me Myself"), f.account("Olga Other")
    repo = f.repository(ws, "api")
    f.grant(viewer, repo)
    f.credential(viewer, acct=me)
    pr = f.pull_request(repo, author=olga, title="Ship it")
    f.pull_request(repo, author=olga, title="Not yet", draft=True)
    f.reviewer(pr, me, approved=True, state="approved")
    client.force_login(viewer)

    inbox = client.get("/-/inbox/?tab=open").content.decode()
    # The inbox names each pull request's state only by its icon: the icon carries the words.
    assert inbox.count('role="img" aria-label="Open pull request"') == 1
    assert inbox.count('role="img" aria-label="Draft pull request"') == 1

    page = client.get(pr.get_absolute_url()).content.decode()
    badge = re.search(r'<span class="badge open">(.*?)</span>', page).group(1)
    assert 'aria-hidden="true"' in badge and "#git-pull-request" in badge and badge.endswith("</svg>open")
    reviewers = page[page.index('id="pr-reviewers"') :]
    assert re.search(r'<span class="badge approved"><svg class="icon icon-check"[^>]*aria-hidden="true">', reviewers)
