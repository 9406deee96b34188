"""Handlers for a repository's default reviewers: its own (`default-reviewers`) and with its project's
(`effective-default-reviewers`).

Bitbucket does not add default reviewers to a pull request created through the API; clients read them here and send
them as `reviewers` (the emulator does the same: `POST .../pullrequests` adds only the reviewers it is sent).
"""

from __future__ import annotations

from . import query
from . import serialize as s
from .auth import repo_for
from .context import Ctx, Result


def default_reviewers(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    """`GET .../default-reviewers`: the users set on the repository itself (a page of accounts)."""
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    items = [s.user(world, world.users[u]) for u in repo.default_reviewers if u in world.users]
    return Result(query.page(items, ctx.args, ctx.url()))


def effective_default_reviewers(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    """`GET .../effective-default-reviewers`: the project's default reviewers, then the repository's own.

    Each user appears once; one set on both levels is a `repository` reviewer (the order and that choice are not
    documented by Bitbucket: the OpenAPI example lists a project reviewer before a repository one).
    """
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    project = world.workspace_of(repo).projects.get(repo.project_key or "")
    from_project = [u for u in (project.default_reviewers if project else []) if u not in repo.default_reviewers]
    items = [
        {"type": "default_reviewer", "reviewer_type": kind, "user": s.user(world, world.users[u])}
        for kind, uuids in (("project", from_project), ("repository", repo.default_reviewers))
        for u in uuids
        if u in world.users
    ]
    return Result(query.page(items, ctx.args, ctx.url()))
