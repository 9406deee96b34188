"""World objects -> Bitbucket JSON: `type` on everything, braced uuids, condensed embedded objects, absolute links.

API links point at the emulator (`world.base_url + "/2.0/..."`); `html` links point at the emulator's host too,
with Bitbucket's web paths, so nothing in a payload leads to the real bitbucket.org.
"""

from __future__ import annotations

import html
import json
import mimetypes
import re
from typing import Any
from urllib.parse import quote

from ..world import branching, comments
from ..world.ids import fmt_time
from ..world.objects import (
    MERGE_STRATEGIES,
    AccessToken,
    Comment,
    Commit,
    CommitStatus,
    Hook,
    Participant,
    Project,
    PullRequest,
    Repository,
    User,
    Workspace,
)
from ..world.state import World
from ..world.tasks import open_count as open_tasks
from .query import apply_fields


def q(value: str) -> str:
    return quote(value, safe="")


def qpath(value: str) -> str:
    return quote(value, safe="/")


def link(href: str) -> dict:
    return {"href": href}


def api(world: World, path: str) -> str:
    return f"{world.base_url}/2.0{path}"


def web(world: World, path: str) -> str:
    return f"{world.base_url}{path}"


# A mention in Markdown is `@{account_id}`: `<digits>:<uuid>`, or a 24-hex id of older Atlassian accounts.
MENTION = re.compile(r"@\{([0-9]{1,12}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24})\}")


def _mentions(world: World, escaped: str) -> str:
    """Bitbucket's `html` for a mention: `<span class="ap-mention" data-atlassian-id="…">@Display Name</span>`. An id
    no account has stays as written (what Bitbucket does with one is unconfirmed)."""

    def one(match: re.Match) -> str:
        person = next((u for u in world.users.values() if u.account_id == match.group(1)), None)
        if person is None:
            return match.group(0)
        return (
            f'<span class="ap-mention" data-atlassian-id="{match.group(1)}">@{html.escape(person.display_name)}</span>'
        )

    return MENTION.sub(one, escaped)


def markup(raw: str, with_type: bool = True, world: World | None = None) -> dict:
    """`raw` with a plain rendering: paragraphs, escaped; with `world`, mentions as Bitbucket renders them."""
    paragraphs = [html.escape(p) for p in raw.split("\n\n") if p.strip()]
    if world is not None and "@{" in raw:
        paragraphs = [_mentions(world, p) for p in paragraphs]
    rendered = "".join(f"<p>{p}</p>" for p in paragraphs)
    out = {"raw": raw, "markup": "markdown", "html": rendered}
    if with_type:
        out["type"] = "rendered"
    return out


# ---- accounts --------------------------------------------------------------------------------------------------
def user(world: World, u: User, full: bool = False, me: bool = False) -> dict:
    out: dict[str, Any] = {
        "display_name": u.display_name,
        "links": {
            "self": link(api(world, f"/users/{q(u.uuid)}")),
            "avatar": link(web(world, f"/account/{q(u.uuid)}/avatar/")),
            "html": link(web(world, f"/{q(u.uuid)}/")),
        },
        "type": "user",
        "uuid": u.uuid,
        "account_id": u.account_id,
        "nickname": u.nickname,
    }
    if full:
        out["links"]["repositories"] = link(api(world, f"/repositories/{q(u.uuid)}"))
        out.update(
            {
                "created_on": fmt_time(u.created_on),
                "account_status": "active",
                "has_2fa_enabled": None,
                "is_staff": False,
                "location": None,
            }
        )
        if me:
            # /user still names the caller's own username (it is hidden from everyone else since 2019).
            out["username"] = u.username
    return out


def app_user(world: World, t: AccessToken) -> dict:
    return {
        "display_name": t.name,
        "links": {"avatar": link(web(world, f"/account/{q(t.uuid)}/avatar/"))},
        "type": "app_user",
        "uuid": t.uuid,
        "account_id": t.account_id,
        "account_status": "active",
        "kind": f"{t.scope_kind}_access_token",
    }


def account(world: World, uuid: str | None) -> dict | None:
    if uuid is None:
        return None
    if uuid in world.users:
        return user(world, world.users[uuid])
    for t in world.access_tokens.values():
        if t.uuid == uuid:
            return app_user(world, t)
    return {"type": "user", "uuid": uuid, "display_name": "Former user", "links": {}}


