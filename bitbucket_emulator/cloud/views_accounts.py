"""Handlers for the caller, workspaces, members, projects, webhook subscriptions and the removed (410) endpoints."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from ..world.ids import random_uuid
from ..world.objects import HOOK_EVENTS, PERMISSION_RANK, Hook, Workspace, WorldError
from . import query
from . import serialize as s
from .auth import can_see_workspace, repo_for, repo_permission, require_user, workspace_role
from .context import Ctx, Result, as_bool, empty

CHANGE_2770 = WorldError(
    410,
    "CHANGE-2770 - Functionality has been deprecated",
    detail="Please read the changelog entry for more details.",
    data={"announcement_url": "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770"},
)


def gone(ctx: Ctx, **_) -> Result:
    raise CHANGE_2770


def visible_workspace(ctx: Ctx, key: str) -> Workspace:
    ws = ctx.world.workspace(key)
    if not can_see_workspace(ctx.world, ctx.identity, ws):
        raise WorldError(404, f"No workspace with identifier '{key}'.")
    return ws


# ---- the caller ------------------------------------------------------------------------------------------------
def me(ctx: Ctx) -> Result:
    require_user(ctx.identity)
    if ctx.identity.user:
        return Result(s.user(ctx.world, ctx.identity.user, full=True, me=True))
    token = ctx.identity.token
    assert token is not None  # signed in, and not as a user: an access token
    return Result(s.app_user(ctx.world, token))


def my_emails(ctx: Ctx) -> Result:
    require_user(ctx.identity)
    u = ctx.identity.user
    if u is None:
        raise WorldError(403, "Access tokens have no email addresses.")
    item = {
        "type": "email",
        "email": u.email,
        "is_primary": True,
        "is_confirmed": True,
        "links": {"self": s.link(s.api(ctx.world, f"/user/emails/{u.email}"))},
    }
    return Result(query.page([item], ctx.args, ctx.url()))


def user_by_id(ctx: Ctx, selected_user: str) -> Result:
    u = ctx.world.find_user(selected_user)
    if u is None or selected_user == u.username:
        # Usernames left user URLs in 2019; only uuid and account_id find someone.
        raise WorldError(404, f"User {selected_user} not found")
    return Result(s.user(ctx.world, u, full=True))


def my_workspaces(ctx: Ctx) -> Result:
    require_user(ctx.identity)
    world = ctx.world
    items = []
    for ws in sorted(world.workspaces.values(), key=lambda w: w.slug):
        role = workspace_role(world, ctx.identity, ws)
        if role is None:
            continue
        items.append(
            {
                "type": "workspace_access",
                "administrator": role == "owner",
                "workspace": s.workspace_base(world, ws),
                "links": {"self": s.link(s.api(world, f"/user/workspaces/{ws.slug}/permission"))},
            }
        )
    admin = ctx.args.get("administrator")
    if admin is not None:
        items = [i for i in items if i["administrator"] == as_bool(admin)]
    # `q=slug="x"` and `sort=slug` name the workspace's slug directly on this endpoint.
    q, sort = (_workspace_path(ctx.args.get(k)) for k in ("q", "sort"))
    items = query.filter_and_sort(items, q, sort)
    return Result(query.page(items, ctx.args, ctx.url()))


def _workspace_path(text: str | None) -> str | None:
    return re.sub(r"(?<![\w.])slug\b", "workspace.slug", text) if text else text


def my_workspace_permission(ctx: Ctx, workspace: str) -> Result:
    require_user(ctx.identity)
    ws = ctx.world.workspace(workspace)
    role = workspace_role(ctx.world, ctx.identity, ws)
    if role is None or ctx.identity.user is None:
        raise WorldError(403, "You do not have access to this workspace.")
    return Result(s.membership(ctx.world, ws, ctx.identity.user, with_permission=True))


def my_repository_permissions(ctx: Ctx, workspace: str) -> Result:
    require_user(ctx.identity)
    world = ctx.world
    ws = world.workspace(workspace)
    u = ctx.identity.user
    if u is None:
        raise WorldError(403, "Access tokens cannot query permissions.")
    if not can_see_workspace(world, ctx.identity, ws):
        raise WorldError(403, "You do not have access to this workspace.")
    items = []
    for repo in world.repos_in(ws):
        explicit = "admin" if ws.members.get(u.uuid) == "owner" else repo.permissions.get(u.uuid)
        if explicit:
            items.append(s.repo_permission(world, repo, u, explicit))
    q = ctx.args.get("q")
    if q and "permission" in q:
        # `permission>"read"` compares by rank, not alphabetically.
        ranked = [{**i, "permission": PERMISSION_RANK[i["permission"]]} for i in items]
        rq = q
        for name, rank in PERMISSION_RANK.items():
            rq = rq.replace(f'"{name}"', str(rank))
        keep = {id(r) for r in query.filter_and_sort(ranked, rq, None)}
        items = [i for i, r in zip(items, ranked, strict=True) if id(r) in keep]
        q = None
    items = query.filter_and_sort(items, q, ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()))


# ---- workspaces ------------------------------------------------------------------------------------------------
def workspace_detail(ctx: Ctx, workspace: str) -> Result:
    return Result(s.workspace(ctx.world, visible_workspace(ctx, workspace)))


def _is_admin_view(ctx: Ctx, ws: Workspace) -> bool:
    return workspace_role(ctx.world, ctx.identity, ws) == "owner" or (
        ctx.identity.token is not None and ctx.identity.token.scope_kind == "workspace"
    )


def _member_items(ctx: Ctx, ws: Workspace, with_permission: bool) -> list[dict]:
    world = ctx.world
    admin_view = _is_admin_view(ctx, ws)
    items = []
    for uuid in sorted(ws.members, key=lambda u: world.users[u].display_name):
        u = world.users[uuid]
        item = s.membership(world, ws, u, with_permission=with_permission)
        if admin_view:
            item["user"] = {**item["user"], "email": u.email}
        items.append(item)
    return items


def members(ctx: Ctx, workspace: str) -> Result:
    ws = visible_workspace(ctx, workspace)
    if workspace_role(ctx.world, ctx.identity, ws) is None:
        raise WorldError(403, "You must be a member of this workspace to list its members.")
    items = _member_items(ctx, ws, with_permission=False)
    q = ctx.args.get("q")
    if q and "email" in q and not _is_admin_view(ctx, ws):
        raise WorldError(400, "Only workspace administrators may filter members by email.")
    items = query.filter_and_sort(items, q, ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()), hidden=("values.user.email",))


def member_detail(ctx: Ctx, workspace: str, member: str) -> Result:
    ws = visible_workspace(ctx, workspace)
    u = ctx.world.find_user(member)
    if u is None or u.uuid not in ws.members:
        raise WorldError(404, f"{member} is not a member of {ws.slug}")
    return Result(s.membership(ctx.world, ws, u))


def permissions(ctx: Ctx, workspace: str) -> Result:
    ws = visible_workspace(ctx, workspace)
    if ctx.identity.token is not None:
        raise WorldError(403, "Access tokens cannot query permissions.")
    if workspace_role(ctx.world, ctx.identity, ws) is None:
        raise WorldError(403, "You must be a member of this workspace.")
    items = query.filter_and_sort(_member_items(ctx, ws, True), ctx.args.get("q"), ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()), hidden=("values.user.email",))


def projects(ctx: Ctx, workspace: str) -> Result:
    ws = visible_workspace(ctx, workspace)
    items = [s.project(ctx.world, ws, p) for p in sorted(ws.projects.values(), key=lambda p: p.key)]
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()))


def project_detail(ctx: Ctx, workspace: str, project_key: str) -> Result:
    ws = visible_workspace(ctx, workspace)
    p = ws.projects.get(project_key) or ws.projects.get(project_key.upper())
    if p is None:
        raise WorldError(404, f"Project {project_key} not found")
    return Result(s.project(ctx.world, ws, p))


# ---- webhook subscriptions (workspace and repository) ----------------------------------------------------------
def _hook_owner_ws(ctx: Ctx, workspace: str) -> Workspace:
    ws = visible_workspace(ctx, workspace)
    if workspace_role(ctx.world, ctx.identity, ws) != "owner" and not (
        ctx.identity.token and ctx.identity.token.scope_kind == "workspace"
    ):
        raise WorldError(403, "Only workspace owners can manage workspace webhooks.")
    return ws


def _hooks_of(ctx: Ctx, workspace: str, repo_slug: str | None) -> tuple[list[Hook], str, str]:
    if repo_slug is None:
        ws = _hook_owner_ws(ctx, workspace)
        return ws.hooks, "workspace", ws.uuid
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug, need="admin")
    return repo.hooks, "repository", repo.uuid


def _validate_hook(body: dict, partial: bool = False) -> None:
    errors: dict[str, list[str]] = {}
    url = body.get("url")
    if url is not None or not partial:
        parsed = urlparse(str(url or ""))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors["url"] = ["Enter a valid URL."]
    events = body.get("events")
    if events is not None or not partial:
        if not isinstance(events, list) or not events:
            errors["events"] = ["This field is required."]
        else:
            bad = [e for e in events if e not in HOOK_EVENTS]
            if bad:
                errors["events"] = [f"Invalid event: {e}" for e in bad]
    if errors:
        first = next(iter(errors))
        raise WorldError(400, f"{first}: {errors[first][0]}", fields=errors)


def hook_list(ctx: Ctx, workspace: str, repo_slug: str | None = None) -> Result:
    hooks, _, _ = _hooks_of(ctx, workspace, repo_slug)
    return Result(query.page([s.hook(ctx.world, h) for h in hooks], ctx.args, ctx.url()))


def hook_create(ctx: Ctx, workspace: str, repo_slug: str | None = None) -> Result:
    hooks, subject_type, subject_uuid = _hooks_of(ctx, workspace, repo_slug)
    body = ctx.body()
    _validate_hook(body)
    hook = Hook(
        uuid=random_uuid(),
        subject_type=subject_type,
        subject_uuid=subject_uuid,
        url=body["url"],
        description=str(body.get("description", "")),
        active=as_bool(body.get("active"), True),
        events=sorted(set(body["events"])),
        secret=body.get("secret") or None,
        created_at=ctx.world.now(),
    )
    hooks.append(hook)
    ctx.world.version += 1
    data = s.hook(ctx.world, hook)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def _find_hook(hooks: list[Hook], uid: str) -> Hook:
    for h in hooks:
        if uid in (h.uuid, h.uuid.strip("{}")):
            return h
    raise WorldError(404, f"Webhook {uid} not found")


def hook_detail(ctx: Ctx, workspace: str, uid: str, repo_slug: str | None = None) -> Result:
    hooks, _, _ = _hooks_of(ctx, workspace, repo_slug)
    return Result(s.hook(ctx.world, _find_hook(hooks, uid)))


def hook_update(ctx: Ctx, workspace: str, uid: str, repo_slug: str | None = None) -> Result:
    hooks, _, _ = _hooks_of(ctx, workspace, repo_slug)
    hook = _find_hook(hooks, uid)
    body = ctx.body()
    _validate_hook(body, partial=True)
    if "url" in body:
        hook.url = body["url"]
    if "description" in body:
        hook.description = str(body["description"])
    if "active" in body:
        hook.active = as_bool(body["active"])
    if "events" in body:
        hook.events = sorted(set(body["events"]))
    if "secret" in body:
        hook.secret = body["secret"] or None
    ctx.world.version += 1
    return Result(s.hook(ctx.world, hook))


def hook_delete(ctx: Ctx, workspace: str, uid: str, repo_slug: str | None = None):
    hooks, _, _ = _hooks_of(ctx, workspace, repo_slug)
    hooks.remove(_find_hook(hooks, uid))
    ctx.world.version += 1
    return empty(204)


def repositories(ctx: Ctx, workspace: str) -> Result:
    world = ctx.world
    ws = world.workspace(workspace)
    role_filter = ctx.args.get("role")
    need = {"member": "read", "contributor": "write", "admin": "admin", "owner": "admin"}.get(role_filter or "")
    if role_filter and need is None:
        raise WorldError(400, f"Invalid role: {role_filter}", fields={"role": ["Invalid role."]})
    items = []
    for repo in world.repos_in(ws):
        perm = repo_permission(world, ctx.identity, repo)
        if perm is None:
            continue
        if need and PERMISSION_RANK[perm] < PERMISSION_RANK[need]:
            continue
        items.append(s.repository(world, repo))
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()))
