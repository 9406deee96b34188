"""Comparing refs as the viewer may: the branches page's ahead/behind cells and the compare page.

The reads and their caches are `bitbucket_sync.compare`'s; here a URL's spec becomes two refs (or a 404), the
branches of a page get what is cached for them, and a comparison becomes commits and highlighted diff files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import Http404

from bitbucket_sync import compare
from bitbucket_sync.actions import branch_name_problem
from bitbucket_sync.compare import AheadBehind, Comparison, comparison_base
from bitbucket_sync.models import Branch, Repository
from dashboard import rendering
from dashboard.selectors.source import browse_client
from dashboard.selectors.visibility import active_credential

MAX_REF_LENGTH = 255


def ref_problem(ref: str) -> str | None:
    """Why ``ref`` is neither a branch or tag name git would accept nor a commit hash, or None."""
    if compare.HEX.fullmatch(ref):
        return None
    if len(ref) > MAX_REF_LENGTH:
        return "too long"
    return branch_name_problem(ref)


def split_spec(spec: str) -> tuple[str, str]:
    """``<source>..<destination>`` from a compare URL (already percent-decoded, so ``%2f`` arrives as ``/``): git
    names cannot hold ``..``, so the first one splits; Http404 unless both sides are valid refs."""
    source, sep, destination = spec.partition("..")
    if not sep or ref_problem(source) or ref_problem(destination):
        raise Http404("No such comparison.")
    return source, destination


def is_branch(repository: Repository, ref: str) -> bool:
    """A mirrored branch, or a name that is no hash (a branch the mirror has not seen yet, or a tag)."""
    if not compare.HEX.fullmatch(ref):
        return True
    return Branch.objects.live().filter(repository=repository, name=ref).exists()


# --- the branches page ---------------------------------------------------------------------------------------------


def base_name(user, repository: Repository) -> str:
    """The name of the branch the others are counted against, as the viewer's credential sees the repository's
    branching model (`comparison_base`)."""
    return comparison_base(repository, active_credential(user, workspace=repository.workspace))


def base_branch(user, repository: Repository) -> Branch | None:
    """The mirrored branch that the others are counted against."""
    return Branch.objects.live().filter(repository=repository, name=base_name(user, repository)).first()


def attach_ahead_behind(user, repository: Repository, branches: list[Any]) -> Branch | None:
    """Give each branch row of a page ``counts``: what was read before for its pair of tips with the viewer's
    credential (an ``AheadBehind``), or None when the cell must ask for it. No request; returns the base branch."""
    base = base_branch(user, repository)
    credential = active_credential(user, workspace=repository.workspace) if base else None
    pairs = [(b.target_hash, base.target_hash) for b in branches if base and b.name != base.name]
    known = compare.cached_ahead_behind(credential, repository, pairs)
    for branch in branches:
        branch.counts = known.get((branch.target_hash, base.target_hash)) if base else None
    return base


def branch_ahead_behind(user, repository: Repository, *, name: str) -> tuple[Branch, AheadBehind | None]:
    """One branch of the mirror (Http404 when it is not there) with its counts against the base, read now when they
    were never read (None for the base itself)."""
    branch = Branch.objects.live().filter(repository=repository, name=name).first()
    if branch is None:
        raise Http404("No such branch.")
    base = base_branch(user, repository)
    if base is None:
        reason = f"the branch {base_name(user, repository) or '(none)'} it is counted against is not known yet"
        return branch, AheadBehind(compare.UNKNOWN, reason=reason)
    if branch.name == base.name:
        return branch, None
    credential = active_credential(user, workspace=repository.workspace)
    return branch, compare.read_ahead_behind(credential, repository, tip=branch.target_hash, base_tip=base.target_hash)


# --- the compare page ----------------------------------------------------------------------------------------------


@dataclass
class ComparePage:
    source: str
    destination: str
    source_is_branch: bool
    destination_is_branch: bool
    comparison: Comparison | None = None
    files: list = field(default_factory=list)
    diffstat: list = field(default_factory=list)
    truncated: bool = False

    @property
    def can_open_pull_request(self) -> bool:
        """A pull request goes from one branch into another, with something to merge."""
        return (
            self.source_is_branch
            and self.destination_is_branch
            and self.source != self.destination
            and self.comparison is not None
            and bool(self.comparison.ahead.commits)
        )


def compare_page(user, repository: Repository, *, source: str, destination: str) -> ComparePage:
    """Read the comparison of two refs with the viewer's credential (LiveReadError with the reason when it fails)."""
    page = ComparePage(
        source=source,
        destination=destination,
        source_is_branch=is_branch(repository, source),
        destination_is_branch=is_branch(repository, destination),
    )
    with browse_client(user, workspace=repository.workspace) as reader:
        source_hash = compare.resolve_ref(reader, repository, source, is_branch=page.source_is_branch)
        destination_hash = compare.resolve_ref(reader, repository, destination, is_branch=page.destination_is_branch)
        page.comparison = compare.read_comparison(
            reader,
            repository,
            source=source_hash,
            destination=destination_hash,
            max_diff_bytes=rendering.MAX_DIFF_BYTES,
        )
    page.files, page.truncated = rendering.parse_diff(page.comparison.diff, truncated=page.comparison.diff.truncated)
    page.diffstat = [(stat, rendering.file_anchor(stat.path)) for stat in page.comparison.diffstat]
    return page