# ---- workspaces and projects -----------------------------------------------------------------------------------
def workspace(world: World, ws: Workspace) -> dict:
    base = f"/workspaces/{ws.slug}"
    return {
        "type": "workspace",
        "uuid": ws.uuid,
        "name": ws.name,
        "slug": ws.slug,
        "is_private": ws.is_private,
        "is_privacy_enforced": False,
        "forking_mode": "internal_only",
        "created_on": fmt_time(ws.created_on),
        "updated_on": fmt_time(ws.updated_on),
        "links": {
            "avatar": link(web(world, f"/workspaces/{ws.slug}/avatar/?ts=0")),
            "html": link(web(world, f"/{ws.slug}/")),
            "members": link(api(world, f"{base}/members")),
            "owners": link(api(world, f"{base}/members?q=permission%3D%22owner%22")),
            "projects": link(api(world, f"{base}/projects")),
            "repositories": link(api(world, f"/repositories/{ws.slug}")),
            "snippets": link(api(world, f"/snippets/{ws.slug}")),
            "self": link(api(world, base)),
        },
    }


def workspace_condensed(world: World, ws: Workspace) -> dict:
    return {
        "type": "workspace",
        "uuid": ws.uuid,
        "name": ws.name,
        "slug": ws.slug,
        "links": {
            "avatar": link(web(world, f"/workspaces/{ws.slug}/avatar/?ts=0")),
            "html": link(web(world, f"/{ws.slug}/")),
            "self": link(api(world, f"/workspaces/{ws.slug}")),
        },
    }


def workspace_base(world: World, ws: Workspace) -> dict:
    return {
        "type": "workspace_base",
        "uuid": ws.uuid,
        "slug": ws.slug,
        "links": {
            "avatar": link(web(world, f"/workspaces/{ws.slug}/avatar/?ts=0")),
            "self": link(api(world, f"/workspaces/{ws.slug}")),
        },
    }


def membership(world: World, ws: Workspace, u: User, with_permission: bool = False) -> dict:
    out: dict[str, Any] = {
        "type": "workspace_membership",
        "user": user(world, u),
        "workspace": workspace_condensed(world, ws),
        "links": {"self": link(api(world, f"/workspaces/{ws.slug}/members/{q(u.uuid)}"))},
    }
    if with_permission:
        out["permission"] = ws.members[u.uuid]
        if u.uuid in ws.member_since:
            out["added_on"] = fmt_time(ws.member_since[u.uuid])
    return out


def project(world: World, ws: Workspace, p: Project, condensed: bool = False) -> dict:
    out: dict[str, Any] = {
        "type": "project",
        "uuid": p.uuid,
        "key": p.key,
        "name": p.name,
        "links": {
            "self": link(api(world, f"/workspaces/{ws.slug}/projects/{p.key}")),
            "html": link(web(world, f"/{ws.slug}/workspace/projects/{p.key}")),
            "avatar": link(web(world, f"/account/user/{ws.slug}/projects/{p.key}/avatar/32")),
        },
    }
    if not condensed:
        out.update(
            {
                "description": p.description,
                "is_private": p.is_private,
                "created_on": fmt_time(p.created_on),
                "updated_on": fmt_time(p.updated_on),
                "has_publicly_visible_repos": False,
                "owner": {
                    "type": "team",
                    "uuid": ws.uuid,
                    "display_name": ws.name,
                    "username": ws.slug,
                    "links": {
                        "self": link(api(world, f"/workspaces/{ws.slug}")),
                        "html": link(web(world, f"/{ws.slug}/")),
                        "avatar": link(web(world, f"/workspaces/{ws.slug}/avatar/?ts=0")),
                    },
                },
                "workspace": workspace_condensed(world, ws),
            }
        )
    return out


# ---- repositories ----------------------------------------------------------------------------------------------
def repository_condensed(world: World, r: Repository) -> dict:
    full_name = world.full_name(r)
    return {
        "type": "repository",
        "full_name": full_name,
        "links": {
            "self": link(api(world, f"/repositories/{full_name}")),
            "html": link(web(world, f"/{full_name}")),
            "avatar": link(web(world, f"/{full_name}/avatar/32/?ts={r.language or 'default'}")),
        },
        "name": r.name,
        "uuid": r.uuid,
    }


