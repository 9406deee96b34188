"""Changes to the Data Center site that Bitbucket Data Center announces through webhooks (reference §9.1): a push,
a pull request opened, edited, reviewed, commented on, merged or declined. Tests and the demo call these; each one
changes the site under the world lock, bumps what Data Center bumps (the pull request `version`, `updatedDate`) and
emits the event (`DataCenterSite.emit`) with what its body needs.

Arguments name things as Data Center's URLs do: project key, repository slug, pull request id, user slug.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .datacenter import (
    EXC,
    PARTICIPANT_STATUSES,
    DataCenterSite,
    DcComment,
    DcError,
    DcParticipant,
    DcPullRequest,
    DcRepository,
)
from .merge import merge_trees
from .objects import Commit
from .state import World

ZERO = "0" * 40
REVIEW_EVENTS = {
    "APPROVED": "pr:reviewer:approved",
    "UNAPPROVED": "pr:reviewer:unapproved",
    "NEEDS_WORK": "pr:reviewer:needs_work",
}


def _site(world: World) -> DataCenterSite:
    if world.datacenter is None:
        raise DcError(404, "This world has no Data Center site.", None)
    return world.datacenter


def _commit(
    world: World, site: DataCenterSite, repo: DcRepository, parents: list[str], tree: dict, message: str, who: str
) -> Commit:
    author = site.user(who)
    commit: Commit = world.make_commit(
        repo.git, parents, tree, message, None, f"{author.display_name} <{author.email}>", world.now()
    )
    commit.author_uuid = author.uuid
    return commit


def _rescope(world: World, site: DataCenterSite, repo: DcRepository, branch: str, actor: str) -> None:
    """Open pull requests follow their branches: a new source tip is `pr:from_ref_updated`; a new target tip only
    rescopes (Data Center has no webhook for it)."""
    new = repo.git.branches.get(branch)
    if new is None:
        return
    for pr in sorted(repo.pull_requests.values(), key=lambda p: p.id):
        if pr.state != "OPEN":
            continue
        if pr.from_branch == branch and pr.from_hash != new:
            previous = pr.from_hash
            pr.from_hash, pr.updated = new, world.now()
            pr.version += 1
            site.emit("pr:from_ref_updated", repo, actor, pull_request=pr, previous_from_hash=previous)
        elif pr.to_branch == branch and pr.to_hash != new:
            pr.to_hash, pr.updated = new, world.now()
            pr.version += 1


def push(
    world: World, key: str, slug: str, branch: str, author: str, files: dict[str, str | None], message: str = "Change"
) -> str:
    """A commit by `author` on `branch` (created from the default branch when missing) that writes `files` (None
    deletes one): `repo:refs_changed` (ADD or UPDATE), then `pr:from_ref_updated` for the open pull requests from
    it. Returns the new tip."""
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        git = repo.git
        old = git.branches.get(branch)
        parent = old or git.branches[git.mainbranch]
        tree = dict(git.commits[parent].tree)
        for path, content in files.items():
            if content is None:
                tree.pop(path, None)
            else:
                tree[path] = content.encode()
        commit = _commit(world, site, repo, [parent], tree, message, author)
        git.branches[branch] = commit.hash
        world.version += 1
        change = {"ref": branch, "from": old or ZERO, "to": commit.hash, "type": "UPDATE" if old else "ADD"}
        site.emit("repo:refs_changed", repo, site.user(author).slug, changes=[change])
        _rescope(world, site, repo, branch, site.user(author).slug)
        return commit.hash


def delete_branch(world: World, key: str, slug: str, branch: str, actor: str) -> None:
    """The branch is gone: `repo:refs_changed` with a DELETE change."""
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        old = repo.git.branches.pop(branch, None)
        if old is None:
            raise DcError(404, f"Branch {branch} does not exist.", EXC + "repository.NoSuchBranchException")
        world.version += 1
        change = {"ref": branch, "from": old, "to": ZERO, "type": "DELETE"}
        site.emit("repo:refs_changed", repo, site.user(actor).slug, changes=[change])


def open_pull_request(
    world: World,
    key: str,
    slug: str,
    *,
    source: str,
    title: str,
    author: str,
    target: str | None = None,
    description: str = "",
    reviewers: Iterable[str] = (),
    draft: bool = False,
) -> DcPullRequest:
    """`pr:opened`; the id is the repository's next."""
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        target = target or repo.git.mainbranch
        for name in (source, target):
            if name not in repo.git.branches:
                raise DcError(404, f"Branch {name} does not exist.", EXC + "repository.NoSuchBranchException")
        now = world.now()
        pr = DcPullRequest(
            id=max(repo.pull_requests, default=0) + 1,
            title=title,
            description=description,
            state="OPEN",
            from_branch=source,
            from_hash=repo.git.branches[source],
            to_branch=target,
            to_hash=repo.git.branches[target],
            created=now,
            updated=now,
            author=DcParticipant(site.user(author).slug, "AUTHOR"),
            draft=draft,
            reviewers=[DcParticipant(site.user(r).slug, "REVIEWER") for r in reviewers],
        )
        repo.pull_requests[pr.id] = pr
        world.version += 1
        site.emit("pr:opened", repo, pr.author.user_slug, pull_request=pr)
        return pr


