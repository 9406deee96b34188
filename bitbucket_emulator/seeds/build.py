"""A world from a seed document (the format is in README.md, "Seed files"), and the steps the `scale` seed reuses.

Everything a seed makes is derived from names and a fixed clock, so the same seed gives the same uuids, hashes and
tokens on every start.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..world import branching, ids, insights, restrictions, statuses, tasks
from ..world.objects import (
    ALL_API_SCOPES,
    ALL_LEGACY_SCOPES,
    AccessToken,
    Project,
    PullRequest,
    Repository,
    User,
    Workspace,
)
from ..world.state import World
from .datacenter import build_datacenter

EPOCH = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


class SteppingClock:
    """A seed's clock: frozen between steps, moved forward by the seeder so timestamps are reproducible."""

    def __init__(self, start: datetime):
        self.current = start
        self.offset = timedelta()

    def now(self) -> datetime:
        return self.current

    def step(self, minutes: float) -> None:
        self.current += timedelta(minutes=minutes)

    def shift(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


# ---- building a world from a seed document ---------------------------------------------------------------------
def build_world(spec: dict[str, Any], epoch: datetime = EPOCH) -> World:
    """Make a world from the documented seed format (see README.md, "Seed files")."""
    world = World()
    real_clock = world.clock
    clock = SteppingClock(epoch)
    world.clock = clock

    for u in spec.get("users", []):
        username = u["username"]
        uuid = u.get("uuid") or ids.det_uuid("user", username)
        world.users[uuid] = User(
            uuid=uuid,
            account_id=u.get("account_id") or ids.account_id_for(uuid),
            username=username,
            display_name=u.get("display_name", username.title()),
            email=u.get("email", f"{username}@example.test"),
            api_token=u.get("api_token") or ids.api_token_for(username),
            app_password=u.get("app_password") or ids.app_password_for(username),
            created_on=epoch - timedelta(days=400),
            api_token_scopes=list(u.get("api_token_scopes") or ALL_API_SCOPES),
            app_password_scopes=list(u.get("app_password_scopes") or ALL_LEGACY_SCOPES),
        )

    for w in spec.get("workspaces", []):
        slug = w["slug"]
        ws = Workspace(
            uuid=w.get("uuid") or ids.det_uuid("workspace", slug),
            slug=slug,
            name=w.get("name", slug.title()),
            is_private=w.get("is_private", True),
            created_on=epoch - timedelta(days=365),
            updated_on=epoch - timedelta(days=30),
        )
        for username, role in w.get("members", {}).items():
            user = world.user(username)
            ws.members[user.uuid] = role
            ws.member_since[user.uuid] = epoch - timedelta(days=300)
        for p in w.get("projects", []):
            ws.projects[p["key"]] = Project(
                uuid=p.get("uuid") or ids.det_uuid("project", slug, p["key"]),
                key=p["key"],
                name=p.get("name", p["key"]),
                description=p.get("description", ""),
                is_private=p.get("is_private", True),
                created_on=epoch - timedelta(days=200),
                updated_on=epoch - timedelta(days=20),
                default_reviewers=[world.user(u).uuid for u in p.get("default_reviewers", [])],
            )
        world.workspaces[ws.uuid] = ws

    for r in spec.get("repositories", []):
        build_repository(world, clock, r)

    for t in spec.get("access_tokens", []):
        build_token(world, t, epoch)

    if spec.get("datacenter"):
        build_datacenter(world, spec["datacenter"], epoch)

    world.clock = real_clock
    world.version = 0
    return world


def build_token(world: World, t: dict, epoch: datetime) -> None:
    kind, scope = t["scope_kind"], t["scope"]
    if kind not in ("workspace", "project", "repository"):
        raise ValueError(f"access token {t.get('name')}: scope_kind must be workspace, project or repository")
    ws_slug, _, rest = scope.partition("/")
    ws = world.workspace(ws_slug)
    project_key = rest if kind == "project" else None
    repo_uuid = world.repository(ws_slug, rest).uuid if kind == "repository" else None
    name = t.get("name") or f"{scope} token"
    token = t.get("token") or ids.access_token_for(name)
    world.access_tokens[token] = AccessToken(
        token=token,
        name=name,
        uuid=ids.det_uuid("access-token", name),
        scope_kind=kind,
        workspace_uuid=ws.uuid,
        project_key=project_key,
        repository_uuid=repo_uuid,
        scopes=list(t.get("scopes") or ["repository", "pullrequest"]),
        created_on=epoch - timedelta(days=10),
    )


def build_repository(world: World, clock: SteppingClock, r: dict) -> Repository:
    ws = world.workspace(r["workspace"])
    slug = r.get("slug") or r["name"].lower().replace(" ", "-")
    repo = Repository(
        uuid=r.get("uuid") or ids.det_uuid("repository", ws.slug, slug),
        workspace_uuid=ws.uuid,
        slug=slug,
        name=r.get("name", slug),
        description=r.get("description", ""),
        is_private=r.get("is_private", True),
        project_key=r.get("project"),
        language=r.get("language", ""),
        created_on=clock.now(),
        updated_on=clock.now(),
        mainbranch=r.get("mainbranch", "main"),
    )
    world.repositories[repo.uuid] = repo
    for username, perm in r.get("permissions", {}).items():
        repo.permissions[world.user(username).uuid] = perm
    repo.watchers = [world.user(u).uuid for u in r.get("watchers", [])]
    repo.default_reviewers = [world.user(u).uuid for u in r.get("default_reviewers", [])]

    def commit(branch: str, c: dict) -> None:
        clock.step(c.get("minutes", 47))
        author = world.user(c["author"]) if c.get("author") else None
        world._commit_files(repo, branch, author, c.get("files", {}), c.get("message"), None, None)

    first_author = r.get("author") or next(
        (world.users[u].username for u, role in ws.members.items() if role == "owner"), None
    )
    if r.get("files"):
        commit(repo.mainbranch, {"author": first_author, "message": "Initial commit", "files": r["files"]})
    for b in r.get("branches", []):
        clock.step(13)
        start = world.resolve(repo, b.get("from", repo.mainbranch)).hash
        world.move_branch(repo, b["name"], start, None)
        for c in b.get("commits", []):
            commit(b["name"], c)
    for c in r.get("commits", []):
        commit(c.get("branch", repo.mainbranch), c)
    for p in r.get("pull_requests", []):
        _build_pull_request(world, clock, repo, p)
    for name, ref in r.get("tags", {}).items():
        repo.tags[name] = world.resolve(repo, ref).hash
    if r.get("branching_model"):
        branching.update(repo, r["branching_model"])
    for rule in r.get("branch_restrictions", []):
        users = [{"uuid": world.user(u).uuid} for u in rule.get("users", [])]
        restrictions.create(world, repo, {**rule, **({"users": users} if "users" in rule else {})})
    return repo


def _build_tasks_and_reports(world: World, repo: Repository, pr: PullRequest, p: dict) -> None:
    """The pull request's tasks (`comment` is the index of the comment they hang on) and its source tip's Code
    Insights reports with their annotations. The clock does not move for them: the histories stay as they were."""
    for t in p.get("tasks", []):
        anchor = pr.comments[t["comment"]].id if "comment" in t else None
        task = tasks.add(world, repo, pr, world.user(t["author"]).uuid, t["text"], comment_id=anchor)
        if t.get("resolved_by"):
            tasks.update(world, pr, task, world.user(t["resolved_by"]).uuid, state="RESOLVED")
    for r in p.get("reports", []):
        body = {k: v for k, v in r.items() if k != "annotations"}
        report = insights.put_report(world, repo, pr.source_hash, r["external_id"], body)
        report.uuid = ids.det_uuid("report", report.commit, r["external_id"])  # reproducible, like every seeded id
        if r.get("annotations"):
            for i, a in enumerate(insights.add_annotations(world, report, r["annotations"])):
                a.uuid = ids.det_uuid("annotation", report.uuid, a.external_id or str(i))


def _build_pull_request(world: World, clock: SteppingClock, repo: Repository, p: dict) -> None:
    for c in p.get("commits", []):
        clock.step(c.get("minutes", 31))
        author = world.user(c.get("author") or p["author"])
        world._commit_files(repo, p["source"], author, c.get("files", {}), c.get("message"), None, None)
    clock.step(p.get("minutes", 540))
    author = world.user(p["author"])
    pr = world.create_pull_request(
        repo,
        author.uuid,
        p["title"],
        p["source"],
        p.get("destination"),
        description=p.get("description", ""),
        reviewers=[world.user(u).uuid for u in p.get("reviewers", [])],
        close_source_branch=p.get("close_source_branch", False),
        draft=p.get("draft", False),
    )
    for c in p.get("comments", []):
        clock.step(c.get("minutes", 22))
        parent = pr.comments[c["reply_to"]].id if "reply_to" in c else None
        inline = c.get("inline")
        world.add_comment(repo, pr, world.user(c["author"]).uuid, c["text"], parent_id=parent, inline=inline)
    for u in p.get("changes_requested", []):
        clock.step(17)
        world.set_review(repo, pr, world.user(u).uuid, "changes_requested")
    for u in p.get("approvals", []):
        clock.step(29)
        world.set_review(repo, pr, world.user(u).uuid, "approved")
    pushed = 0.0
    for c in p.get("pushes", []):
        # Commits pushed after the review: what "changes since your last review" shows, and what outdates comments.
        pushed += c.get("minutes", 47)
        clock.step(c.get("minutes", 47))
        author = world.user(c.get("author") or p["author"])
        world._commit_files(repo, p["source"], author, c.get("files", {}), c.get("message"), None, None)
    clock.step(-pushed)  # as the builds below: the rest of the seed keeps its timestamps (and so its hashes)
    elapsed = 0.0
    for st in p.get("statuses", []):
        # A CI's build of the source tip, reported for the source branch (what makes it count for the PR).
        elapsed += st.get("minutes", 3)
        clock.step(st.get("minutes", 3))
        values = {"refname": p["source"], **{k: v for k, v in st.items() if k != "minutes"}}
        statuses.write(world, repo, pr.source_hash, values, None)
    clock.step(-elapsed)  # builds run beside the review: every later timestamp of the seed stays where it was
    _build_tasks_and_reports(world, repo, pr, p)
    state = p.get("state", "OPEN")
    clock.step(41)
    closer = world.user(p.get("closed_by") or p["author"]).uuid
    if state == "MERGED":
        world.merge(repo, pr, closer, p.get("merge_strategy", "merge_commit"), None, p.get("close_source_branch"))
    elif state == "DECLINED":
        world.decline(repo, pr, closer, reason=p.get("reason", ""))
    elif state == "SUPERSEDED":
        pr.state = "SUPERSEDED"
        pr.closed_by = closer
        pr.closed_on = world.now()
        world.touch_pr(pr)
    elif state != "OPEN":
        raise ValueError(f"pull request {p['title']!r}: unknown state {state}")
