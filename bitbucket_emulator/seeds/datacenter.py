"""A Data Center site from a seed document's `datacenter` section (format in README.md, "Data Center"), and the
demo's site: project PLAT and alice's personal project `~alice`.

Like the Cloud seed, everything is derived from names and a stepping clock, so hashes, ids and tokens are the same
on every start. The Cloud world is not touched (its commit hashes are pinned by tests).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..world import ids
from ..world.datacenter import (
    PARTICIPANT_STATUSES,
    PROJECT_PERMISSIONS,
    REPO_PERMISSIONS,
    TOKEN_KINDS,
    DataCenterSite,
    DcComment,
    DcParticipant,
    DcProject,
    DcPullRequest,
    DcRepository,
    DcToken,
    DcUser,
)
from ..world.merge import merge_trees
from ..world.objects import Repository
from ..world.state import World


class _Clock:
    def __init__(self, start: datetime):
        self.now = start

    def step(self, minutes: float) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


def build_datacenter(world: World, spec: dict[str, Any], epoch: datetime) -> DataCenterSite:
    """Attach a Data Center site built from `spec` to `world` and return it."""
    site = DataCenterSite(context_path=spec.get("context_path", "/bitbucket"))
    if not site.context_path.startswith("/") or site.context_path.endswith("/"):
        raise ValueError("datacenter.context_path must start with / and not end with one")
    clock = _Clock(epoch - timedelta(days=60))
    for u in spec.get("users", []):
        name = u["name"]
        slug = u.get("slug", name.lower())
        site.users[slug] = DcUser(
            id=site.allocate_id(),
            name=name,
            slug=slug,
            display_name=u.get("display_name", name.title()),
            email=u.get("email", f"{slug}@example.test"),
            password=u.get("password") or ids.dc_password_for(name),
            uuid=ids.det_uuid("dc-user", slug),
            sysadmin=u.get("sysadmin", False),
        )
    for p in spec.get("projects", []):
        key = p["key"]
        owner = key[1:] if key.startswith("~") else None
        if owner is not None and owner not in site.users:
            raise ValueError(f"personal project {key}: no user {owner}")
        for slug, perm in p.get("permissions", {}).items():
            if perm not in PROJECT_PERMISSIONS or slug not in site.users:
                raise ValueError(f"project {key}: bad permission {slug}={perm}")
        site.projects[key] = DcProject(
            id=site.allocate_id(),
            key=key,
            name=p.get("name") or (site.users[owner].display_name if owner else key),
            description=p.get("description", ""),
            public=p.get("public", False),
            owner_slug=owner,
            permissions=dict(p.get("permissions", {})),
        )
    for r in spec.get("repositories", []):
        _build_repository(world, site, clock, r)
    for t in spec.get("tokens", []):
        _build_token(site, t, epoch)
    for b in spec.get("builds", []):
        _build_status(site, clock, b)
    world.datacenter = site
    return site


def _build_status(site: DataCenterSite, clock: _Clock, b: dict) -> None:
    """A build status posted for a pull request's source commit (`repository` `KEY/slug`, `pull_request` id)."""
    key, slug = b["repository"].split("/", 1)
    pr = site.pull_request(site.repository(key, slug), b["pull_request"])
    site.post_build(
        pr.from_hash,
        key=b["key"],
        state=b["state"],
        url=b.get("url") or f"https://ci.example.test/{slug}/{b['key']}",
        name=b.get("name", b["key"]),
        description=b.get("description", ""),
        when=clock.step(b.get("minutes", 3)),
    )


def _build_token(site: DataCenterSite, t: dict, epoch: datetime) -> None:
    kind, name = t["kind"], t["name"]
    if kind not in TOKEN_KINDS:
        raise ValueError(f"token {name}: kind must be one of {TOKEN_KINDS}")
    allowed = REPO_PERMISSIONS if kind == "repository" else PROJECT_PERMISSIONS + REPO_PERMISSIONS
    perms = list(t.get("permissions", ["REPO_READ"]))
    if not perms or any(p not in allowed for p in perms):
        raise ValueError(f"token {name}: permissions must be among {allowed}")
    token = DcToken(
        id=str(100000000000 + len(site.tokens) + 1),
        token=t.get("token") or ids.dc_token_for(name),
        name=name,
        kind=kind,
        permissions=perms,
        created=epoch - timedelta(days=5),
    )
    if kind == "personal":
        token.owner_slug = site.user(t["owner"]).slug
    else:
        key, _, slug = t["scope"].partition("/")
        token.project_key = site.project(key).key
        if kind == "repository":
            token.repo_slug = site.repository(key, slug).slug
        service_slug = f"{kind}-token-{name}".lower().replace(" ", "-")
        # Project and repository tokens act as a service user of their own (reference §7.3 `type: SERVICE`).
        token.service_user = DcUser(
            id=site.allocate_id(),
            name=service_slug,
            slug=service_slug,
            display_name=name,
            email="",
            password="",
            uuid=ids.det_uuid("dc-service-user", name),
            user_type="SERVICE",
        )
    site.tokens[token.token] = token