def update_pull_request(
    world: World,
    key: str,
    slug: str,
    pr_id: int,
    actor: str,
    *,
    title: str | None = None,
    description: str | None = None,
    target: str | None = None,
) -> DcPullRequest:
    """`pr:modified` with the previous title, description and target."""
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        pr = _open(site, repo, pr_id)
        previous = {
            "title": pr.title,
            "description": pr.description,
            "target": {"branch": pr.to_branch, "hash": pr.to_hash},
        }
        if title is not None:
            pr.title = title
        if description is not None:
            pr.description = description
        if target is not None:
            if target not in repo.git.branches:
                raise DcError(404, f"Branch {target} does not exist.", EXC + "repository.NoSuchBranchException")
            pr.to_branch, pr.to_hash = target, repo.git.branches[target]
        pr.updated = world.now()
        pr.version += 1
        world.version += 1
        site.emit("pr:modified", repo, site.user(actor).slug, pull_request=pr, previous=previous)
        return pr


def _open(site: DataCenterSite, repo: DcRepository, pr_id: int) -> DcPullRequest:
    pr = site.pull_request(repo, pr_id)
    if pr.state != "OPEN":
        raise DcError(
            409,
            f"Pull request {pr_id} is {pr.state.lower()}, so it cannot be changed.",
            EXC + "pull.IllegalPullRequestStateException",
        )
    return pr


def _join(pr: DcPullRequest, who: str) -> None:
    """`who` becomes a participant of the pull request, unless already its author, a reviewer or a participant."""
    if who not in {p.user_slug for p in pr.everyone()}:
        pr.participants.append(DcParticipant(who, "PARTICIPANT"))


def _close(pr: DcPullRequest, state: str, who: str, now: datetime) -> None:
    """Merged or declined by `who` (who becomes a participant) at `now`."""
    pr.state, pr.closed, pr.updated = state, now, now
    pr.version += 1
    _join(pr, who)


def set_reviewer_status(world: World, key: str, slug: str, pr_id: int, user: str, status: str) -> DcParticipant:
    """A reviewer's (or, for anybody else, a participant's) status: `pr:reviewer:approved`, `…:unapproved` or
    `…:needs_work` with the participant and the previous status. The author cannot review."""
    if status not in PARTICIPANT_STATUSES:
        raise ValueError(f"status must be one of {PARTICIPANT_STATUSES}")
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        pr = _open(site, repo, pr_id)
        who = site.user(user).slug
        if who == pr.author.user_slug:
            raise DcError(
                400, "The author of a pull request cannot review it.", EXC + "pull.InvalidPullRequestRoleException"
            )
        participant = next((p for p in pr.reviewers + pr.participants if p.user_slug == who), None)
        if participant is None:
            participant = DcParticipant(who, "PARTICIPANT")
            pr.participants.append(participant)
        previous = participant.status
        participant.status = status
        participant.last_reviewed_commit = pr.from_hash
        participant.status_date = world.now()
        world.version += 1
        if previous != status:
            site.emit(
                REVIEW_EVENTS[status], repo, who, pull_request=pr, participant=participant, previous_status=previous
            )
        return participant


def add_comment(
    world: World, key: str, slug: str, pr_id: int, author: str, text: str, parent_id: int | None = None
) -> DcComment:
    """`pr:comment:added` (with `commentParentId` for a reply); the commenter becomes a participant."""
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        pr = site.pull_request(repo, pr_id)
        who = site.user(author).slug
        now = world.now()
        comment = DcComment(site.allocate_id(), who, text, now, now)
        if parent_id is None:
            pr.comments.append(comment)
        else:
            parent = _find_comment(pr.comments, parent_id)
            if parent is None:
                raise DcError(404, f"Comment {parent_id} does not exist.", EXC + "comment.NoSuchCommentException")
            parent.replies.append(comment)
        _join(pr, who)
        world.version += 1
        site.emit("pr:comment:added", repo, who, pull_request=pr, comment=comment, parent_id=parent_id)
        return comment


def _find_comment(comments: list[DcComment], comment_id: int) -> DcComment | None:
    for c in comments:
        if c.id == comment_id:
            return c
        found = _find_comment(c.replies, comment_id)
        if found is not None:
            return found
    return None


def merge(world: World, key: str, slug: str, pr_id: int, actor: str) -> DcPullRequest:
    """A merge commit on the target: `pr:merged`, then `repo:refs_changed` for the target branch."""
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        pr = _open(site, repo, pr_id)
        git = repo.git
        who = site.user(actor).slug
        source, target = git.branches[pr.from_branch], git.branches[pr.to_branch]
        base = world.merge_base(git, source, target)
        tree = merge_trees(git.commits[base].tree if base else {}, git.commits[target].tree, git.commits[source].tree)
        message = (
            f"Merge pull request #{pr.id} in {repo.project_key}/{repo.slug} from {pr.from_branch} to {pr.to_branch}"
        )
        commit = _commit(world, site, repo, [target, source], tree, message, who)
        git.branches[pr.to_branch] = commit.hash
        pr.merge_commit = commit.hash
        _close(pr, "MERGED", who, world.now())
        world.version += 1
        site.emit("pr:merged", repo, who, pull_request=pr)
        change = {"ref": pr.to_branch, "from": target, "to": commit.hash, "type": "UPDATE"}
        site.emit("repo:refs_changed", repo, who, changes=[change])
        _rescope(world, site, repo, pr.to_branch, who)
        return pr


def decline(world: World, key: str, slug: str, pr_id: int, actor: str) -> DcPullRequest:
    """`pr:declined`; the decliner becomes a participant (reference §14.6)."""
    with world.lock:
        site = _site(world)
        repo = site.repository(key, slug)
        pr = _open(site, repo, pr_id)
        who = site.user(actor).slug
        _close(pr, "DECLINED", who, world.now())
        world.version += 1
        site.emit("pr:declined", repo, who, pull_request=pr)
        return pr