def repository(world: World, r: Repository) -> dict:
    ws = world.workspace_of(r)
    full_name = world.full_name(r)
    base = f"/repositories/{full_name}"
    host = world.base_url.split("://", 1)[-1].split(":")[0]
    out = {
        "type": "repository",
        "full_name": full_name,
        "links": {
            "self": link(api(world, base)),
            "html": link(web(world, f"/{full_name}")),
            "avatar": link(web(world, f"/{full_name}/avatar/32/?ts={r.language or 'default'}")),
            "pullrequests": link(api(world, f"{base}/pullrequests")),
            "commits": link(api(world, f"{base}/commits")),
            "forks": link(api(world, f"{base}/forks")),
            "watchers": link(api(world, f"{base}/watchers")),
            "branches": link(api(world, f"{base}/refs/branches")),
            "tags": link(api(world, f"{base}/refs/tags")),
            "downloads": link(api(world, f"{base}/downloads")),
            "source": link(api(world, f"{base}/src")),
            "hooks": link(api(world, f"{base}/hooks")),
            "clone": [
                {"name": "https", "href": f"{world.base_url.split('://')[0]}://{host}/{full_name}.git"},
                {"name": "ssh", "href": f"git@{host}:{full_name}.git"},
            ],
        },
        "name": r.name,
        "slug": r.slug,
        "description": r.description,
        "scm": "git",
        "website": r.website or None,
        "owner": {
            "display_name": ws.name,
            "links": {
                "self": link(api(world, f"/workspaces/{ws.slug}")),
                "avatar": link(web(world, f"/workspaces/{ws.slug}/avatar/?ts=0")),
                "html": link(web(world, f"/{ws.slug}/")),
            },
            "type": "team",
            "uuid": ws.uuid,
            "username": ws.slug,
        },
        "workspace": workspace_condensed(world, ws),
        "is_private": r.is_private,
        "project": project(world, ws, ws.projects[r.project_key], condensed=True)
        if r.project_key in ws.projects
        else None,
        "fork_policy": r.fork_policy,
        "created_on": fmt_time(r.created_on),
        "updated_on": fmt_time(r.updated_on),
        "size": sum(len(b) for b in world.resolve(r, r.mainbranch).tree.values()) if r.branches else 0,
        "language": r.language,
        "uuid": r.uuid,
        "mainbranch": {"name": r.mainbranch, "type": "branch"},
        "override_settings": {"default_merge_strategy": True, "branching_model": True},
        "parent": None,
        "enforced_signed_commits": None,
        "has_issues": False,
        "has_wiki": False,
    }
    return out


def repo_permission(world: World, r: Repository, u: User, permission: str) -> dict:
    return {
        "type": "repository_permission",
        "permission": permission,
        "user": user(world, u),
        "repository": repository_condensed(world, r),
        "links": {"self": link(api(world, f"/user/workspaces/{world.workspace_of(r).slug}/permissions/repositories"))},
    }


# ---- commits, refs, files --------------------------------------------------------------------------------------
def commit_condensed(world: World, r: Repository, h: str, short: bool = False) -> dict:
    full_name = world.full_name(r)
    return {
        "type": "commit",
        "hash": h[:12] if short else h,
        "links": {
            "self": link(api(world, f"/repositories/{full_name}/commit/{h}")),
            "html": link(web(world, f"/{full_name}/commits/{h}")),
        },
    }


def author(world: World, c: Commit) -> dict:
    out: dict[str, Any] = {"type": "author", "raw": c.author_raw}
    if c.author_uuid and c.author_uuid in world.users:
        out["user"] = user(world, world.users[c.author_uuid])
    return out


def commit(world: World, r: Repository, c: Commit) -> dict:
    full_name = world.full_name(r)
    base = f"/repositories/{full_name}"
    return {
        "type": "commit",
        "hash": c.hash,
        "date": fmt_time(c.date),
        "author": author(world, c),
        "committer": {"type": "committer", "raw": c.author_raw},
        "message": c.message if c.message.endswith("\n") else c.message + "\n",
        "summary": markup(c.message),
        "rendered": {"message": markup(c.message)},
        "parents": [commit_condensed(world, r, p) for p in c.parents],
        "repository": repository_condensed(world, r),
        "links": {
            "self": link(api(world, f"{base}/commit/{c.hash}")),
            "html": link(web(world, f"/{full_name}/commits/{c.hash}")),
            "diff": link(api(world, f"{base}/diff/{c.hash}")),
            "patch": link(api(world, f"{base}/patch/{c.hash}")),
            "comments": link(api(world, f"{base}/commit/{c.hash}/comments")),
            "approve": link(api(world, f"{base}/commit/{c.hash}/approve")),
            "statuses": link(api(world, f"{base}/commit/{c.hash}/statuses")),
        },
    }