def _commit(world: World, site: DataCenterSite, git: Repository, clock: _Clock, branch: str, c: dict) -> str:
    when = clock.step(c.get("minutes", 41))
    author = site.user(c["author"])
    parent = git.branches.get(branch)
    tree = dict(git.commits[parent].tree) if parent else {}
    for path, content in c.get("files", {}).items():
        if content is None:
            tree.pop(path, None)
        else:
            tree[path] = content.encode() if isinstance(content, str) else content
    raw = f"{author.display_name} <{author.email}>"
    commit = World.make_commit(world, git, [parent] if parent else [], tree, c["message"], None, raw, when)
    commit.author_uuid = author.uuid
    git.branches[branch] = commit.hash
    return commit.hash


def _build_repository(world: World, site: DataCenterSite, clock: _Clock, r: dict) -> None:
    project = site.project(r["project"])
    slug = r.get("slug") or r["name"].lower().replace(" ", "-")
    git = Repository(
        uuid=ids.det_uuid("dc-repository", project.key, slug),
        workspace_uuid="",
        slug=slug,
        name=r.get("name", slug),
        description=r.get("description", ""),
        is_private=not r.get("public", False),
        project_key=project.key,
        language="",
        created_on=clock.now,
        updated_on=clock.now,
        mainbranch=r.get("default_branch", "main"),
    )
    for uslug, perm in r.get("permissions", {}).items():
        if perm not in REPO_PERMISSIONS or uslug not in site.users:
            raise ValueError(f"repository {project.key}/{slug}: bad permission {uslug}={perm}")
    repo = DcRepository(
        id=site.allocate_id(),
        slug=slug,
        name=git.name,
        project_key=project.key,
        git=git,
        description=git.description,
        public=r.get("public", False),
        archived=r.get("archived", False),
        permissions=dict(r.get("permissions", {})),
    )
    site.repositories.append(repo)
    owner = project.owner_slug or next(iter(project.permissions), None) or next(iter(site.users))
    if r.get("files"):
        _commit(
            world, site, git, clock, git.mainbranch, {"author": owner, "message": "Initial commit", "files": r["files"]}
        )
    for b in r.get("branches", []):
        clock.step(11)
        git.branches[b["name"]] = World.resolve(world, git, b.get("from", git.mainbranch)).hash
        for c in b.get("commits", []):
            _commit(world, site, git, clock, b["name"], c)
    for c in r.get("commits", []):
        _commit(world, site, git, clock, c.get("branch", git.mainbranch), c)
    for name, ref in r.get("tags", {}).items():
        git.tags[name] = World.resolve(world, git, ref).hash
    for p in r.get("pull_requests", []):
        _build_pull_request(world, site, clock, repo, p)


def _participant(site: DataCenterSite, slug: str, role: str, status: str, when: datetime, tip: str) -> DcParticipant:
    if status not in PARTICIPANT_STATUSES:
        raise ValueError(f"participant {slug}: status must be one of {PARTICIPANT_STATUSES}")
    reviewed = status != "UNAPPROVED"
    return DcParticipant(site.user(slug).slug, role, status, tip if reviewed else None, when if reviewed else None)


