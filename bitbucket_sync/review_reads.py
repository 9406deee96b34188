"""Live reads for following a review across pushes: the changes between two source commits of a pull request.

Both commits are named by hash, so what is read never changes: cached for good (per credential, like every live
read). `diff/{current}..{reviewed}` with `topic=false` is Bitbucket's plain two-commit diff: the current commit's
tree against the reviewed one's (`A..B` is A's changes against B; without `topic=false` it would be against their
merge base, which hides nothing new but shows everything since the branch left its destination).
"""

from __future__ import annotations

from bitbucket_sync.browse import CONTENT_SECONDS, LiveReader
from bitbucket_sync.client.records import DiffStat, DiffText
from bitbucket_sync.models import PullRequest
from bitbucket_sync.reviews import COMMIT_HASH


def _range(current: str, reviewed: str) -> str:
    # Hashes only: a spec like `other/repo:abc..def` would name another repository.
    if not (COMMIT_HASH.fullmatch(current) and COMMIT_HASH.fullmatch(reviewed)):
        raise ValueError("a commit range needs two commit hashes")
    return f"{current}..{reviewed}"


def read_changes_since(
    reader: LiveReader, *, pull_request: PullRequest, current: str, reviewed: str, max_bytes: int
) -> DiffText:
    """The diff from `reviewed` to `current` in the pull request's repository (at most `max_bytes` of it)."""
    spec = _range(current, reviewed)
    repository = pull_request.repository
    return reader.cached(
        reader.key("since-diff", repository.bitbucket_uuid, current, reviewed, max_bytes),
        CONTENT_SECONDS,
        lambda: reader.client.get_diff(
            repository.workspace.key, repository.slug, spec, max_bytes=max_bytes, topic=False
        ),
    )


def read_files_changed_since(
    reader: LiveReader, *, pull_request: PullRequest, current: str, reviewed: str
) -> list[DiffStat]:
    """The diffstat from `reviewed` to `current`: which files changed since (one request, then cached)."""
    spec = _range(current, reviewed)
    repository = pull_request.repository
    return reader.cached(
        reader.key("since-diffstat", repository.bitbucket_uuid, current, reviewed),
        CONTENT_SECONDS,
        lambda: list(reader.client.iter_diffstat(repository.workspace.key, repository.slug, spec, topic=False)),
    )
