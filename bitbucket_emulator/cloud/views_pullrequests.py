"""Handlers for pull requests: list, create, get, update, review, comment, activity, decline and merge."""

from __future__ import annotations

import threading

from werkzeug.wrappers import Response

from ..world import comments as pr_comments
from ..world import restrictions
from ..world.ids import random_uuid
from ..world.merge import MergeConflict
from ..world.objects import PR_STATES, MergeTask, PullRequest, Repository, WorldError
from ..world.state import World
from . import query
from . import serialize as s
from .auth import repo_for
from .context import Ctx, Encoded, Result, as_bool, empty

LIST_HIDDEN = ("values.reviewers", "values.participants")
PR_PAGELEN_MAX = 50


def _pr(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, need: str = "read"):
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug, need=need)
    return repo, ctx.world.pull_request(repo, int(pull_request_id))


def _account_uuid(ctx: Ctx, ref) -> str:
    if not isinstance(ref, dict):
        raise WorldError(400, "Bad request", fields={"reviewers": ["Each reviewer must be an object with a uuid."]})
    key = ref.get("uuid") or ref.get("account_id")
    u = ctx.world.find_user(key) if isinstance(key, str) else None
    if u is None or ref.get("username"):
        raise WorldError(400, "Bad request", fields={"reviewers": [f"Unknown reviewer: {key}"]})
    return u.uuid