def _build_pull_request(world: World, site: DataCenterSite, clock: _Clock, repo: DcRepository, p: dict) -> None:
    git = repo.git
    created = clock.step(p.get("minutes", 23))
    source, target = p["from"], p.get("to", git.mainbranch)
    pr = DcPullRequest(
        id=len(repo.pull_requests) + 1,
        title=p["title"],
        description=p.get("description", ""),
        state="OPEN",
        from_branch=source,
        from_hash=git.branches[source],
        to_branch=target,
        to_hash=git.branches[target],
        created=created,
        updated=created,
        author=DcParticipant(site.user(p["author"]).slug, "AUTHOR"),
        draft=p.get("draft", False),
    )
    repo.pull_requests[pr.id] = pr
    for slug, status in p.get("reviewers", {}).items():
        # A reviewer's status is the participant's, not an update of the pull request: `version` stays.
        pr.reviewers.append(_participant(site, slug, "REVIEWER", status, clock.step(17), pr.from_hash))
    for slug, status in p.get("participants", {}).items():
        pr.participants.append(_participant(site, slug, "PARTICIPANT", status, clock.step(9), pr.from_hash))
    for c in p.get("comments", []):
        when = clock.step(c.get("minutes", 12))
        root = DcComment(_next_comment(site), site.user(c["author"]).slug, c["text"], when, when)
        root.severity = c.get("severity", "NORMAL")
        root.state = c.get("state", "OPEN")
        if c.get("path"):
            base = World.merge_base(world, git, pr.from_hash, pr.to_hash) or pr.to_hash
            root.anchor = {
                "fromHash": base,
                "toHash": pr.from_hash,
                "line": c["line"],
                "lineType": c.get("line_type", "ADDED"),
                "fileType": "TO",
                "path": c["path"],
                "diffType": "EFFECTIVE",
                "orphaned": False,
            }
        for reply in c.get("replies", []):
            rwhen = clock.step(7)
            root.replies.append(
                DcComment(_next_comment(site), site.user(reply["author"]).slug, reply["text"], rwhen, rwhen)
            )
        pr.comments.append(root)
        commenter_slugs = {x.user_slug for x in pr.everyone()}
        for who in [root.author_slug, *(x.author_slug for x in root.replies)]:
            if who not in commenter_slugs:
                pr.participants.append(DcParticipant(who, "PARTICIPANT"))
                commenter_slugs.add(who)
    state = p.get("state", "OPEN")
    if state == "MERGED":
        closed = clock.step(30)
        merge_base = World.merge_base(world, git, pr.from_hash, pr.to_hash)
        tree = merge_trees(
            git.commits[merge_base].tree if merge_base else {},
            git.commits[pr.to_hash].tree,
            git.commits[pr.from_hash].tree,
        )
        merger = site.user(p.get("merged_by", p["author"]))
        message = f"Merge pull request #{pr.id} in {repo.project_key}/{repo.slug} from {source} to {target}"
        raw = f"{merger.display_name} <{merger.email}>"
        mc = World.make_commit(world, git, [pr.to_hash, pr.from_hash], tree, message, None, raw, closed)
        mc.author_uuid = merger.uuid
        git.branches[target] = mc.hash
        pr.merge_commit, pr.state, pr.closed, pr.updated = mc.hash, "MERGED", closed, closed
        pr.version += 1
    elif state == "DECLINED":
        closed = clock.step(30)
        pr.state, pr.closed, pr.updated = "DECLINED", closed, closed
        pr.version += 1
    else:
        pr.updated = clock.now


def _next_comment(site: DataCenterSite) -> int:
    return site.allocate_id()