def commit_status(world: World, r: Repository, st: CommitStatus, short: bool = False) -> dict:
    """A build status as Bitbucket sends it: type "build", the commit and repository embedded (not in the schema,
    in every recorded body); `short` gives the 12-character hash a pull request's status list shows."""
    full_name = world.full_name(r)
    h = st.commit[:12] if short else st.commit
    commit_href = api(world, f"/repositories/{full_name}/commit/{h}")
    return {
        "key": st.key,
        "type": "build",
        "state": st.state,
        "name": st.name,
        "refname": st.refname,
        "commit": commit_condensed(world, r, h),
        "url": st.url,
        "repository": repository_condensed(world, r),
        "description": st.description,
        "created_on": fmt_time(st.created_on),
        "updated_on": fmt_time(st.updated_on),
        "links": {
            "self": link(f"{commit_href}/statuses/build/{q(st.key)}"),
            "commit": link(commit_href),
        },
    }


def branch(world: World, r: Repository, name: str) -> dict:
    full_name = world.full_name(r)
    c = r.commits[r.branches[name]]
    return {
        "name": name,
        "target": commit(world, r, c),
        "links": {
            "self": link(api(world, f"/repositories/{full_name}/refs/branches/{qpath(name)}")),
            "commits": link(api(world, f"/repositories/{full_name}/commits/{qpath(name)}")),
            "html": link(web(world, f"/{full_name}/branch/{qpath(name)}")),
        },
        "type": "branch",
        "merge_strategies": list(MERGE_STRATEGIES),
        "default_merge_strategy": "merge_commit",
    }


def tag(world: World, r: Repository, name: str) -> dict:
    full_name = world.full_name(r)
    c = r.commits[r.tags[name]]
    return {
        "name": name,
        "target": commit(world, r, c),
        "links": {
            "self": link(api(world, f"/repositories/{full_name}/refs/tags/{qpath(name)}")),
            "commits": link(api(world, f"/repositories/{full_name}/commits/{qpath(name)}")),
            "html": link(web(world, f"/{full_name}/commits/tag/{qpath(name)}")),
        },
        "type": "tag",
        **_tag_object(world, r, name, c),
    }


def tag_fields(world: World, r: Repository, name: str, c: Commit, obj: dict | None = None) -> dict:
    """A tag's message, date and tagger from its tag object (`obj`, else the repository's), for a push payload."""
    return _tag_object(world, r, name, c, obj)


def _tag_object(world: World, r: Repository, name: str, c: Commit, obj: dict | None = None) -> dict:
    """An annotated tag's message, date and tagger; a seeded (lightweight) tag gets the default message and its
    commit's date and author (how Bitbucket renders lightweight tags is unconfirmed, reference 27)."""
    obj = obj or r.tag_objects.get(name)
    if obj is None:
        return {
            "message": f"Added tag {name} for changeset {c.hash[:12]}\n",
            "date": fmt_time(c.date),
            "tagger": author(world, c),
        }
    tagger: dict[str, Any] = {"type": "author", "raw": obj["tagger_raw"]}
    if obj.get("tagger_uuid") in world.users:
        tagger["user"] = user(world, world.users[obj["tagger_uuid"]])
    return {"message": obj["message"], "date": obj["date"], "tagger": tagger}


def branching_model(world: World, r: Repository, *, effective: bool) -> dict:
    """`branching_model` / `effective_repo_branching_model`: the enabled types only; `production` only when
    enabled; each named branch embedded when it exists (reference 28)."""
    full_name = world.full_name(r)

    def target(name: str | None, use_mainbranch: bool) -> dict:
        out: dict[str, Any] = {"name": name, "use_mainbranch": use_mainbranch}
        if name in r.branches:
            out["branch"] = branch(world, r, name)
        return out

    dev = branching.development_branch(r)
    settings = branching.settings(r)
    body: dict[str, Any] = {
        "type": "effective_repo_branching_model" if effective else "branching_model",
        "development": target(dev, settings["development"]["use_mainbranch"]),
        "branch_types": branching.enabled_types(r),
        "links": {"self": link(api(world, f"/repositories/{full_name}/branching-model"))},
    }
    prod = branching.production_branch(r)
    if prod is not None:
        body["production"] = target(prod, settings["production"]["use_mainbranch"])
    return body


