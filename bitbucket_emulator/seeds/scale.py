"""The `scale` seed: a big, cheap world for benchmarks, sized by its parameters."""

from __future__ import annotations

from typing import Any

from ..world import statuses
from ..world.state import World
from .build import EPOCH, SteppingClock, build_repository, build_token, build_world

# The scopes of the workspace access token `acme-sync`, the same as in the demo seed.
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


def scale_world(repos: int = 20, pull_requests: int = 50, members: int = 50, branches: int = 10) -> World:
    """A big, cheap world for benchmarks: `repos` repositories in `acme`, each with `pull_requests` PRs (half OPEN,
    every other one of those approved, each with a build status, one in ten of them in progress; a quarter MERGED, a
    quarter DECLINED), `branches` extra branches, and `members` workspace members."""
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
    world.clock = clock
    alice, bob = world.user("alice"), world.user("bob")
    people = list(world.users.values())
    built = 0
    for r in range(1, repos + 1):
        repo = build_repository(
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
            if kind in (0, 1):
                # Every open PR has a build of its tip: every tenth still running, the rest passed.
                built += 1
                state = "INPROGRESS" if built % 10 == 0 else "SUCCESSFUL"
                statuses.write(world, repo, c.hash, {"key": "ci", "state": state, "refname": branch}, None)
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
    build_token(
        world,
        {"name": "acme-sync", "scope_kind": "workspace", "scope": "acme", "scopes": WORKSPACE_TOKEN_SCOPES},
        EPOCH,
    )
    world.clock = real_clock
    world.version = 0
    return world
