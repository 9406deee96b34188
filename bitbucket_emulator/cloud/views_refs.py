"""Handlers for tags (read one, create, delete) and the branching model (as applied, effective, its settings)."""

from __future__ import annotations

from ..world import branching
from ..world import tags as world_tags
from ..world.objects import WorldError
from . import serialize as s
from .auth import repo_for
from .context import Ctx, Result, empty


def tag_detail(ctx: Ctx, workspace: str, repo_slug: str, name: str) -> Result:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    if name not in repo.tags:
        raise WorldError(404, f"Tag not found: {name}")
    return Result(s.tag(ctx.world, repo, name))


def tag_create(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    """`POST refs/tags` `{"name", "target": {"hash"}, "message"?}` → 201 annotated tag; 400 without a name or hash."""
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug, need="write")
    body = ctx.body()
    name = body.get("name")
    target = body.get("target")
    target_hash = target.get("hash") if isinstance(target, dict) else None
    if not isinstance(name, str) or not name:
        raise WorldError(400, "name: This field is required.", fields={"name": ["This field is required."]})
    if not isinstance(target_hash, str) or not target_hash:
        raise WorldError(400, "target: This field is required.", fields={"target": ["This field is required."]})
    message = body.get("message")
    world_tags.create_tag(
        world, repo, name, target_hash, message if isinstance(message, str) else "", ctx.identity.actor_uuid
    )
    data = s.tag(world, repo, name)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def tag_delete(ctx: Ctx, workspace: str, repo_slug: str, name: str):
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug, need="write")
    world_tags.delete_tag(ctx.world, repo, name, ctx.identity.actor_uuid)
    return empty(204)


def branching_model(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    return Result(s.branching_model(ctx.world, repo, effective=False))


def effective_branching_model(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    return Result(s.branching_model(ctx.world, repo, effective=True))


def branching_model_settings(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug, need="admin")
    return Result(s.branching_model_settings(ctx.world, repo))


def branching_model_settings_update(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug, need="admin")
    with world.lock:
        branching.update(repo, ctx.body())
        world.version += 1
    return Result(s.branching_model_settings(world, repo))