def branching_model_settings(world: World, r: Repository) -> dict:
    settings = branching.settings(r)
    valid = {
        which: bool(settings[which]["use_mainbranch"] or settings[which]["name"] in r.branches)
        for which in ("development", "production")
    }
    return {
        "type": "branching_model_settings",
        "development": {**settings["development"], "is_valid": valid["development"]},
        "production": {**settings["production"], "is_valid": valid["production"]},
        "branch_types": settings["branch_types"],
        "default_branch_deletion": settings["default_branch_deletion"],
        "links": {"self": link(api(world, f"/repositories/{world.full_name(r)}/branching-model/settings"))},
    }


def _mimetype(path: str) -> str | None:
    kind, _ = mimetypes.guess_type(path)
    return kind


def tree_entry(world: World, r: Repository, c: Commit, path: str, is_dir: bool) -> dict:
    full_name = world.full_name(r)
    href = api(world, f"/repositories/{full_name}/src/{c.hash}/{qpath(path)}")
    if is_dir:
        return {
            "path": path,
            "type": "commit_directory",
            "links": {"self": link(href + "/"), "meta": link(href + "/?format=meta")},
            "commit": commit_condensed(world, r, c.hash),
        }
    content = c.tree[path]
    return {
        "path": path,
        "escaped_path": path,
        "type": "commit_file",
        "size": len(content),
        "mimetype": _mimetype(path),
        "links": {
            "self": link(href),
            "meta": link(href + "?format=meta"),
            "history": link(api(world, f"/repositories/{full_name}/filehistory/{c.hash}/{qpath(path)}")),
        },
        "commit": commit_condensed(world, r, c.hash),
    }


def history_entry(world: World, r: Repository, c: Commit, path: str) -> dict:
    """A `filehistory` value: the file (`commit_file`, its name at that commit) with the whole commit embedded (the
    documented example filters on `commit.date`, so the embedded commit carries more than a hash)."""
    full_name = world.full_name(r)
    href = api(world, f"/repositories/{full_name}/src/{c.hash}/{qpath(path)}")
    content = c.tree[path]
    return {
        "type": "commit_file",
        "path": path,
        "escaped_path": path,
        "size": len(content),
        "attributes": [] if b"\0" not in content[:1024] else ["binary"],
        "commit": commit(world, r, c),
        "links": {
            "self": link(href),
            "meta": link(href + "?format=meta"),
            "history": link(api(world, f"/repositories/{full_name}/filehistory/{c.hash}/{qpath(path)}")),
        },
    }


def diffstat_file(world: World, r: Repository, h: str, path: str | None) -> dict | None:
    if path is None:
        return None
    full_name = world.full_name(r)
    return {
        "path": path,
        "escaped_path": path,
        "type": "commit_file",
        "links": {"self": link(api(world, f"/repositories/{full_name}/src/{h}/{qpath(path)}"))},
    }


# ---- pull requests ---------------------------------------------------------------------------------------------
def participant(world: World, p: Participant) -> dict:
    return {
        "type": "participant",
        "user": account(world, p.user_uuid),
        "role": p.role,
        "approved": p.approved,
        "state": p.state,
        "participated_on": fmt_time(p.participated_on),
    }


def _endpoint(world: World, r: Repository, branch_name: str, h: str, destination: bool) -> dict:
    b: dict[str, Any] = {"name": branch_name}
    if destination:
        b["merge_strategies"] = list(MERGE_STRATEGIES)
        b["default_merge_strategy"] = "merge_commit"
    return {
        "branch": b,
        "commit": commit_condensed(world, r, h, short=True),
        "repository": repository_condensed(world, r),
    }


def pullrequest(world: World, r: Repository, pr: PullRequest) -> dict:
    """The full PR (with reviewers and participants); lists hide those two through `fields` defaults."""
    key = ("pullrequest", r.uuid, pr.id)
    version = (pr.rev, r.rev, r.slug, world.base_url)
    cached = world.cache.get(key)
    if cached and cached[0] == version:
        return cached[1]
    out = _pullrequest(world, r, pr)
    world.cache[key] = (version, out)
    return out