def demo_datacenter_spec() -> dict[str, Any]:
    """The demo's Data Center site: project PLAT (three repositories, one archived) and `~alice` (personal)."""
    timeout_gateway = "import os\n\nTIMEOUT = 30\n\n\ndef route(path):\n    return os.path.join('/svc', path)\n"
    gateway_files = {
        "README.md": "# api-gateway\n\nRoutes requests to the platform's services.\n",
        "src/gateway.py": "import os\n\n\ndef route(path):\n    return os.path.join('/svc', path)\n",
        "src/limits.py": "LIMIT = 100\n",
    }
    return {
        "context_path": "/bitbucket",
        "users": [
            {"name": "alice", "display_name": "Alice Anders"},
            {"name": "bob", "display_name": "Bob Berg"},
            {"name": "carol", "display_name": "Carol Chen"},
            {"name": "dave", "display_name": "Dave Dunn"},
            {"name": "admin", "display_name": "Site Admin", "sysadmin": True},
        ],
        "projects": [
            {
                "key": "PLAT",
                "name": "Platform",
                "description": "Shared platform services",
                "permissions": {"alice": "PROJECT_ADMIN", "bob": "PROJECT_WRITE", "carol": "PROJECT_READ"},
            },
            {"key": "~alice"},
        ],
        "repositories": [
            {
                "project": "PLAT",
                "name": "api-gateway",
                "description": "The platform's front door",
                "files": gateway_files,
                "branches": [
                    {
                        "name": "feature/rate-limits",
                        "commits": [
                            {
                                "author": "bob",
                                "message": "Raise the rate limit",
                                "files": {"src/limits.py": "LIMIT = 500\nBURST = 60\n"},
                            },
                            {
                                "author": "bob",
                                "message": "Document the limits",
                                "files": {"docs/limits.md": "# Limits\n\n500 per minute.\n"},
                            },
                        ],
                    },
                    {
                        "name": "bugfix/timeout",
                        "commits": [
                            {
                                "author": "carol",
                                "message": "Time out slow routes",
                                "files": {"src/gateway.py": timeout_gateway},
                            }
                        ],
                    },
                    {
                        "name": "feature/health",
                        "commits": [
                            {
                                "author": "alice",
                                "message": "Add a health check",
                                "files": {"src/health.py": "def ok():\n    return True\n"},
                            }
                        ],
                    },
                ],
                "tags": {"v1.0.0": "main"},
                "pull_requests": [
                    {
                        "title": "Add a health check",
                        "from": "feature/health",
                        "author": "alice",
                        "reviewers": {"bob": "APPROVED"},
                        "state": "MERGED",
                        "merged_by": "alice",
                    },
                    {
                        "title": "Raise the rate limit to 500",
                        "description": "Clients hit the old limit every morning.",
                        "from": "feature/rate-limits",
                        "author": "bob",
                        "reviewers": {"alice": "APPROVED", "carol": "NEEDS_WORK"},
                        "comments": [
                            {
                                "author": "carol",
                                "text": "Is 500 safe for the auth service?",
                                "path": "src/limits.py",
                                "line": 1,
                                "replies": [{"author": "bob", "text": "Yes, it was load tested at 800."}],
                            },
                            {"author": "carol", "text": "Add a changelog entry", "severity": "BLOCKER"},
                        ],
                    },
                    {
                        "title": "Time out slow routes",
                        "from": "bugfix/timeout",
                        "author": "carol",
                        "reviewers": {"alice": "UNAPPROVED", "dave": "UNAPPROVED"},
                        "draft": True,
                    },
                ],
                "permissions": {"dave": "REPO_READ"},
            },
            {
                "project": "PLAT",
                "name": "deploy-tools",
                "files": {"deploy.sh": "#!/bin/sh\necho deploying\n"},
                "branches": [
                    {
                        "name": "feature/rollback",
                        "commits": [
                            {
                                "author": "alice",
                                "message": "Add rollback",
                                "files": {"rollback.sh": "#!/bin/sh\necho rolling back\n"},
                            }
                        ],
                    }
                ],
                "pull_requests": [
                    {
                        "title": "Add rollback",
                        "from": "feature/rollback",
                        "author": "alice",
                        "reviewers": {"bob": "UNAPPROVED"},
                        "state": "DECLINED",
                    }
                ],
            },
            {"project": "PLAT", "name": "legacy-scripts", "archived": True, "files": {"old.sh": "#!/bin/sh\n"}},
            {
                "project": "~alice",
                "name": "dotfiles",
                "files": {".vimrc": "set number\n", ".bashrc": "export EDITOR=vim\n"},
                "branches": [
                    {
                        "name": "tmux",
                        "commits": [
                            {
                                "author": "alice",
                                "message": "Add tmux config",
                                "files": {".tmux.conf": "set -g mouse on\n"},
                            }
                        ],
                    }
                ],
                "pull_requests": [{"title": "Add tmux config", "from": "tmux", "author": "alice"}],
            },
        ],
        "tokens": [
            {
                "kind": "personal",
                "name": "alice-admin",
                "owner": "alice",
                "permissions": ["PROJECT_ADMIN", "REPO_ADMIN"],
            },
            {"kind": "personal", "name": "bob-read", "owner": "bob", "permissions": ["PROJECT_READ", "REPO_READ"]},
            {"kind": "project", "name": "plat-ci", "scope": "PLAT", "permissions": ["PROJECT_READ", "REPO_READ"]},
            {"kind": "repository", "name": "gateway-ci", "scope": "PLAT/api-gateway", "permissions": ["REPO_READ"]},
        ],
        "builds": [
            {
                "repository": "PLAT/api-gateway",
                "pull_request": 2,
                "key": "GW-UNIT",
                "name": "api-gateway unit tests #41",
                "state": "SUCCESSFUL",
                "description": "212 tests passed",
            },
            {
                "repository": "PLAT/api-gateway",
                "pull_request": 2,
                "key": "GW-LINT",
                "name": "api-gateway lint #41",
                "state": "INPROGRESS",
            },
            {
                "repository": "PLAT/api-gateway",
                "pull_request": 3,
                "key": "GW-UNIT",
                "name": "api-gateway unit tests #42",
                "state": "FAILED",
                "description": "2 tests failed",
            },
        ],
    }
