"""Handlers for pull request tasks: list (q, sort, pagelen), create, get, update (text, resolve, reopen), delete.

Bitbucket lists only the read scope for every one of them, writes included; anyone who can read the pull request
may add and resolve its tasks, as with comments.
"""

from __future__ import annotations

from typing import Any

from ..world import tasks
from ..world.objects import PullRequest, Repository, WorldError
from ..world.state import World
from . import query
from . import serialize as s
from .auth import repo_for
from .context import Ctx, Result, as_bool, empty

TASK_PAGELEN_MAX = 100


def _pr(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> tuple[Repository, PullRequest]:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    return repo, ctx.world.pull_request(repo, int(pull_request_id))


def task_json(world: World, repo: Repository, pr: PullRequest, t: tasks.Task) -> dict:
    """A task as the 2025-2026 captures show it: no `type`, `content` rendered, `comment` condensed when anchored."""
    base = f"/repositories/{world.full_name(repo)}/pullrequests/{pr.id}"
    web = f"/{world.full_name(repo)}/pull-requests/{pr.id}/_/diff"
    out: dict[str, Any] = {
        "id": t.id,
        "state": t.state,
        "content": s.markup(t.raw),
        "created_on": s.fmt_time(t.created_on),
        "updated_on": s.fmt_time(t.updated_on),
        "resolved_on": s.fmt_time(t.resolved_on),
        "resolved_by": s.account(world, t.resolved_by),
        "pending": t.pending,
        "creator": s.account(world, t.creator_uuid),
        "links": {
            "self": s.link(s.api(world, f"{base}/tasks/{t.id}")),
            "html": s.link(s.web(world, f"{web}#task-{t.id}")),
        },
    }
    if t.comment_id is not None:
        out["comment"] = {
            "id": t.comment_id,
            "links": {
                "self": s.link(s.api(world, f"{base}/comments/{t.comment_id}")),
                "html": s.link(s.web(world, f"{web}#comment-{t.comment_id}")),
            },
        }
    return out


def task_list(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    items = [task_json(world, repo, pr, t) for t in pr.tasks]
    sample = items[0] if items else task_json(world, repo, pr, tasks.Task(0, "", "x", pr.created_on, pr.created_on))
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort") or "created_on", sample)
    return Result(query.page(items, ctx.args, ctx.url(), maximum=TASK_PAGELEN_MAX))


def task_create(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    if ctx.identity.actor_uuid is None:
        raise WorldError(401, "You must be authenticated to create a task.")
    body = ctx.body()
    content = body.get("content")
    comment = body.get("comment")
    comment_id = comment.get("id") if isinstance(comment, dict) else None
    if comment is not None and not isinstance(comment_id, int):
        raise WorldError(400, "Bad request", fields={"comment": ["The comment must be an object with an id."]})
    t = tasks.add(
        world,
        repo,
        pr,
        ctx.identity.actor_uuid,
        content.get("raw") if isinstance(content, dict) else None,
        comment_id=comment_id,
        pending=as_bool(body.get("pending")),
    )
    data = task_json(world, repo, pr, t)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def task_detail(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, task_id: int) -> Result:
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    return Result(task_json(ctx.world, repo, pr, tasks.find(pr, int(task_id))))


def task_update(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, task_id: int) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    t = tasks.find(pr, int(task_id))
    body = ctx.body()
    content = body.get("content")
    if content is not None and not isinstance(content, dict):
        raise WorldError(400, "Bad request", fields={"content": ["The content must be an object with raw text."]})
    raw = content.get("raw", "") if isinstance(content, dict) else None
    tasks.update(world, pr, t, ctx.identity.actor_uuid, raw=raw, state=body.get("state"))
    return Result(task_json(world, repo, pr, t))


def task_delete(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, task_id: int):
    _repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    tasks.delete(ctx.world, pr, tasks.find(pr, int(task_id)))
    return empty(204)