def pullrequest_list_item(world: World, r: Repository, pr: PullRequest) -> dict:
    """The PR as lists show it: without `reviewers` and `participants` (cached like the full one)."""
    key = ("pullrequest-item", r.uuid, pr.id)
    version = (pr.rev, r.rev, r.slug, world.base_url)
    cached = world.cache.get(key)
    if cached and cached[0] == version:
        return cached[1]
    full = pullrequest(world, r, pr)
    out = {k: v for k, v in full.items() if k not in ("reviewers", "participants")}
    world.cache[key] = (version, out)
    return out


def pullrequest_list_item_json(
    world: World, r: Repository, pr: PullRequest, item_fields: str = "", hidden: tuple[str, ...] = ()
) -> bytes:
    """A list item encoded, after the item's part of `fields=` (cached per PR version and fields string)."""
    key = ("pullrequest-item-json", r.uuid, pr.id, item_fields, hidden)
    version = (pr.rev, r.rev, r.slug, world.base_url)
    cached = world.cache.get(key)
    if cached and cached[0] == version:
        return cached[1]
    if item_fields or hidden:
        data = apply_fields(pullrequest(world, r, pr), item_fields, hidden)
    else:
        data = pullrequest_list_item(world, r, pr)
    out = json.dumps(data, separators=(", ", ": ")).encode()
    world.cache[key] = (version, out)
    return out


def _pullrequest(world: World, r: Repository, pr: PullRequest) -> dict:
    full_name = world.full_name(r)
    base = f"/repositories/{full_name}/pullrequests/{pr.id}"
    spec = f"{pr.source_hash[:12]}..{pr.dest_hash[:12]}"
    return {
        "comment_count": sum(1 for c in pr.comments if not c.deleted and not c.pending),  # drafts: unconfirmed
        "task_count": open_tasks(pr),
        "type": "pullrequest",
        "id": pr.id,
        "title": pr.title,
        "description": pr.description,
        "rendered": {
            "title": markup(pr.title),
            "description": markup(pr.description, world=world),
            "reason": markup(pr.reason),
        },
        "state": pr.state,
        "draft": pr.draft,
        "queued": False,
        "merge_commit": commit_condensed(world, r, pr.merge_commit, short=True) if pr.merge_commit else None,
        "close_source_branch": pr.close_source_branch,
        "closed_by": account(world, pr.closed_by),
        "author": account(world, pr.author_uuid),
        "reason": pr.reason,
        "created_on": fmt_time(pr.created_on),
        "updated_on": fmt_time(pr.updated_on),
        "destination": _endpoint(world, r, pr.dest_branch, pr.dest_hash, True),
        "source": _endpoint(world, r, pr.source_branch, pr.source_hash, False),
        "reviewers": [account(world, u) for u in pr.reviewers],
        "participants": [participant(world, p) for p in pr.participants.values()],
        "links": {
            "self": link(api(world, base)),
            "html": link(web(world, f"/{full_name}/pull-requests/{pr.id}")),
            "commits": link(api(world, f"{base}/commits")),
            "approve": link(api(world, f"{base}/approve")),
            "request-changes": link(api(world, f"{base}/request-changes")),
            "diff": link(api(world, f"/repositories/{full_name}/diff/{spec}?from_pullrequest_id={pr.id}&topic=true")),
            "diffstat": link(
                api(world, f"/repositories/{full_name}/diffstat/{spec}?from_pullrequest_id={pr.id}&topic=true")
            ),
            "comments": link(api(world, f"{base}/comments")),
            "activity": link(api(world, f"{base}/activity")),
            "merge": link(api(world, f"{base}/merge")),
            "decline": link(api(world, f"{base}/decline")),
            "statuses": link(api(world, f"{base}/statuses")),
        },
        "summary": markup(pr.description, world=world),
    }


def pullrequest_condensed(world: World, r: Repository, pr: PullRequest) -> dict:
    full_name = world.full_name(r)
    return {
        "type": "pullrequest",
        "id": pr.id,
        "title": pr.title,
        "draft": pr.draft,
        "links": {
            "self": link(api(world, f"/repositories/{full_name}/pullrequests/{pr.id}")),
            "html": link(web(world, f"/{full_name}/pull-requests/{pr.id}")),
        },
    }


