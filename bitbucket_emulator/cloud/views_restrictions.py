"""Handlers for branch restrictions (`{repo}/branch-restrictions`): list, create, get, partial update, delete.

Every operation needs repository admin: a member who may read or write the repository gets 403 (a caller who cannot
see it at all, 404, as elsewhere). The rules themselves and the merge refusals they cause are world/restrictions.py.
"""

from __future__ import annotations

from ..world import restrictions as rules
from ..world.objects import Repository
from ..world.state import World
from . import query
from . import serialize as s
from .auth import repo_for
from .context import Ctx, Result, empty


def _admin_repo(ctx: Ctx, workspace: str, repo_slug: str) -> Repository:
    return repo_for(ctx.world, ctx.identity, workspace, repo_slug, need="admin")


def _group(world: World, repo: Repository, slug: str) -> dict:
    ws = world.workspace_of(repo)
    return {
        "type": "group",
        "name": slug.replace("-", " ").title(),
        "slug": slug,
        "full_slug": f"{ws.slug}:{slug}",
        "links": {"self": s.link(s.api(world, f"/groups/{ws.slug}/{slug}"))},
    }


def restriction_json(world: World, repo: Repository, rule: rules.BranchRestriction) -> dict:
    data: dict = {
        "type": "branchrestriction",
        "id": rule.id,
        "kind": rule.kind,
        "branch_match_kind": rule.branch_match_kind,
        "pattern": rule.pattern,
        "value": rule.value,
        "users": [s.user(world, world.users[u]) for u in rule.users if u in world.users],
        "groups": [_group(world, repo, g) for g in rule.groups],
        "links": {"self": s.link(s.api(world, f"/repositories/{world.full_name(repo)}/branch-restrictions/{rule.id}"))},
    }
    if rule.branch_match_kind == "branching_model":
        data["branch_type"] = rule.branch_type
    return data


def restriction_list(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = _admin_repo(ctx, workspace, repo_slug)
    kind, pattern = ctx.args.get("kind"), ctx.args.get("pattern")
    items = [
        r
        for r in sorted(repo.restrictions, key=lambda r: r.id)
        if (not kind or r.kind == kind) and (not pattern or r.pattern == pattern)
    ]
    return Result(query.page(items, ctx.args, ctx.url(), render=lambda r: restriction_json(world, repo, r)))


def restriction_create(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = _admin_repo(ctx, workspace, repo_slug)
    rule = rules.create(world, repo, ctx.body())
    data = restriction_json(world, repo, rule)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def restriction_detail(ctx: Ctx, workspace: str, repo_slug: str, rule_id: int) -> Result:
    repo = _admin_repo(ctx, workspace, repo_slug)
    return Result(restriction_json(ctx.world, repo, rules.find(repo, int(rule_id))))


def restriction_update(ctx: Ctx, workspace: str, repo_slug: str, rule_id: int) -> Result:
    world = ctx.world
    repo = _admin_repo(ctx, workspace, repo_slug)
    rule = rules.find(repo, int(rule_id))
    # Checked on a copy: a refused update leaves the rule as it was.
    candidate = rules.BranchRestriction(**{**rule.__dict__, "users": list(rule.users), "groups": list(rule.groups)})
    rules.apply_body(world, repo, candidate, ctx.body(), creating=False)
    rule.__dict__.update(candidate.__dict__)
    world.version += 1
    return Result(restriction_json(world, repo, rule))


def restriction_delete(ctx: Ctx, workspace: str, repo_slug: str, rule_id: int):
    repo = _admin_repo(ctx, workspace, repo_slug)
    repo.restrictions.remove(rules.find(repo, int(rule_id)))
    ctx.world.version += 1
    return empty(204)
