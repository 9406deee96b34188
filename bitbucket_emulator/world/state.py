"""The emulated world: one `World` holding accounts, workspaces, repositories with git-like history, pull requests.

Everything lives in one `World` guarded by one re-entrant lock (`world.lock`); the HTTP handlers and the test-facing
mutation methods below take it. Git-like objects (objects.py): a commit has parents and a full tree
(`dict[path, bytes]`, shared between commits where unchanged); a branch is a name pointing at a commit hash; merges
are three-way (merge.py). The state file (persistence.py) reads and writes worlds; this module does not know it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from . import ids
from .datacenter import DataCenterSite
from .merge import MergeConflict, Tree, merge_trees, tree_digest
from .objects import (
    MERGE_STRATEGIES,
    AccessToken,
    Comment,
    Commit,
    MergeTask,
    Participant,
    PullRequest,
    Repository,
    User,
    Workspace,
    WorldError,
)


class TimeSource(Protocol):
    """What the world asks of its clock: the real one below, or a seed's that steps (seeds/build.py)."""

    offset: timedelta  # the state file keeps it

    def now(self) -> datetime: ...

    def shift(self, seconds: float) -> None: ...


class Clock:
    """`now()` with an offset for time travel (tests move time forward to age `updated_on`)."""

    def __init__(self, offset: timedelta | None = None):
        self.offset = offset or timedelta()

    def now(self) -> datetime:
        return ids.now_utc() + self.offset

    def shift(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-")
    return slug or "repo"


class World:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock: TimeSource = Clock()
        self.base_url = "http://127.0.0.1:7990"
        self.app_passwords_enabled = True
        self.users: dict[str, User] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.repositories: dict[str, Repository] = {}
        self.merge_tasks: dict[str, MergeTask] = {}
        self.datacenter: DataCenterSite | None = None  # a Data Center instance served beside Cloud, if seeded
        self.next_comment_id = 1000
        # Called as listener(event_key, repository, actor, **objects) after each change worth a webhook.
        self.listeners: list[Callable[..., None]] = []
        self.version = 0  # bumped on every write; the state-file saver watches it
        self.cache: dict = {}  # serialised objects keyed by kind and id, validated by their `rev`

    # ---- lookups ---------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def user(self, key: str) -> User:
        """A user by username, email, uuid or account_id."""
        for user in self.users.values():
            if key in (user.username, user.email, user.uuid, user.account_id):
                return user
        raise WorldError(404, f"No such user: {key}")

    def find_user(self, key: str) -> User | None:
        try:
            return self.user(key)
        except WorldError:
            return None

    def workspace(self, key: str) -> Workspace:
        for ws in self.workspaces.values():
            if key in (ws.slug, ws.uuid) or key.lower() == ws.slug.lower():
                return ws
        raise WorldError(404, f"No workspace with identifier '{key}'.")

    def repository(self, workspace: str, slug: str) -> Repository:
        ws = self.workspace(workspace) if workspace not in ("", "{}") else None
        for repo in self.repositories.values():
            if ws is not None and repo.workspace_uuid != ws.uuid:
                continue
            if slug in (repo.slug, repo.uuid) or slug.lower() == repo.slug.lower():
                return repo
        raise WorldError(404, f"Repository {workspace}/{slug} not found")

    def workspace_of(self, repo: Repository) -> Workspace:
        return self.workspaces[repo.workspace_uuid]

    def full_name(self, repo: Repository) -> str:
        return f"{self.workspace_of(repo).slug}/{repo.slug}"

    def repos_in(self, ws: Workspace) -> list[Repository]:
        return sorted((r for r in self.repositories.values() if r.workspace_uuid == ws.uuid), key=lambda r: r.slug)

    # ---- permissions -----------------------------------------------------------------------------------------
    def user_repo_permission(self, user: User, repo: Repository) -> str | None:
        """The user's effective permission: owners are admins, others need an explicit grant; public repos read."""
        ws = self.workspace_of(repo)
        if ws.members.get(user.uuid) == "owner":
            return "admin"
        perm = repo.permissions.get(user.uuid)
        if perm:
            return perm
        if not repo.is_private:
            return "read"
        return None

    def token_repo_permission(self, token: AccessToken, repo: Repository) -> str | None:
        if repo.workspace_uuid != token.workspace_uuid:
            return None
        if token.scope_kind == "project" and repo.project_key != token.project_key:
            return None
        if token.scope_kind == "repository" and repo.uuid != token.repository_uuid:
            return None
        if "repository:admin" in token.scopes:
            return "admin"
        if "repository:write" in token.scopes or "pullrequest:write" in token.scopes:
            return "write"
        return "read"

    # ---- git-like operations ---------------------------------------------------------------------------------
    def resolve(self, repo: Repository, rev: str) -> Commit:
        """A commit by full or short hash, branch or tag name."""
        if rev in repo.branches:
            return repo.commits[repo.branches[rev]]
        if rev in repo.tags:
            return repo.commits[repo.tags[rev]]
        if rev in repo.commits:
            return repo.commits[rev]
        if re.fullmatch(r"[0-9a-f]{4,40}", rev):
            found = [c for h, c in repo.commits.items() if h.startswith(rev)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise WorldError(400, f"Ambiguous commit id: {rev}")
        raise WorldError(404, f"Commit not found: {rev}")

    def ancestors(self, repo: Repository, start: str) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            h = stack.pop()
            if h in seen or h not in repo.commits:
                continue
            seen.add(h)
            stack.extend(repo.commits[h].parents)
        return seen

    def merge_base(self, repo: Repository, a: str, b: str) -> str | None:
        """The best common ancestor: a common ancestor that is not an ancestor of another common one."""
        common = self.ancestors(repo, a) & self.ancestors(repo, b)
        if not common:
            return None
        # Best common ancestors: those no other common ancestor reaches. Walking newest first, each head found
        # covers its own history, so this stays linear for long histories.
        covered: set[str] = set()
        heads: list[str] = []
        for h in sorted(common, key=lambda h: (repo.commits[h].date, h), reverse=True):
            if h in covered:
                continue
            heads.append(h)
            covered |= self.ancestors(repo, h) - {h}
        # Dates need not follow topology (time travel): drop any head another head reaches.
        best = [h for h in heads if not any(h != o and h in self.ancestors(repo, o) for o in heads)] or heads
        return max(best, key=lambda h: (repo.commits[h].date, h))

    def is_ancestor(self, repo: Repository, maybe_ancestor: str, of: str) -> bool:
        return maybe_ancestor in self.ancestors(repo, of)

    def log(self, repo: Repository, include: list[str], exclude: list[str] | None = None) -> list[Commit]:
        """Commits reachable from `include` but not from `exclude`, newest first (like `git log`)."""
        reachable: set[str] = set()
        for h in include:
            reachable |= self.ancestors(repo, h)
        for h in exclude or []:
            reachable -= self.ancestors(repo, h)
        return sorted((repo.commits[h] for h in reachable), key=lambda c: (c.date, c.hash), reverse=True)

    def make_commit(
        self,
        repo: Repository,
        parents: list[str],
        tree: Tree,
        message: str,
        author: User | None,
        author_raw: str | None = None,
        date: datetime | None = None,
    ) -> Commit:
        when = date or self.now()
        raw = author_raw or (
            f"{author.display_name} <{author.email}>" if author else "Bitbucket <noreply@bitbucket.org>"
        )
        h = ids.commit_hash(parents, tree_digest(tree), message, raw, when)
        commit = Commit(h, list(parents), tree, message, raw, author.uuid if author else None, when)
        repo.commits[h] = commit
        return commit

    def move_branch(self, repo: Repository, branch: str, new_hash: str | None, actor: str | None) -> None:
        """Point a branch somewhere else (None deletes it); PRs on it follow; fires repo:push."""
        old_hash = repo.branches.get(branch)
        if new_hash is None:
            repo.branches.pop(branch, None)
        else:
            repo.branches[branch] = new_hash
        repo.updated_on = self.now()
        repo.rev += 1
        self.version += 1
        if new_hash is not None:
            for pr in repo.pullrequests.values():
                if pr.state != "OPEN":
                    continue
                if pr.source_branch == branch and pr.source_hash != new_hash:
                    pr.source_hash = new_hash
                    self.touch_pr(pr)
                    pr.activity.append({"kind": "update", "date": self.now(), "snapshot": self._snapshot(pr)})
                    self.emit("pullrequest:updated", repo, actor, pullrequest=pr)
                if pr.dest_branch == branch and pr.dest_hash != new_hash:
                    pr.dest_hash = new_hash
                    pr.rev += 1
        self.emit("repo:push", repo, actor, push={"branch": branch, "old": old_hash, "new": new_hash})

    def commit_files(
        self,
        workspace: str,
        repo_slug: str,
        branch: str | None,
        username: str | None,
        files: dict[str, str | bytes | None],
        message: str | None = None,
        parent: str | None = None,
        author_raw: str | None = None,
        actor_uuid: str | None = None,
    ) -> Commit:
        """Commit `files` (None deletes a path) as a user, following `POST /src`'s branch and parent rules."""
        with self.lock:
            repo = self.repository(workspace, repo_slug)
            user = self.user(username) if username else None
            return self._commit_files(repo, branch, user, files, message, parent, author_raw, actor_uuid)

    def _commit_files(
        self,
        repo: Repository,
        branch: str | None,
        user: User | None,
        files: dict[str, str | bytes | None],
        message: str | None,
        parent: str | None,
        author_raw: str | None,
        actor_uuid: str | None = None,
    ) -> Commit:
        target = branch or repo.mainbranch
        if not repo.branches and not repo.commits:
            base_tree: Tree = {}
            parents: list[str] = []
            if branch:
                repo.mainbranch = branch
        elif target in repo.branches:
            tip = repo.branches[target]
            if parent is not None and self.resolve(repo, parent).hash != tip:
                raise WorldError(
                    409,
                    "Commit not created",
                    detail=f"The parent commit {parent} is not the tip of branch {target} ({tip[:12]}).",
                )
            base_tree = repo.commits[tip].tree
            parents = [tip]
        else:
            start = self.resolve(repo, parent) if parent else repo.commits[repo.branches[repo.mainbranch]]
            base_tree = start.tree
            parents = [start.hash]
        tree = dict(base_tree)
        for path, content in files.items():
            path = path.lstrip("/")
            if content is None:
                tree.pop(path, None)
            else:
                tree[path] = content.encode() if isinstance(content, str) else content
        commit = self.make_commit(repo, parents, tree, message or "Edited online with Bitbucket", user, author_raw)
        self.move_branch(repo, target, commit.hash, actor_uuid or (user.uuid if user else None))
        return commit

    # ---- pull requests ---------------------------------------------------------------------------------------
    def touch_pr(self, pr: PullRequest) -> None:
        pr.updated_on = max(self.now(), pr.updated_on + timedelta(microseconds=1))
        pr.rev += 1
        self.version += 1

    def _snapshot(self, pr: PullRequest) -> dict:
        return {
            "state": pr.state,
            "title": pr.title,
            "description": pr.description,
            "reason": pr.reason,
            "author": pr.author_uuid,
            "source": (pr.source_branch, pr.source_hash),
            "destination": (pr.dest_branch, pr.dest_hash),
            "draft": pr.draft,
        }

    def pull_request(self, repo: Repository, pr_id: int) -> PullRequest:
        pr = repo.pullrequests.get(pr_id)
        if pr is None:
            raise WorldError(404, f"Pull request {pr_id} not found.")
        return pr

    def create_pull_request(
        self,
        repo: Repository,
        author_uuid: str,
        title: str,
        source_branch: str,
        dest_branch: str | None = None,
        description: str = "",
        reviewers: list[str] | None = None,
        close_source_branch: bool = False,
        draft: bool = False,
        when: datetime | None = None,
    ) -> PullRequest:
        dest = dest_branch or repo.mainbranch
        if source_branch not in repo.branches:
            raise WorldError(
                400,
                "Bad request",
                detail="You must specify a valid source branch when creating a pull request.",
                fields={"source": ["This field is required."]},
            )
        if dest not in repo.branches:
            raise WorldError(400, "Bad request", detail=f"Branch '{dest}' does not exist.")
        if dest == source_branch:
            raise WorldError(400, "There are no changes to be pulled", fields={"destination": ["Same as source."]})
        if author_uuid in (reviewers or []):
            raise WorldError(
                400,
                f"{self.users[author_uuid].display_name} is the author and cannot be included as a reviewer.",
                fields={"reviewers": ["The author cannot be a reviewer."]},
            )
        now = when or self.now()
        pr = PullRequest(
            id=repo.next_pr_id,
            title=title,
            description=description,
            state="OPEN",
            draft=draft,
            author_uuid=author_uuid,
            source_branch=source_branch,
            source_hash=repo.branches[source_branch],
            dest_branch=dest,
            dest_hash=repo.branches[dest],
            created_on=now,
            updated_on=now,
            close_source_branch=close_source_branch,
        )
        repo.next_pr_id += 1
        for r in reviewers or []:
            self._add_reviewer(pr, r)
        repo.pullrequests[pr.id] = pr
        pr.activity.append({"kind": "update", "date": now, "snapshot": self._snapshot(pr)})
        self.version += 1
        self.emit("pullrequest:created", repo, author_uuid, pullrequest=pr)
        return pr

    def _add_reviewer(self, pr: PullRequest, user_uuid: str) -> None:
        if user_uuid not in pr.reviewers:
            pr.reviewers.append(user_uuid)
        part = pr.participants.get(user_uuid)
        if part is None:
            pr.participants[user_uuid] = Participant(user_uuid, "REVIEWER")
        else:
            part.role = "REVIEWER"

    def update_pull_request(
        self,
        repo: Repository,
        pr: PullRequest,
        actor_uuid: str | None,
        *,
        title: str | None = None,
        description: str | None = None,
        reviewers: list[str] | None = None,
        dest_branch: str | None = None,
        close_source_branch: bool | None = None,
        draft: bool | None = None,
    ) -> PullRequest:
        if pr.state != "OPEN":
            raise WorldError(400, "Only open pull requests can be updated.")
        if title is not None:
            pr.title = title
        if description is not None:
            pr.description = description
        if close_source_branch is not None:
            pr.close_source_branch = close_source_branch
        if draft is not None:
            pr.draft = draft
        if dest_branch is not None and dest_branch != pr.dest_branch:
            if dest_branch not in repo.branches:
                raise WorldError(400, "Bad request", detail=f"Branch '{dest_branch}' does not exist.")
            pr.dest_branch = dest_branch
            pr.dest_hash = repo.branches[dest_branch]
        if reviewers is not None:
            if pr.author_uuid in reviewers:
                raise WorldError(400, "The author cannot be included as a reviewer.")
            for uuid in list(pr.reviewers):
                if uuid not in reviewers:
                    pr.reviewers.remove(uuid)
                    part = pr.participants[uuid]
                    if part.approved or part.state or part.participated_on:
                        part.role = "PARTICIPANT"
                    else:
                        del pr.participants[uuid]
            for uuid in reviewers:
                self._add_reviewer(pr, uuid)
        self.touch_pr(pr)
        pr.activity.append({"kind": "update", "date": pr.updated_on, "snapshot": self._snapshot(pr)})
        self.emit("pullrequest:updated", repo, actor_uuid, pullrequest=pr)
        return pr

    def update_pull_request_title(self, workspace: str, repo_slug: str, pr_id: int, username: str, title: str) -> None:
        with self.lock:
            repo = self.repository(workspace, repo_slug)
            self.update_pull_request(repo, self.pull_request(repo, pr_id), self.user(username).uuid, title=title)

    def set_review(self, repo: Repository, pr: PullRequest, user_uuid: str, state: str | None) -> Participant:
        """approved | changes_requested | None (withdraw); bumps `updated_on`, records activity, fires the hook."""
        if pr.state != "OPEN":
            verb = "approve" if state == "approved" else "request changes on" if state else "change the review of"
            raise WorldError(400, f"You can't {verb} a pull request that is {pr.state.lower()}.")
        part = pr.participants.get(user_uuid)
        if part is None:
            part = pr.participants[user_uuid] = Participant(user_uuid, "PARTICIPANT")
        previous = part.state
        part.state = state
        part.approved = state == "approved"
        part.participated_on = self.now() if state else part.participated_on
        self.touch_pr(pr)
        if state:
            kind = "approval" if state == "approved" else "changes_request"
            pr.activity.append({"kind": kind, "date": self.now(), "user": user_uuid})
            event = "pullrequest:approved" if state == "approved" else "pullrequest:changes_request_created"
            self.emit(event, repo, user_uuid, pullrequest=pr, review={"user": user_uuid, "date": self.now()})
        elif previous:
            event = "pullrequest:unapproved" if previous == "approved" else "pullrequest:changes_request_removed"
            self.emit(event, repo, user_uuid, pullrequest=pr, review={"user": user_uuid, "date": self.now()})
        return part

    def add_comment(
        self,
        repo: Repository,
        pr: PullRequest,
        user_uuid: str,
        raw: str,
        parent_id: int | None = None,
        inline: dict | None = None,
        when: datetime | None = None,
        pending: bool = False,
    ) -> Comment:
        if parent_id is not None and not any(
            c.id == parent_id and (not c.pending or c.user_uuid == user_uuid) for c in pr.comments
        ):
            raise WorldError(400, "Bad request", fields={"parent": [f"Comment {parent_id} does not exist."]})
        now = when or self.now()
        comment = Comment(self.next_comment_id, user_uuid, raw, now, now, parent_id, inline, pending=pending)
        comment.src_rev, comment.dest_rev = pr.source_hash, pr.dest_hash
        self.next_comment_id += 1
        pr.comments.append(comment)
        if pending:
            pr.rev += 1
            self.version += 1
            return comment
        self.record_comment(repo, pr, comment, when)
        return comment

    def record_comment(self, repo: Repository, pr: PullRequest, comment: Comment, when: datetime | None = None) -> None:
        """What a (published) comment does to its PR: participation, activity, `updated_on` and the webhook."""
        now = when or self.now()
        user_uuid = comment.user_uuid
        if user_uuid not in pr.participants:
            pr.participants[user_uuid] = Participant(user_uuid, "PARTICIPANT")
        part = pr.participants[user_uuid]
        if not part.approved:
            part.participated_on = now
        pr.activity.append({"kind": "comment", "date": now, "comment": comment.id})
        if when is None:
            self.touch_pr(pr)
        else:
            pr.updated_on = max(pr.updated_on, now)
            pr.rev += 1
        self.emit("pullrequest:comment_created", repo, user_uuid, pullrequest=pr, comment=comment)

    def conflicts(self, repo: Repository, pr: PullRequest) -> list[str]:
        src, dst = repo.commits[pr.source_hash], repo.commits[pr.dest_hash]
        base = self.merge_base(repo, src.hash, dst.hash)
        try:
            merge_trees(repo.commits[base].tree if base else {}, dst.tree, src.tree)
        except MergeConflict as exc:
            return exc.paths
        return []

    def decline(self, repo: Repository, pr: PullRequest, actor_uuid: str | None, reason: str = "") -> PullRequest:
        if pr.state != "OPEN":
            raise WorldError(400, f"You can't decline a pull request that is {pr.state.lower()}.")
        pr.state = "DECLINED"
        pr.reason = reason
        pr.closed_by = actor_uuid
        pr.closed_on = self.now()
        self.touch_pr(pr)
        pr.activity.append({"kind": "update", "date": pr.updated_on, "snapshot": self._snapshot(pr)})
        self.emit("pullrequest:rejected", repo, actor_uuid, pullrequest=pr)
        return pr

    def check_mergeable(self, repo: Repository, pr: PullRequest, strategy: str) -> None:
        if pr.state != "OPEN":
            raise WorldError(400, f"You can't merge a pull request that is {pr.state.lower()}.")
        if strategy not in MERGE_STRATEGIES:
            raise WorldError(
                400, "Bad request", fields={"merge_strategy": [f"'{strategy}' is not a valid merge strategy."]}
            )
        if pr.source_branch not in repo.branches or pr.dest_branch not in repo.branches:
            raise WorldError(400, "The source or destination branch of this pull request no longer exists.")
        src, dst = pr.source_hash, repo.branches[pr.dest_branch]
        if strategy in ("fast_forward", "squash_fast_forward") and not self.is_ancestor(repo, dst, src):
            raise WorldError(
                400,
                "Unable to fast-forward merge",
                detail=f"The destination branch '{pr.dest_branch}' has commits that are not on the source branch; "
                "a fast-forward merge is not possible.",
            )
        paths = self.conflicts(repo, pr)
        if paths:
            raise WorldError(
                400,
                "Conflicts during merge.",
                detail="You can't merge until you resolve all merge conflicts: " + ", ".join(paths),
            )

    def merge(
        self,
        repo: Repository,
        pr: PullRequest,
        actor_uuid: str | None,
        strategy: str = "merge_commit",
        message: str | None = None,
        close_source_branch: bool | None = None,
    ) -> PullRequest:
        self.check_mergeable(repo, pr, strategy)
        actor = self.users.get(actor_uuid) if actor_uuid else None
        src_hash, dst_hash = pr.source_hash, repo.branches[pr.dest_branch]
        if repo.branches[pr.source_branch] != src_hash:
            raise WorldError(409, "Unable to merge because one of the refs involved changed while attempting to merge")
        src, dst = repo.commits[src_hash], repo.commits[dst_hash]
        base_hash = self.merge_base(repo, src_hash, dst_hash)
        base_tree = repo.commits[base_hash].tree if base_hash else {}
        default_msg = f"Merged in {pr.source_branch} (pull request #{pr.id})\n\n{pr.title}"
        msg = message or default_msg
        if strategy == "merge_commit":
            tree = merge_trees(base_tree, dst.tree, src.tree)
            result = self.make_commit(repo, [dst_hash, src_hash], tree, msg, actor).hash
        elif strategy == "squash":
            tree = merge_trees(base_tree, dst.tree, src.tree)
            squash_msg = message or f"{pr.title} (pull request #{pr.id})\n\n{pr.description}".rstrip()
            result = self.make_commit(repo, [dst_hash], tree, squash_msg, actor).hash
        elif strategy == "fast_forward":
            result = src_hash
        elif strategy == "squash_fast_forward":
            squash_msg = message or f"{pr.title} (pull request #{pr.id})"
            result = self.make_commit(repo, [dst_hash], dict(src.tree), squash_msg, actor).hash
        else:  # rebase_fast_forward | rebase_merge
            rebased = self._rebase(repo, src_hash, dst_hash)
            if strategy == "rebase_fast_forward":
                result = rebased
            else:
                tree = dict(repo.commits[rebased].tree)
                result = self.make_commit(repo, [dst_hash, rebased], tree, msg, actor).hash
        pr.state = "MERGED"
        pr.merge_commit = result
        pr.closed_by = actor_uuid
        pr.closed_on = self.now()
        pr.dest_hash = dst_hash
        self.touch_pr(pr)
        pr.activity.append({"kind": "update", "date": pr.updated_on, "snapshot": self._snapshot(pr)})
        self.move_branch(repo, pr.dest_branch, result, actor_uuid)
        close = pr.close_source_branch if close_source_branch is None else close_source_branch
        pr.close_source_branch = close
        if close and pr.source_branch != repo.mainbranch and pr.source_branch in repo.branches:
            self.delete_branch(repo, pr.source_branch, actor_uuid)
        self.emit("pullrequest:fulfilled", repo, actor_uuid, pullrequest=pr)
        return pr

    def _rebase(self, repo: Repository, src_hash: str, onto: str) -> str:
        """Replay the source-only commits (first-parent chain) onto `onto`; conflicts raise MergeConflict."""
        base_hash = self.merge_base(repo, src_hash, onto)
        chain: list[Commit] = []
        h: str | None = src_hash
        while h and h != base_hash:
            commit = repo.commits[h]
            chain.append(commit)
            h = commit.parents[0] if commit.parents else None
        current = onto
        for commit in reversed(chain):
            before = repo.commits[commit.parents[0]].tree if commit.parents else {}
            tree = merge_trees(before, repo.commits[current].tree, commit.tree)
            author = self.users.get(commit.author_uuid) if commit.author_uuid else None
            current = self.make_commit(repo, [current], tree, commit.message, author, commit.author_raw).hash
        return current

    def delete_branch(self, repo: Repository, name: str, actor_uuid: str | None) -> None:
        if name not in repo.branches:
            raise WorldError(404, f"Branch not found: {name}")
        if name == repo.mainbranch:
            raise WorldError(
                400, "You can't delete the main branch.", detail=f"'{name}' is the repository's main branch."
            )
        self.move_branch(repo, name, None, actor_uuid)

    def create_branch(self, repo: Repository, name: str, target: str, actor_uuid: str | None) -> None:
        if not name or name.startswith("/") or name.endswith("/") or ".." in name or " " in name:
            raise WorldError(400, "Bad request", fields={"name": [f"'{name}' is not a valid branch name."]})
        if name in repo.branches:
            raise WorldError(400, f"Branch '{name}' already exists.", fields={"name": ["Branch already exists."]})
        commit = self.resolve(repo, target)
        self.move_branch(repo, name, commit.hash, actor_uuid)

    # ---- test-facing mutations (also under /_emulator/world/) ------------------------------------------------
    def rename_repository(self, workspace: str, repo_slug: str, new_name: str) -> str:
        """Rename (same uuid); returns the new slug."""
        with self.lock:
            repo = self.repository(workspace, repo_slug)
            repo.name = new_name
            repo.slug = slugify(new_name)
            repo.updated_on = self.now()
            repo.rev += 1
            for pr in repo.pullrequests.values():
                pr.rev += 1
            self.version += 1
            return repo.slug

    def make_conflict(self, workspace: str, repo_slug: str, pr_id: int, username: str | None = None) -> Commit:
        """Commit to a pull request's destination branch a change that conflicts with its source: a file the source
        changed since their merge base gets other content on the destination (a demo and test control)."""
        with self.lock:
            repo = self.repository(workspace, repo_slug)
            pr = self.pull_request(repo, int(pr_id))
            if pr.state != "OPEN":
                raise WorldError(400, f"Pull request {pr_id} is {pr.state.lower()}.")
            src = repo.commits[pr.source_hash]
            base_hash = self.merge_base(repo, pr.source_hash, repo.branches[pr.dest_branch])
            base = repo.commits[base_hash].tree if base_hash else {}
            changed = [p for p in sorted(set(base) | set(src.tree)) if base.get(p) != src.tree.get(p)]
            path = next((p for p in changed if p in src.tree), changed[0] if changed else "CONFLICT.md")
            content = f"Changed on {pr.dest_branch} while pull request #{pr.id} was open.\n"
            user = self.user(username) if username else self.users.get(pr.author_uuid)
            return self._commit_files(
                repo, pr.dest_branch, user, {path: content}, f"Change {path} on {pr.dest_branch}", None, None
            )

    def delete_repository(self, workspace: str, repo_slug: str) -> None:
        with self.lock:
            repo = self.repository(workspace, repo_slug)
            del self.repositories[repo.uuid]
            self.version += 1

    def add_member(self, workspace: str, username: str, role: str = "member") -> None:
        with self.lock:
            ws, user = self.workspace(workspace), self.user(username)
            ws.members[user.uuid] = role
            ws.member_since.setdefault(user.uuid, self.now())
            self.version += 1

    def remove_member(self, workspace: str, username: str) -> None:
        with self.lock:
            ws, user = self.workspace(workspace), self.user(username)
            ws.members.pop(user.uuid, None)
            ws.member_since.pop(user.uuid, None)
            for repo in self.repos_in(ws):
                repo.permissions.pop(user.uuid, None)
            self.version += 1

    def grant(self, workspace: str, repo_slug: str, username: str, permission: str) -> None:
        if permission not in ("read", "write", "admin"):
            raise WorldError(400, f"Unknown permission {permission!r}")
        with self.lock:
            repo, user = self.repository(workspace, repo_slug), self.user(username)
            repo.permissions[user.uuid] = permission
            self.version += 1

    def revoke(self, workspace: str, repo_slug: str, username: str) -> None:
        with self.lock:
            repo, user = self.repository(workspace, repo_slug), self.user(username)
            repo.permissions.pop(user.uuid, None)
            self.version += 1

    def add_watcher(self, workspace: str, repo_slug: str, username: str) -> None:
        with self.lock:
            repo, user = self.repository(workspace, repo_slug), self.user(username)
            if user.uuid not in repo.watchers:
                repo.watchers.append(user.uuid)
            self.version += 1

    def remove_watcher(self, workspace: str, repo_slug: str, username: str) -> None:
        with self.lock:
            repo, user = self.repository(workspace, repo_slug), self.user(username)
            if user.uuid in repo.watchers:
                repo.watchers.remove(user.uuid)
            self.version += 1

    def time_travel(self, seconds: float) -> str:
        """Shift "now" by `seconds` (negative goes back); returns the new now."""
        with self.lock:
            self.clock.shift(seconds)
            self.version += 1  # the state file keeps the offset
            return ids.fmt_time(self.now()) or ""

    def replace_with(self, other: World) -> None:
        """Take over another world's contents, keeping this one's lock, listeners, address and switches."""
        with self.lock:
            # The Data Center site's listeners (its webhook sender) stay too, on the site that replaces it.
            dc_listeners = self.datacenter.listeners if self.datacenter is not None else []
            if other.datacenter is not None and dc_listeners:
                other.datacenter.listeners = dc_listeners
            for name in (
                "users",
                "access_tokens",
                "workspaces",
                "repositories",
                "merge_tasks",
                "next_comment_id",
                "datacenter",
            ):
                setattr(self, name, getattr(other, name))
            self.clock = Clock()
            self.cache = {}
            self.version += 1

    # ---- events ----------------------------------------------------------------------------------------------
    def emit(self, event: str, repo: Repository, actor_uuid: str | None, **objects) -> None:
        for listener in self.listeners:
            listener(event, repo, actor_uuid, **objects)