def comment(world: World, r: Repository, pr: PullRequest, c: Comment, detail: bool = False) -> dict:
    """A PR comment; lists carry the five anchor keys only, `detail` (a create answer, a single GET, activity, a
    webhook) adds the revisions the comment was made against and whether its line has gone since."""
    full_name = world.full_name(r)
    out: dict[str, Any] = {
        "id": c.id,
        "created_on": fmt_time(c.created_on),
        "updated_on": fmt_time(c.updated_on),
        "content": markup(c.raw, world=world),
        "user": account(world, c.user_uuid),
        "deleted": c.deleted,
        "pending": c.pending,
        "type": "pullrequest_comment",
        "links": {
            "self": link(api(world, f"/repositories/{full_name}/pullrequests/{pr.id}/comments/{c.id}")),
            "html": link(web(world, f"/{full_name}/pull-requests/{pr.id}/_/diff#comment-{c.id}")),
        },
        "pullrequest": pullrequest_condensed(world, r, pr),
    }
    if c.parent_id is not None:
        out["parent"] = {
            "id": c.parent_id,
            "links": {
                "self": link(api(world, f"/repositories/{full_name}/pullrequests/{pr.id}/comments/{c.parent_id}")),
                "html": link(web(world, f"/{full_name}/pull-requests/{pr.id}/_/diff#comment-{c.parent_id}")),
            },
        }
    if c.inline:
        out["inline"] = {key: c.inline.get(key) for key in comments.ANCHOR_KEYS}
        if detail:
            out["inline"].update(
                outdated=comments.outdated(world, r, pr, c),
                context_lines="",
                src_rev=(c.src_rev or "")[:12] or None,
                dest_rev=(c.dest_rev or "")[:12] or None,
                base_rev=None,
            )
        if c.src_rev and c.dest_rev:
            path = quote(c.inline.get("path") or "", safe="")
            spec = f"{full_name}:{c.src_rev[:12]}..{c.dest_rev[:12]}"
            out["links"]["code"] = link(api(world, f"/repositories/{full_name}/diff/{spec}?path={path}"))
    if c.resolved_on is not None:
        out["resolution"] = {
            "type": "comment_resolution",
            "user": account(world, c.resolved_by),
            "created_on": fmt_time(c.resolved_on),
        }
    return out


def activity(world: World, r: Repository, pr: PullRequest, entry: dict) -> dict:
    condensed = pullrequest_condensed(world, r, pr)
    kind = entry["kind"]
    if kind == "comment":
        c = next(c for c in pr.comments if c.id == entry["comment"])
        return {"comment": comment(world, r, pr, c, detail=True), "pull_request": condensed}
    if kind == "approval":
        return {
            "approval": {
                "date": fmt_time(entry["date"]),
                "user": account(world, entry["user"]),
                "pullrequest": condensed,
            },
            "pull_request": condensed,
        }
    if kind == "changes_request":
        return {
            "changes_requested": {
                "date": fmt_time(entry["date"]),
                "user": account(world, entry["user"]),
                "pullrequest": condensed,
            },
            "pull_request": condensed,
        }
    snap = entry["snapshot"]
    return {
        "update": {
            "state": snap["state"],
            "title": snap["title"],
            "description": snap["description"],
            "reason": snap["reason"],
            "draft": snap["draft"],
            "author": account(world, snap["author"]),
            "date": fmt_time(entry["date"]),
            "source": _endpoint(world, r, snap["source"][0], snap["source"][1], False),
            "destination": _endpoint(world, r, snap["destination"][0], snap["destination"][1], True),
        },
        "pull_request": condensed,
    }


# ---- hooks -----------------------------------------------------------------------------------------------------
def hook(world: World, h: Hook) -> dict:
    if h.subject_type == "workspace":
        ws = world.workspaces[h.subject_uuid]
        subject = workspace_condensed(world, ws)
        self_href = api(world, f"/workspaces/{ws.slug}/hooks/{q(h.uuid)}")
    else:
        r = world.repositories[h.subject_uuid]
        subject = repository_condensed(world, r)
        self_href = api(world, f"/repositories/{world.full_name(r)}/hooks/{q(h.uuid)}")
    return {
        "type": "webhook_subscription",
        "uuid": h.uuid,
        "url": h.url,
        "description": h.description,
        "subject_type": h.subject_type,
        "subject": subject,
        "active": h.active,
        "created_at": fmt_time(h.created_at),
        "events": list(h.events),
        "secret_set": bool(h.secret),
        "read_only": False,
        "skip_cert_verification": False,
        "source": None,
        "links": {"self": link(self_href)},
    }
