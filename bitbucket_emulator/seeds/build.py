"""Worlds to start from: `demo`, `scale` and user-supplied seed files (the format is in README.md).

Everything a seed makes is derived from names and a fixed clock, so the same seed gives the same uuids, hashes and
tokens on every start.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ..world import ids
from ..world.objects import (
    ALL_API_SCOPES,
    ALL_LEGACY_SCOPES,
    AccessToken,
    Project,
    Repository,
    User,
    Workspace,
    WorldError,
)
from ..world.state import World
from . import demo_content as seed_content

EPOCH = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

WORKSPACE_TOKEN_SCOPES = [
    "project",
    "project:admin",
    "account",
    "repository",
    "repository:write",
    "repository:admin",
    "pullrequest",
    "pullrequest:write",
    "webhook",
]


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
    world.clock = clock  # type: ignore[assignment]

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
        _build_repository(world, clock, r)

    for t in spec.get("access_tokens", []):
        _build_token(world, t, epoch)

    world.clock = real_clock
    world.version = 0
    return world


def _build_token(world: World, t: dict, epoch: datetime) -> None:
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


def _build_repository(world: World, clock: SteppingClock, r: dict) -> Repository:
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
    return repo


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


# ---- the demo seed ---------------------------------------------------------------------------------------------
DEMO_USERS = [
    ("alice", "Alice Adams"),
    ("bob", "Bob Brown"),
    ("carol", "Carol Chen"),
    ("dave", "Dave Diaz"),
    ("erin", "Erin Evans"),
    ("frank", "Frank Fischer"),
    ("grace", "Grace Green"),
    ("heidi", "Heidi Hoffmann"),
]


def _feature(title: str, path: str, body: str, author: str, **extra) -> dict:
    slug = title.lower().replace(" ", "-").replace("'", "")[:40].strip("-")
    return {
        "title": title,
        "source": f"feature/{slug}",
        "author": author,
        "commits": [{"message": title, "files": {path: body}}],
        **extra,
    }


def demo_spec() -> dict:
    users = [{"username": u, "display_name": n, "email": f"{u}@acme.test"} for u, n in DEMO_USERS]
    members = {"alice": "owner", "erin": "owner"} | {u: "member" for u, _ in DEMO_USERS if u not in ("alice", "erin")}
    writers = {"bob": "write", "carol": "write", "dave": "write", "frank": "write", "grace": "read", "heidi": "write"}

    def prs(lang: str, items: list[tuple]) -> list[dict]:
        out = []
        for i, (title, author, state, reviewers, approvals, changes, comments) in enumerate(items):
            ext = {"py": "py", "js": "js", "md": "md", "tf": "tf", "ts": "ts"}[lang]
            folder = {
                "py": "src/api_server",
                "js": "src/features",
                "md": "guides",
                "tf": "terraform/modules",
                "ts": "src/screens",
            }[lang]
            name = title.lower().replace(" ", "_").replace("'", "")[:30]
            content = _content_for(lang, title, i)
            pr = _feature(title, f"{folder}/{name}.{ext}", content, author)
            pr.update(
                {
                    "state": state,
                    "reviewers": reviewers,
                    "approvals": approvals,
                    "changes_requested": changes,
                    "description": f"{title}.\n\nThis change is part of the Q3 roadmap.",
                    "comments": [{"author": a, "text": t} for a, t in comments],
                }
            )
            if state == "MERGED":
                pr["close_source_branch"] = i % 2 == 0
                pr["merge_strategy"] = ["merge_commit", "squash", "merge_commit"][i % 3]
                pr["closed_by"] = approvals[0] if approvals else "alice"
            if state == "DECLINED":
                pr["reason"] = "Superseded by a different approach."
            out.append(pr)
        return out

    api_prs = prs(
        "py",
        [
            (
                "Add order pagination",
                "bob",
                "MERGED",
                ["alice", "carol"],
                ["alice", "carol"],
                [],
                [("alice", "Looks good, thanks!")],
            ),
            ("Validate currency codes", "carol", "MERGED", ["bob"], ["bob"], [], []),
            (
                "Add customer lookup endpoint",
                "dave",
                "OPEN",
                ["alice", "bob"],
                ["bob"],
                [],
                [("alice", "Can we cache the lookups?"), ("dave", "Good idea, added a TTL cache.")],
            ),
            (
                "Rate limit order creation",
                "bob",
                "OPEN",
                ["alice", "carol"],
                [],
                ["carol"],
                [("carol", "The limit should come from settings, not a constant.")],
            ),
            ("Switch to structured logging", "frank", "DECLINED", ["alice"], [], [], [("alice", "Let's wait.")]),
            ("Add health check details", "heidi", "OPEN", ["dave"], [], [], []),
            ("Experimental async handlers", "carol", "SUPERSEDED", ["alice"], [], [], []),
            ("Refund endpoint", "dave", "OPEN", ["bob", "alice"], [], [], []),
        ],
    )
    api_prs[7]["draft"] = True
    # A pull request that conflicts with main: it and a later commit on main change the same settings line.
    api_conflict = {
        "title": "Raise the default page size",
        "source": "feature/raise-page-size",
        "author": "bob",
        "description": "Clients ask for bigger pages.",
        "reviewers": ["alice", "carol"],
        "approvals": ["carol"],
        "commits": [
            {
                "message": "Raise the default page size to 100",
                "files": {
                    "src/api_server/settings.py": seed_content.API_SERVER["src/api_server/settings.py"].replace(
                        "PAGE_SIZE = 50", "PAGE_SIZE = 100"
                    )
                },
            }
        ],
        "state": "OPEN",
    }
    web_prs = prs(
        "js",
        [
            ("Add product search", "carol", "MERGED", ["bob"], ["bob"], [], [("bob", "Nice and small.")]),
            (
                "Dark mode",
                "heidi",
                "OPEN",
                ["carol", "bob"],
                ["carol"],
                ["bob"],
                [("bob", "Contrast is too low on buttons.")],
            ),
            ("Cart persistence", "bob", "MERGED", ["carol", "alice"], ["alice"], [], []),
            ("Checkout form validation", "dave", "OPEN", ["carol"], [], [], []),
            ("Migrate to React Router 7", "frank", "DECLINED", ["carol"], [], ["carol"], []),
            ("Product image lazy loading", "carol", "OPEN", ["heidi"], ["heidi"], [], []),
            ("Accessibility labels", "grace", "MERGED", ["carol"], ["carol"], [], []),
        ],
    )
    docs_prs = prs(
        "md",
        [
            ("Document the release train", "alice", "MERGED", ["erin"], ["erin"], [], []),
            ("On-call guide", "erin", "OPEN", ["alice", "bob"], [], [], [("bob", "Who covers weekends?")]),
            ("Style guide for APIs", "carol", "OPEN", ["alice"], [], ["alice"], []),
            ("Old deployment notes", "dave", "DECLINED", ["erin"], [], [], []),
            ("Incident review template", "grace", "MERGED", ["alice"], ["alice"], [], []),
        ],
    )
    infra_prs = prs(
        "tf",
        [
            ("Add staging database", "erin", "MERGED", ["alice"], ["alice"], [], []),
            ("Autoscaling for the API", "alice", "OPEN", ["erin"], [], [], [("erin", "Min replicas 2, please.")]),
            ("Rotate TLS certificates", "erin", "OPEN", ["alice"], ["alice"], [], []),
            ("Remove legacy VPN", "alice", "DECLINED", ["erin"], [], [], []),
        ],
    )
    mobile_prs = prs(
        "ts",
        [
            ("Login screen", "heidi", "MERGED", ["bob"], ["bob"], [], []),
            ("Push notifications", "bob", "OPEN", ["heidi", "frank"], ["frank"], [], []),
            ("Offline mode", "frank", "OPEN", ["heidi"], [], ["heidi"], [("heidi", "Needs a sync strategy first.")]),
            ("Order history screen", "heidi", "SUPERSEDED", ["bob"], [], [], []),
            ("Settings screen", "bob", "MERGED", ["heidi"], ["heidi"], [], []),
        ],
    )

    def branches_for(pr_list: list[dict], extra: list[str]) -> list[dict]:
        return [{"name": p["source"]} for p in pr_list] + [{"name": b} for b in extra]

    repositories = [
        {
            "workspace": "acme",
            "slug": "api-server",
            "name": "api-server",
            "description": "The order API (Python, Flask).",
            "project": "CORE",
            "language": "python",
            "files": seed_content.API_SERVER,
            "permissions": {**writers},
            "watchers": ["alice", "bob", "carol", "dave"],
            # With the CORE project's erin: the effective default reviewers of api-server are alice, carol and erin.
            "default_reviewers": ["alice", "carol"],
            "branches": branches_for([*api_prs, api_conflict], ["release/1.4", "hotfix/timeout"]),
            "pull_requests": [*api_prs[:2], api_conflict, *api_prs[2:]],
            "tags": {"v1.4.0": "main"},
        },
        {
            "workspace": "acme",
            "slug": "web-frontend",
            "name": "web-frontend",
            "description": "The storefront (JavaScript, React).",
            "project": "WEB",
            "language": "javascript",
            "files": seed_content.WEB_FRONTEND,
            "permissions": {**writers},
            "watchers": ["carol", "heidi"],
            "default_reviewers": ["carol", "heidi"],
            "branches": branches_for(web_prs, ["release/2.3"]),
            "pull_requests": web_prs,
        },
        {
            "workspace": "acme",
            "slug": "docs",
            "name": "docs",
            "description": "The engineering handbook.",
            "project": "CORE",
            "language": "",
            "files": seed_content.DOCS,
            # Bob may read the handbook but not change it.
            "permissions": {**writers, "bob": "read", "grace": "write"},
            "watchers": ["alice", "erin", "grace"],
            "branches": branches_for(docs_prs, []),
            "pull_requests": docs_prs,
        },
        {
            "workspace": "acme",
            "slug": "infra",
            "name": "infra",
            "description": "Terraform and deployment configuration. Owners only.",
            "project": "OPS",
            "language": "hcl",
            "files": seed_content.INFRA,
            "permissions": {"dave": "read"},  # bob has no access at all
            "watchers": ["erin"],
            "branches": branches_for(infra_prs, []),
            "pull_requests": infra_prs,
        },
        {
            "workspace": "acme",
            "slug": "mobile-app",
            "name": "mobile-app",
            "description": "React Native app.",
            "project": "WEB",
            "language": "typescript",
            "files": seed_content.MOBILE_APP,
            "permissions": {**writers},
            "watchers": ["heidi", "bob", "frank"],
            "branches": branches_for(mobile_prs, ["develop"]),
            "pull_requests": mobile_prs,
        },
        {
            "workspace": "alice-labs",
            "slug": "experiments",
            "name": "experiments",
            "description": "Prototypes.",
            "language": "python",
            "files": seed_content.EXPERIMENTS,
            "watchers": ["alice"],
            "branches": [
                {
                    "name": "try/faster-median",
                    "commits": [
                        {
                            "author": "alice",
                            "message": "Try a faster median",
                            "files": {
                                "notebooks/latency.py": "import statistics\n\nsamples = [12, 15, 11, 30, 14]\n"
                                "print(statistics.median_low(samples))\n"
                            },
                        }
                    ],
                }
            ],
            "pull_requests": [{"title": "Faster median", "source": "try/faster-median", "author": "alice"}],
        },
    ]
    # main moves after the conflicting branch was cut: same line, different value.
    repositories[0]["commits"] = [
        {
            "author": "alice",
            "message": "Lower the page size to 25 for mobile clients",
            "files": {
                "src/api_server/settings.py": seed_content.API_SERVER["src/api_server/settings.py"].replace(
                    "PAGE_SIZE = 50", "PAGE_SIZE = 25"
                )
            },
        }
    ]
    return {
        "users": users,
        "workspaces": [
            {
                "slug": "acme",
                "name": "Acme",
                "members": members,
                "projects": [
                    {
                        "key": "CORE",
                        "name": "Core services",
                        "description": "APIs and the handbook.",
                        "default_reviewers": ["erin"],
                    },
                    {"key": "WEB", "name": "Web and mobile", "description": "Customer-facing apps."},
                    {"key": "OPS", "name": "Operations", "description": "Infrastructure."},
                ],
            },
            {"slug": "alice-labs", "name": "Alice's Labs", "members": {"alice": "owner", "carol": "member"}},
        ],
        "repositories": repositories,
        "access_tokens": [
            {"name": "acme-sync", "scope_kind": "workspace", "scope": "acme", "scopes": WORKSPACE_TOKEN_SCOPES},
            {
                "name": "web-ci",
                "scope_kind": "project",
                "scope": "acme/WEB",
                "scopes": ["project", "repository", "repository:write", "pullrequest", "pullrequest:write"],
            },
            {
                "name": "docs-readonly",
                "scope_kind": "repository",
                "scope": "acme/docs",
                "scopes": ["repository", "pullrequest"],
            },
        ],
    }


def _content_for(lang: str, title: str, i: int) -> str:
    name = "".join(ch for ch in title.lower().replace(" ", "_") if ch.isalnum() or ch == "_")
    if lang == "py":
        doc = f'    """Handle {title.lower()}."""\n'
        return f'"""{title}."""\n\n\ndef {name}(request):\n{doc}    return {{"ok": True, "step": {i}}}\n'
    if lang in ("js", "ts"):
        camel = "".join(w.title() for w in name.split("_"))
        func = camel[0].lower() + camel[1:]
        return f"// {title}\nexport function {func}() {{\n  return {{ ok: true, step: {i} }};\n}}\n"
    if lang == "md":
        return f"# {title}\n\nThis page describes {title.lower()}.\n\n## Steps\n\n1. Read it.\n2. Apply it.\n"
    return f'# {title}\nresource "null_resource" "{name}" {{\n  triggers = {{ step = "{i}" }}\n}}\n'


# ---- the scale seed --------------------------------------------------------------------------------------------
def scale_world(repos: int = 20, pull_requests: int = 50, members: int = 50, branches: int = 10) -> World:
    """A big, cheap world for benchmarks: `repos` repositories in `acme`, each with `pull_requests` PRs (a quarter
    OPEN, the rest MERGED/DECLINED), `branches` extra branches, and `members` workspace members."""
    spec: dict[str, Any] = {
        "users": [
            {"username": "alice", "display_name": "Alice Adams", "email": "alice@acme.test"},
            {"username": "bob", "display_name": "Bob Brown", "email": "bob@acme.test"},
        ]
        + [
            {"username": f"member{i:04d}", "display_name": f"Member {i:04d}", "email": f"member{i:04d}@acme.test"}
            for i in range(1, max(0, members - 2) + 1)
        ],
        "workspaces": [{"slug": "acme", "name": "Acme", "projects": [{"key": "SCALE", "name": "Scale"}]}],
    }
    spec["workspaces"][0]["members"] = {
        u["username"]: "owner" if u["username"] == "alice" else "member" for u in spec["users"]
    }
    world = build_world(spec)
    clock = SteppingClock(EPOCH)
    real_clock = world.clock
    world.clock = clock  # type: ignore[assignment]
    alice, bob = world.user("alice"), world.user("bob")
    people = list(world.users.values())
    for r in range(1, repos + 1):
        repo = _build_repository(
            world,
            clock,
            {
                "workspace": "acme",
                "slug": f"repo-{r:04d}",
                "project": "SCALE",
                "language": "python",
                "files": {"README.md": f"# repo-{r:04d}\n", "src/app.py": "print('hello')\n"},
                # Every member may write: benchmarks spread their clients over many accounts.
                "permissions": {u.username: "write" for u in people if u is not alice},
                "watchers": ["alice", "bob"],
            },
        )
        main = repo.branches["main"]
        base_tree = repo.commits[main].tree
        for b in range(1, branches + 1):
            repo.branches[f"branch/{b:04d}"] = main
        for n in range(1, pull_requests + 1):
            clock.step(7)
            author = people[(r + n) % len(people)]
            reviewer = alice if author is not alice else bob
            tree = {**base_tree, f"src/change_{n:05d}.py": f"CHANGE = {n}\n".encode()}
            c = world.make_commit(repo, [main], tree, f"Change {n}", author)
            branch = f"feature/change-{n:05d}"
            repo.branches[branch] = c.hash
            pr = world.create_pull_request(
                repo,
                author.uuid,
                f"Change {n} in repo-{r:04d}",
                branch,
                description=f"Change number {n}.",
                reviewers=[reviewer.uuid],
            )
            kind = n % 4
            if kind == 1:
                world.set_review(repo, pr, reviewer.uuid, "approved")
            elif kind == 2:
                pr.state, pr.closed_by, pr.merge_commit = "MERGED", reviewer.uuid, c.hash
                del repo.branches[branch]
            elif kind == 3:
                pr.state, pr.closed_by = "DECLINED", author.uuid
                del repo.branches[branch]
            if kind in (2, 3):
                pr.closed_on = world.now()
                world.touch_pr(pr)
    _build_token(
        world,
        {"name": "acme-sync", "scope_kind": "workspace", "scope": "acme", "scopes": WORKSPACE_TOKEN_SCOPES},
        EPOCH,
    )
    world.clock = real_clock
    world.version = 0
    return world


# ---- choosing a seed -------------------------------------------------------------------------------------------
def load_seed(seed: str | dict | None, **scale_params: int) -> World:
    if seed is None or seed == "demo":
        return build_world(demo_spec())
    if isinstance(seed, dict):
        return build_world(seed)
    if seed == "scale":
        return scale_world(**{k: v for k, v in scale_params.items() if v is not None})
    if seed == "empty":
        return World()
    with open(seed, encoding="utf-8") as fh:
        try:
            spec = json.load(fh)
        except ValueError as exc:
            raise ValueError(f"{seed}: not a JSON seed file ({exc})") from None
    try:
        return build_world(spec)
    except WorldError as exc:
        raise ValueError(f"{seed}: {exc.message}") from None


def accounts(world: World) -> list[dict]:
    """The seeded people as `--credentials-out` writes them."""
    out = []
    for u in world.users.values():
        out.append(
            {
                "display_name": u.display_name,
                "uuid": u.uuid,
                "account_id": u.account_id,
                "email": u.email,
                "username": u.username,
                "api_token": u.api_token,
                "app_password": u.app_password,
                "workspaces": sorted(ws.slug for ws in world.workspaces.values() if u.uuid in ws.members),
            }
        )
    return out


def access_tokens(world: World) -> list[dict]:
    out = []
    for t in world.access_tokens.values():
        ws = world.workspaces[t.workspace_uuid]
        if t.scope_kind == "workspace":
            scope = ws.slug
        elif t.scope_kind == "project":
            scope = f"{ws.slug}/{t.project_key}"
        else:
            repo = world.repositories.get(t.repository_uuid or "")
            scope = world.full_name(repo) if repo else f"{ws.slug}/?"
        out.append(
            {"token": t.token, "name": t.name, "scope_kind": t.scope_kind, "scope": scope, "scopes": list(t.scopes)}
        )
    return out