def pr_list(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    query.pagelen_of(ctx.args, 10, PR_PAGELEN_MAX)
    states = [st.upper() for st in ctx.args.getlist("state") if st]
    bad = [st for st in states if st not in PR_STATES]
    if bad:
        raise WorldError(400, f"Invalid state: {bad[0]}", fields={"state": [f"'{bad[0]}' is not a valid state."]})
    q = ctx.args.get("q")
    if not states and not (q and "state" in q):
        states = ["OPEN"]  # Bitbucket's default when no state is asked for
    fields = ctx.args.get("fields") or ""
    sort = ctx.args.get("sort")
    ids = _listing(world, repo, tuple(states), q, sort)
    envelope_fields, item_fields = query.split_fields(fields)
    hidden = tuple(h.removeprefix("values.") for h in LIST_HIDDEN)

    def encoded(pr_id: int) -> Encoded:
        pr = repo.pullrequests[pr_id]
        return Encoded(s.pullrequest_list_item_json(world, repo, pr, item_fields, hidden if item_fields else ()))

    body = query.page(ids, ctx.args, ctx.url(), render=encoded, maximum=PR_PAGELEN_MAX)
    if envelope_fields:
        values = body["values"]
        body = query.apply_fields({**body, "values": None}, envelope_fields)
        if "values" in body:
            body["values"] = values
    return Result(body, fields_applied=True)


def _listing(world: World, repo: Repository, states: tuple[str, ...], q: str | None, sort: str | None) -> list[int]:
    """The ids a PR listing shows, in order; cached until a PR of the repository changes (pages 2..n reuse it)."""
    prs = sorted(repo.pullrequests.values(), key=lambda p: p.id, reverse=True)
    signature = (repo.rev, repo.slug, tuple((p.id, p.rev) for p in prs))
    key = ("pullrequest-listing", repo.uuid, states, q, sort)
    cached = world.cache.get(key)
    if cached and cached[0] == signature:
        return cached[1]
    if states:
        prs = [p for p in prs if p.state in states]
    # Filter and sort on the full objects when q or sort names reviewers or participants.
    needs_full = any(h.split(".")[1] in (q or "") + (sort or "") for h in LIST_HIDDEN)
    render = s.pullrequest if needs_full else s.pullrequest_list_item
    items = [render(world, repo, p) for p in prs]
    sample = s.pullrequest(world, repo, next(iter(repo.pullrequests.values()))) if repo.pullrequests else None
    ids = [item["id"] for item in query.filter_and_sort(items, q, sort, sample)]
    if len(world.cache) > 50_000:
        world.cache.clear()  # every sync asks with a new watermark; keep a long-running demo's memory bounded
    world.cache[key] = (signature, ids)
    return ids


def pr_create(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug, need="write")
    body = ctx.body()
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise WorldError(400, "title: This field is required.", fields={"title": ["This field is required."]})
    source = body.get("source") or {}
    source_branch = ((source.get("branch") or {}) if isinstance(source, dict) else {}).get("name")
    if not source_branch:
        raise WorldError(
            400,
            "Bad request",
            detail="You must specify a valid source branch when creating a pull request.",
            fields={"source": ["This field is required."]},
        )
    src_repo = (source.get("repository") or {}).get("full_name")
    if src_repo and src_repo.lower() != world.full_name(repo).lower():
        raise WorldError(400, "Bad request", detail="Pull requests from forks are not supported by this emulator.")
    dest = body.get("destination") or {}
    dest_branch = ((dest.get("branch") or {}) if isinstance(dest, dict) else {}).get("name")
    reviewers = [_account_uuid(ctx, r) for r in body.get("reviewers") or []]
    author = ctx.identity.actor_uuid
    if author is None:
        raise WorldError(401, "You must be authenticated to create a pull request.")
    pr = world.create_pull_request(
        repo,
        author,
        title,
        source_branch,
        dest_branch,
        description=str(body.get("description") or ""),
        reviewers=reviewers,
        close_source_branch=as_bool(body.get("close_source_branch")),
        draft=as_bool(body.get("draft")),
    )
    data = s.pullrequest(world, repo, pr)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def pr_detail(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    return Result(s.pullrequest(ctx.world, repo, pr))


def pr_update(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id, need="write")
    body = ctx.body()
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise WorldError(400, "title: This field is required.", fields={"title": ["This field is required."]})
    dest = body.get("destination") or {}
    dest_branch = ((dest.get("branch") or {}) if isinstance(dest, dict) else {}).get("name")
    # Replace semantics: what is not sent is cleared (as integrators report for description and reviewers).
    reviewers = [_account_uuid(ctx, r) for r in body.get("reviewers") or []]
    ctx.world.update_pull_request(
        repo,
        pr,
        ctx.identity.actor_uuid,
        title=title,
        description=str(body.get("description") or ""),
        reviewers=reviewers,
        dest_branch=dest_branch,
        close_source_branch=as_bool(body["close_source_branch"]) if "close_source_branch" in body else None,
        draft=as_bool(body["draft"]) if "draft" in body else None,
    )
    return Result(s.pullrequest(ctx.world, repo, pr))


def _redirect(ctx: Ctx, repo: Repository, pr: PullRequest, kind: str) -> Response:
    spec = f"{pr.source_hash[:12]}..{pr.dest_hash[:12]}"
    target = s.api(ctx.world, f"/repositories/{ctx.world.full_name(repo)}/{kind}/{spec}")
    target += f"?from_pullrequest_id={pr.id}&topic=true"
    if ctx.request.query_string:
        target += "&" + ctx.request.query_string.decode()
    return Response(b"", status=302, headers={"Location": target})


def pr_diff(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int):
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    return _redirect(ctx, repo, pr, "diff")


def pr_diffstat(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int):
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    return _redirect(ctx, repo, pr, "diffstat")


def pr_conflicts(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int):
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    return _redirect(ctx, repo, pr, "file-conflicts")


def pr_commits(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    found = world.log(repo, [pr.source_hash], [pr.dest_hash])
    return Result(query.cursor_page(found, ctx.args, ctx.url(), render=lambda c: s.commit(world, repo, c)))


def pr_activity(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    entries = list(reversed(pr.activity))
    return Result(
        query.cursor_page(
            entries,
            ctx.args,
            ctx.url(),
            render=lambda e: s.activity(world, repo, pr, e),
            cursor_param="ctx",
            maximum=50,
        )
    )


def comments(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    viewer = ctx.identity.actor_uuid
    items = [s.comment(world, repo, pr, c) for c in pr.comments if pr_comments.visible(c, viewer)]
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()))


def comment_create(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    body = ctx.body()
    content = body.get("content")
    raw = content.get("raw") if isinstance(content, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        raise WorldError(400, "content: This field is required.", fields={"content": ["This field is required."]})
    parent = body.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    inline = pr_comments.anchor(body.get("inline"))
    if ctx.identity.actor_uuid is None:
        raise WorldError(401, "You must be authenticated to comment.")
    pending = body.get("pending") is True
    c = world.add_comment(repo, pr, ctx.identity.actor_uuid, raw, parent_id=parent_id, inline=inline, pending=pending)
    data = s.comment(world, repo, pr, c, detail=True)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def _comment(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, comment_id: int):
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    return repo, pr, pr_comments.find(pr, int(comment_id), ctx.identity.actor_uuid)


def comment_detail(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, comment_id: int) -> Result:
    repo, pr, c = _comment(ctx, workspace, repo_slug, pull_request_id, comment_id)
    return Result(s.comment(ctx.world, repo, pr, c, detail=True))


def comment_update(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, comment_id: int) -> Result:
    repo, pr, c = _comment(ctx, workspace, repo_slug, pull_request_id, comment_id)
    body = ctx.body()
    content = body.get("content")
    raw = content.get("raw") if isinstance(content, dict) else None
    if raw is not None and (not isinstance(raw, str) or not raw.strip()):
        raise WorldError(400, "content: This field is required.", fields={"content": ["This field is required."]})
    pr_comments.edit(ctx.world, repo, pr, c, ctx.identity.actor_uuid, raw, body.get("pending"))
    return Result(s.comment(ctx.world, repo, pr, c, detail=True))


def comment_delete(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, comment_id: int) -> Response:
    repo, pr, c = _comment(ctx, workspace, repo_slug, pull_request_id, comment_id)
    pr_comments.delete(ctx.world, repo, pr, c, ctx.identity.actor_uuid)
    return empty(204)


def comment_resolve(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, comment_id: int) -> Result:
    repo, pr, c = _comment(ctx, workspace, repo_slug, pull_request_id, comment_id)
    pr_comments.resolve(ctx.world, repo, pr, c, ctx.identity.actor_uuid)
    return Result(s.comment(ctx.world, repo, pr, c)["resolution"])


def comment_reopen(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, comment_id: int) -> Response:
    repo, pr, c = _comment(ctx, workspace, repo_slug, pull_request_id, comment_id)
    pr_comments.reopen(ctx.world, repo, pr, c, ctx.identity.actor_uuid)
    return empty(204)


def _review(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, state: str | None):
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    actor = ctx.identity.actor_uuid
    if actor is None:
        raise WorldError(401, "You must be authenticated to review.")
    if state and actor == pr.author_uuid and state == "approved":
        raise WorldError(400, "You can't approve your own pull request.")
    part = ctx.world.set_review(repo, pr, actor, state)
    if state is None:
        return empty(204)
    return Result(s.participant(ctx.world, part))


def approve(ctx: Ctx, **kw) -> Result:
    return _review(ctx, state="approved", **kw)


def unapprove(ctx: Ctx, **kw):
    return _withdraw(ctx, "approved", **kw)


def request_changes(ctx: Ctx, **kw) -> Result:
    return _review(ctx, state="changes_requested", **kw)


def unrequest_changes(ctx: Ctx, **kw):
    return _withdraw(ctx, "changes_requested", **kw)


def _withdraw(ctx: Ctx, current: str, workspace: str, repo_slug: str, pull_request_id: int):
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    actor = ctx.identity.actor_uuid
    part = pr.participants.get(actor or "")
    if pr.state != "OPEN":
        raise WorldError(400, f"You can't change the review of a pull request that is {pr.state.lower()}.")
    if actor is None or part is None or part.state != current:
        raise WorldError(
            404,
            "You have not " + ("approved" if current == "approved" else "requested changes on") + " this pull request.",
        )
    ctx.world.set_review(repo, pr, actor, None)
    return empty(204)


def decline(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    actor = ctx.identity.actor_uuid
    if actor != pr.author_uuid:
        repo_for(ctx.world, ctx.identity, workspace, repo_slug, need="write")
    body = ctx.body()
    ctx.world.decline(repo, pr, actor, reason=str(body.get("reason") or ""))
    return Result(s.pullrequest(ctx.world, repo, pr))


def merge(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int):
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id, need="write")
    body = ctx.body()
    strategy = body.get("merge_strategy") or "merge_commit"
    message = body.get("message")
    if message is not None and len(str(message).encode()) > 128 * 1024:
        raise WorldError(400, "Bad request", fields={"message": ["The message is limited to 128 KiB."]})
    close = as_bool(body["close_source_branch"]) if "close_source_branch" in body else None
    actor = ctx.identity.actor_uuid
    # The target branch's rules refuse before any merge starts (a 400 or 403 to the request, never a failed task).
    restrictions.check_merge_allowed(world, repo, pr, actor)
    if as_bool(ctx.args.get("async")) or ctx.controls.slow_merges:
        if pr.state != "OPEN":
            raise WorldError(400, f"You can't merge a pull request that is {pr.state.lower()}.")
        task = MergeTask(random_uuid().strip("{}"), repo.uuid, pr.id)
        world.merge_tasks[task.id] = task

        def run() -> None:
            with world.lock:
                if world.merge_tasks.get(task.id) is not task:
                    return  # the world was reset since: its pull request is gone, and so is the task
                try:
                    world.merge(repo, pr, actor, strategy, message, close)
                    task.status = "SUCCESS"
                except WorldError as exc:
                    task.status, task.error = "FAILED", exc
                except MergeConflict as exc:
                    task.status = "FAILED"
                    task.error = WorldError(400, "Conflicts during merge.", detail=", ".join(exc.paths))

        timer = threading.Timer(ctx.merge_task_delay, run)
        timer.daemon = True
        timer.start()
        location = s.api(
            world, f"/repositories/{world.full_name(repo)}/pullrequests/{pr.id}/merge/task-status/{task.id}"
        )
        return empty(202, {"Location": location})
    try:
        world.merge(repo, pr, actor, strategy, message, close)
    except MergeConflict as exc:
        raise WorldError(400, "Conflicts during merge.", detail=", ".join(exc.paths)) from None
    return Result(s.pullrequest(world, repo, pr))


def merge_task_status(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int, task_id: str) -> Result:
    world = ctx.world
    repo, pr = _pr(ctx, workspace, repo_slug, pull_request_id)
    task = world.merge_tasks.get(task_id)
    if task is None or task.repository_uuid != repo.uuid or task.pr_id != pr.id:
        raise WorldError(400, "The task id does not belong to this pull request.")
    if task.error is not None:
        raise task.error
    body: dict = {"task_status": task.status, "links": {"self": s.link(ctx.url())}}
    if task.status == "SUCCESS":
        body["merge_result"] = s.pullrequest(world, repo, pr)
    return Result(body)
