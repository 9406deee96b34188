"""The Data Center read endpoints (reference §8.1 to §8.4). Each takes the request `Ctx` and the path arguments and
returns JSON-ready data (or a `Response` for text)."""

from __future__ import annotations

import difflib
import mimetypes
from email.utils import format_datetime
from typing import Any

from werkzeug.wrappers import Response

from ..world import merge
from ..world.datacenter import (
    EXC,
    PROJECT_PERMISSIONS,
    REPO_PERMISSIONS,
    DcComment,
    DcError,
    DcPullRequest,
    DcRepository,
)
from ..world.objects import Commit, WorldError
from ..world.state import World
from . import serialize as s
from .app import CAPS, Ctx, int_arg, page

ORDER = ("NEWEST", "OLDEST")


def _bad(message: str, context: str | None = None) -> DcError:
    return DcError(400, message, None, context=context)


def _enum(ctx: Ctx, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (ctx.args.get(name) or default).upper()
    if value not in allowed:
        raise _bad(f"{name} must be one of {', '.join(allowed)}", name)
    return value


# ---- instance, users, projects, repositories -------------------------------------------------------------------
def application_properties(ctx: Ctx) -> dict:
    site = ctx.site
    return {
        "version": site.version,
        "buildNumber": site.build_number,
        "buildDate": str(site.build_date),
        "displayName": site.display_name,
    }


def users(ctx: Ctx) -> dict:
    if ctx.identity.kind == "anonymous":
        raise ctx.denied()
    needle = (ctx.args.get("filter") or "").lower()
    found = [
        u
        for u in sorted(ctx.site.users.values(), key=lambda u: u.name)
        if u.user_type == "NORMAL" and (not needle or needle in f"{u.name} {u.display_name} {u.email}".lower())
    ]
    return page(ctx.request, found, lambda u: s.user(ctx.world, ctx.site, u))


def user(ctx: Ctx, user_slug: str) -> dict:
    if ctx.identity.kind == "anonymous":
        raise ctx.denied()
    return s.user(ctx.world, ctx.site, ctx.site.user(user_slug))


def projects(ctx: Ctx) -> dict:
    permission = ctx.args.get("permission")
    if permission and permission not in PROJECT_PERMISSIONS:
        raise _bad(f"Invalid permission {permission}; it must be a project permission", "permission")
    name = (ctx.args.get("name") or "").lower()
    need = {"PROJECT_READ": 1, "PROJECT_WRITE": 2, "PROJECT_ADMIN": 3}.get(permission or "", 0)
    found = [
        p
        for p in sorted(ctx.site.projects.values(), key=lambda p: p.key)
        if not p.personal  # personal projects are reached by key, not listed (reference §2.3)
        and ctx.can_view_project(p)
        and ctx.project_level(p) >= need
        and (not name or name in p.name.lower())
    ]
    return page(ctx.request, found, lambda p: s.project(ctx.world, ctx.site, p))


def project(ctx: Ctx, project_key: str) -> dict:
    return s.project(ctx.world, ctx.site, ctx.project(project_key))


def project_user_permissions(ctx: Ctx, project_key: str) -> dict:
    p = ctx.project(project_key, level=3)
    needle = (ctx.args.get("filter") or "").lower()
    grants = [
        (ctx.site.users[slug], perm)
        for slug, perm in sorted(p.permissions.items())
        if slug in ctx.site.users and (not needle or needle in slug.lower())
    ]
    return page(ctx.request, grants, lambda g: {"user": s.user(ctx.world, ctx.site, g[0]), "permission": g[1]})


def project_repos(ctx: Ctx, project_key: str) -> dict:
    p = ctx.site.project(project_key)
    if not ctx.can_view_project(p):
        raise ctx.denied()
    repos = [r for r in ctx.site.repos_of(p) if ctx.repo_level(r)]
    return page(ctx.request, repos, lambda r: s.repository(ctx.world, ctx.site, r))


def repository(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    return s.repository(ctx.world, ctx.site, ctx.repo(project_key, repo_slug))


def repos(ctx: Ctx) -> dict:
    """`GET /repos`: every repository the caller may read across the instance (personal ones included)."""
    permission = ctx.args.get("permission")
    if permission and permission not in REPO_PERMISSIONS:
        raise _bad(f"Invalid permission {permission}; it must be a repository permission", "permission")
    archived = _enum(ctx, "archived", ("ACTIVE", "ARCHIVED", "ALL"), "ACTIVE")
    visibility = (ctx.args.get("visibility") or "").lower()
    if visibility and visibility not in ("public", "private"):
        raise _bad("visibility must be public or private", "visibility")
    name = (ctx.args.get("name") or "").lower()
    project_name = (ctx.args.get("projectname") or "").lower()
    project_key = (ctx.args.get("projectkey") or "").lower()
    need = {"REPO_READ": 1, "REPO_WRITE": 2, "REPO_ADMIN": 3}.get(permission or "", 1)
    found = []
    for r in sorted(ctx.site.repositories, key=lambda r: (r.project_key.lower(), r.name.lower())):
        p = ctx.site.projects[r.project_key]
        if ctx.repo_level(r) < need:
            continue
        if permission and ctx.identity.kind == "anonymous":
            continue  # an anonymous caller is granted nothing (reference §3.1)
        if archived != "ALL" and r.archived != (archived == "ARCHIVED"):
            continue
        if visibility and (r.public or p.public) != (visibility == "public"):
            continue
        if name and name not in r.name.lower():
            continue
        if project_name and project_name not in p.name.lower():
            continue
        if project_key and project_key != p.key.lower():
            continue
        found.append(r)
    return page(ctx.request, found, lambda r: s.repository(ctx.world, ctx.site, r))


# ---- refs ------------------------------------------------------------------------------------------------------
def _refs(ctx: Ctx, names: dict[str, str], repo: DcRepository) -> list[str]:
    needle = ctx.args.get("filterText") or ""
    order = _enum(ctx, "orderBy", ("ALPHABETICAL", "MODIFICATION"), "ALPHABETICAL")
    found = [n for n in names if needle.lower() in n.lower()]
    if order == "MODIFICATION":
        found.sort(key=lambda n: (repo.git.commits[names[n]].date, n), reverse=True)
    else:
        found.sort()
    if ctx.args.get("boostMatches", "").lower() == "true" and needle:
        found.sort(key=lambda n: 0 if n == needle else 1 if n.startswith(needle) else 2)
    return found


def branches(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    found = _refs(ctx, repo.git.branches, repo)
    if (ctx.args.get("details") or "").lower() != "true":
        return page(ctx.request, found, lambda n: s.branch(repo, n))
    base = _metadata_base(ctx, repo)
    return page(ctx.request, found, lambda n: {**s.branch(repo, n), "metadata": _branch_metadata(ctx, repo, n, base)})


AHEAD_BEHIND = "com.atlassian.bitbucket.server.bitbucket-branch:ahead-behind-metadata-provider"
LATEST_COMMIT = "com.atlassian.bitbucket.server.bitbucket-branch:latest-commit-metadata"


def _metadata_base(ctx: Ctx, repo: DcRepository) -> str | None:
    """The commit `details=true` counts ahead/behind from: the `base` ref (``refs/heads/x``, ``x``, a tag or a hash),
    else the default branch; None when it does not resolve (no ahead/behind entries then)."""
    ref = ctx.args.get("base") or repo.git.mainbranch
    for prefix in ("refs/heads/", "refs/tags/"):
        ref = ref.removeprefix(prefix)
    try:
        return World.resolve(ctx.world, repo.git, ref).hash
    except WorldError:
        return None


def _branch_metadata(ctx: Ctx, repo: DcRepository, name: str, base: str | None) -> dict:
    """A branch's plugin `metadata` (reference §7.4): its tip commit, and how far it is ahead of and
    behind the base (none for the default branch itself when no `base` was given)."""
    git = repo.git
    tip = git.branches[name]
    out: dict[str, Any] = {LATEST_COMMIT: s.commit(ctx.world, ctx.site, git.commits[tip])}
    if base is not None and not (name == git.mainbranch and not ctx.args.get("base")):
        mine, theirs = World.ancestors(ctx.world, git, tip), World.ancestors(ctx.world, git, base)
        out[AHEAD_BEHIND] = {"ahead": len(mine - theirs), "behind": len(theirs - mine)}
    return out


def default_branch(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    """`GET /default-branch`: the configured default as a minimal ref, even when it was never pushed."""
    repo = ctx.repo(project_key, repo_slug)
    name = repo.git.mainbranch
    return {"id": f"refs/heads/{name}", "displayId": name, "type": "BRANCH"}


def branches_default(ctx: Ctx, project_key: str, repo_slug: str) -> Any:
    """The deprecated `GET /branches/default`: the branch; 204 for an empty repository; 404 when not pushed yet."""
    repo = ctx.repo(project_key, repo_slug)
    if not repo.git.branches:
        return Response(status=204)
    if repo.git.mainbranch not in repo.git.branches:
        raise DcError(
            404,
            f"Repository {repo.project_key}/{repo.slug} has no branch {repo.git.mainbranch}.",
            EXC + "repository.NoSuchBranchException",
        )
    return s.branch(repo, repo.git.mainbranch)


def tags(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    found = _refs(ctx, repo.git.tags, repo)
    return page(ctx.request, found, lambda n: s.tag(repo, n))


def tag(ctx: Ctx, project_key: str, repo_slug: str, name: str) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    if name not in repo.git.tags:
        raise DcError(
            404, f"Tag '{name}' does not exist in repository '{repo.slug}'.", EXC + "repository.NoSuchTagException"
        )
    return s.tag(repo, name)


# ---- commits, files, diffs -------------------------------------------------------------------------------------
def _resolve(ctx: Ctx, repo: DcRepository, rev: str, exact_commit: bool = False) -> Commit:
    """A commit by ref (`refs/heads/x`, `x`, `refs/tags/v`) or hash; `exact_commit` takes hashes only (the
    `commits/{commitId}` resource stopped accepting ref names in 2.11)."""
    missing = DcError(
        404,
        f"Commit '{rev}' does not exist in repository '{repo.slug}'.",
        EXC + "commit.NoSuchCommitException",
    )
    name = rev
    for prefix in ("refs/heads/", "refs/tags/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    if exact_commit and (name in repo.git.branches or name in repo.git.tags) and name not in repo.git.commits:
        raise missing
    try:
        return World.resolve(ctx.world, repo.git, name)
    except WorldError:
        raise missing from None


def _touches(world: World, repo: DcRepository, c: Commit, path: str) -> bool:
    parents = [repo.git.commits[p].tree for p in c.parents if p in repo.git.commits] or [{}]
    return any(merge.changed_paths(t, c.tree, [path]) for t in parents)


def commits(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    if not repo.git.branches:
        return page(ctx.request, [], lambda c: c, explicit_null=True)
    until = _resolve(ctx, repo, ctx.args.get("until") or repo.git.mainbranch)
    since = ctx.args.get("since")
    exclude = [_resolve(ctx, repo, since).hash] if since else []
    merges = _enum(ctx, "merges", ("EXCLUDE", "INCLUDE", "ONLY"), "INCLUDE")
    found = World.log(ctx.world, repo.git, [until.hash], exclude)
    if merges == "EXCLUDE":
        found = [c for c in found if len(c.parents) < 2]
    elif merges == "ONLY":
        found = [c for c in found if len(c.parents) > 1]
    path = ctx.args.get("path")
    if path:
        found = [c for c in found if _touches(ctx.world, repo, c, path.strip("/"))]
    return page(ctx.request, found, lambda c: s.commit(ctx.world, ctx.site, c), explicit_null=True)


def commit(ctx: Ctx, project_key: str, repo_slug: str, commit_id: str) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    return s.commit(ctx.world, ctx.site, _resolve(ctx, repo, commit_id, exact_commit=True))


def _change(ctx: Ctx, repo: DcRepository, old: merge.Tree, new: merge.Tree, path: str, to_hash: str) -> dict:
    a, b = old.get(path), new.get(path)
    kind = "ADD" if a is None else "DELETE" if b is None else "MODIFY"
    p = ctx.site.projects[repo.project_key]
    return {
        "contentId": merge.blob_id(b) if b is not None else s.ZERO,
        "fromContentId": merge.blob_id(a) if a is not None else s.ZERO,
        "path": s.path(path),
        "executable": False,
        "percentUnchanged": -1,
        "type": kind,
        "nodeType": "FILE",
        "srcExecutable": False,
        "links": {"self": [{"href": f"{s.base(ctx.world, ctx.site)}/{s._repo_ui(p, repo)}/commits/{to_hash}#{path}"}]},
        "properties": {"gitChangeType": kind},
    }


def commit_changes(ctx: Ctx, project_key: str, repo_slug: str, commit_id: str) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    c = _resolve(ctx, repo, commit_id, exact_commit=True)
    since = ctx.args.get("since")
    base_tree = _resolve(ctx, repo, since).tree if since else repo.git.commits[c.parents[0]].tree if c.parents else {}
    paths = merge.changed_paths(base_tree, c.tree)
    return page(ctx.request, paths, lambda p: _change(ctx, repo, base_tree, c.tree, p, c.hash), cap="changes")


def _tip(ctx: Ctx, repo: DcRepository) -> Commit:
    at = ctx.args.get("at") or repo.git.mainbranch
    return _resolve(ctx, repo, at)


def browse(ctx: Ctx, project_key: str, repo_slug: str, path: str = "") -> Any:
    """A file as a page of `lines`; a directory as `{path, revision, children: page}`; `type=true` just the kind."""
    repo = ctx.repo(project_key, repo_slug)
    c = _tip(ctx, repo)
    path = path.strip("/")
    at = ctx.args.get("at") or f"refs/heads/{repo.git.mainbranch}"
    if path in c.tree:
        if ctx.args.get("type", "").lower() == "true":
            return {"type": "FILE"}
        content = c.tree[path]
        if b"\0" in content[:8000]:
            return {"binary": True, "path": s.path(path)}
        lines = content.decode("utf-8", errors="replace").splitlines()
        return page(
            ctx.request, lines, lambda t: {"text": t}, cap="lines", default_limit=500, key="lines", explicit_null=True
        )
    prefix = path + "/" if path else ""
    children: dict[str, str] = {}
    for p in c.tree:
        if p.startswith(prefix):
            head, sep, _ = p[len(prefix) :].partition("/")
            children[head] = "DIRECTORY" if sep else children.get(head, "FILE")
    if not children:
        raise DcError(
            404,
            f'The path "{path}" does not exist at revision "{at}"',
            EXC + "content.NoSuchPathException",
        )
    if ctx.args.get("type", "").lower() == "true":
        return {"type": "DIRECTORY"}
    names = sorted(children, key=lambda n: (children[n] != "DIRECTORY", n))

    def child(name: str) -> dict:
        out: dict[str, Any] = {"path": s.path(name), "type": children[name]}
        if children[name] == "FILE":
            blob = c.tree[prefix + name]
            out.update(contentId=merge.blob_id(blob), size=len(blob))
        return out

    return {
        "path": s.path(path) if path else {"components": [], "name": "", "toString": ""},
        "revision": at,
        "children": page(ctx.request, names, child, default_limit=500),
    }


def raw(ctx: Ctx, project_key: str, repo_slug: str, path: str) -> Response:
    repo = ctx.repo(project_key, repo_slug)
    c = _tip(ctx, repo)
    content = c.tree.get(path.strip("/"))
    if content is None:
        raise DcError(
            404,
            f'The path "{path}" does not exist at revision "{ctx.args.get("at") or repo.git.mainbranch}"',
            EXC + "content.NoSuchPathException",
        )
    ctype = mimetypes.guess_type(path)[0] or ("application/octet-stream" if b"\0" in content[:8000] else "text/plain")
    if ctype.startswith("text/"):
        ctype += ";charset=UTF-8"
    return Response(content, headers={"Content-Type": ctype})


def _diff_doc(
    old: merge.Tree, new: merge.Tree, from_hash: str | None, to_hash: str, context: int, paths: list[str] | None
) -> dict:
    """The whole-diff document (reference §7.9): `{fromHash, toHash, contextLines, whitespace, diffs[], truncated}`."""
    diffs = []
    for path in merge.changed_paths(old, new, paths):
        a, b = old.get(path), new.get(path)
        a_lines = a.decode("utf-8", errors="replace").splitlines() if a is not None else []
        b_lines = b.decode("utf-8", errors="replace").splitlines() if b is not None else []
        hunks = []
        for group in difflib.SequenceMatcher(a=a_lines, b=b_lines, autojunk=False).get_grouped_opcodes(context):
            segments: list[dict] = []
            src0, dst0 = group[0][1], group[0][3]
            for tag, i1, i2, j1, j2 in group:
                parts = (
                    [("CONTEXT", i1, i2, j1, j2)]
                    if tag == "equal"
                    else [("REMOVED", i1, i2, j1, j1)] * (i2 > i1) + [("ADDED", i2, i2, j1, j2)] * (j2 > j1)
                )
                for kind, s1, s2, d1, d2 in parts:
                    count = max(s2 - s1, d2 - d1)
                    lines = []
                    for k in range(count):
                        # The other side's number on an added/removed line is the last line before it (0 at the top).
                        src = s1 + k + 1 if kind != "ADDED" else s1
                        dst = d1 + k + 1 if kind != "REMOVED" else d1
                        text = a_lines[s1 + k] if kind != "ADDED" else b_lines[d1 + k]
                        lines.append({"source": src, "destination": dst, "line": text, "truncated": False})
                    segments.append({"type": kind, "lines": lines, "truncated": False})
            src1, dst1 = group[-1][2], group[-1][4]
            hunks.append(
                {
                    "sourceLine": src0 + 1 if src1 > src0 else src0,
                    "sourceSpan": src1 - src0,
                    "destinationLine": dst0 + 1 if dst1 > dst0 else dst0,
                    "destinationSpan": dst1 - dst0,
                    "segments": segments,
                    "truncated": False,
                }
            )
        diffs.append(
            {
                "source": s.path(path) if a is not None else None,
                "destination": s.path(path) if b is not None else None,
                "hunks": hunks,
                "truncated": False,
            }
        )
    out: dict[str, Any] = {
        "fromHash": from_hash,
        "toHash": to_hash,
        "contextLines": context,
        "whitespace": "SHOW",
        "diffs": diffs,
        "truncated": False,
    }
    return out


def _context(ctx: Ctx) -> int:
    value = ctx.args.get("contextLines")
    if value in (None, "", "-1"):
        return 10  # Data Center's default diff context
    try:
        return max(0, int(value))
    except ValueError:
        raise _bad("contextLines must be a number", "contextLines") from None


def _wants_text(ctx: Ctx) -> bool:
    return "text/plain" in ctx.request.headers.get("Accept", "")


def commit_diff(ctx: Ctx, project_key: str, repo_slug: str, commit_id: str, path: str = "") -> Any:
    repo = ctx.repo(project_key, repo_slug)
    c = _resolve(ctx, repo, commit_id, exact_commit=True)
    since = ctx.args.get("since")
    base_c = _resolve(ctx, repo, since) if since else (repo.git.commits[c.parents[0]] if c.parents else None)
    old = base_c.tree if base_c else {}
    paths = [path.strip("/")] if path.strip("/") else None
    if _wants_text(ctx):
        return _text(merge.unified_diff(old, c.tree, _context(ctx), paths))
    return _diff_doc(old, c.tree, base_c.hash if base_c else None, c.hash, _context(ctx), paths)


def _text(body: str) -> Response:
    return Response(body.encode(), headers={"Content-Type": "text/plain;charset=UTF-8"})


# ---- pull requests ---------------------------------------------------------------------------------------------
def _pr_matches(ctx: Ctx, pr: DcPullRequest) -> bool:
    state = _enum(ctx, "state", ("OPEN", "DECLINED", "MERGED", "ALL"), "OPEN")
    if state != "ALL" and pr.state != state:
        return False
    at = ctx.args.get("at")
    if at:
        name = at.removeprefix("refs/heads/")
        direction = _enum(ctx, "direction", ("INCOMING", "OUTGOING"), "INCOMING")
        branch = pr.to_branch if direction == "INCOMING" else pr.from_branch
        if branch != name:
            return False
    draft = ctx.args.get("draft")
    if draft is not None and pr.draft != (draft.lower() == "true"):
        return False
    text = (ctx.args.get("filterText") or "").lower()
    if text and text not in f"{pr.title}\n{pr.description}".lower():
        return False
    for n in range(1, 11):
        username = ctx.args.get(f"username.{n}")
        if username is None:
            break
        role = (ctx.args.get(f"role.{n}") or "").upper()
        approved = ctx.args.get(f"approved.{n}")
        who = [
            p
            for p in pr.everyone()
            if ctx.site.users[p.user_slug].name == username
            and (not role or p.role == role)
            and (approved is None or (p.status == "APPROVED") == (approved.lower() == "true"))
        ]
        if not who:
            return False
    return True


def pull_requests(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    order = _enum(ctx, "order", ORDER, "NEWEST")
    _enum(ctx, "direction", ("INCOMING", "OUTGOING"), "INCOMING")
    found = [pr for pr in repo.pull_requests.values() if _pr_matches(ctx, pr)]
    # NEWEST: most recently updated first (reference §8.4; ids break ties), or most recently created when the
    # site's `newest_by` switch says so: which one a real server uses is unconfirmed (§11.1).
    if ctx.site.newest_by == "created":
        found.sort(key=lambda pr: (pr.created, pr.id), reverse=order == "NEWEST")
    else:
        found.sort(key=lambda pr: (pr.updated, pr.id), reverse=order == "NEWEST")
    with_props = ctx.args.get("withProperties", "true").lower() != "false"
    return page(
        ctx.request,
        found,
        lambda pr: s.pull_request(ctx.world, ctx.site, repo, pr, with_props),
        max_limit=ctx.site.pull_request_page_max,
    )


def pull_request(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    return s.pull_request(ctx.world, ctx.site, repo, ctx.site.pull_request(repo, pr_id))


def pr_participants(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    return page(ctx.request, pr.everyone(), lambda p: s.participant(ctx.world, ctx.site, p))


def activities(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    """Newest first: OPENED, COMMENTED (with the whole thread), APPROVED / REVIEWED (NEEDS_WORK), MERGED,
    DECLINED; ids grow with time."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    items: list[tuple[Any, int, dict]] = []
    user = lambda slug: s.user(ctx.world, ctx.site, ctx.site.users[slug])  # noqa: E731
    items.append((pr.created, 0, {"user": user(pr.author.user_slug), "action": "OPENED"}))
    for c in pr.comments:
        entry: dict[str, Any] = {
            "user": user(c.author_slug),
            "action": "COMMENTED",
            "commentAction": "ADDED",
            "comment": s.comment(ctx.world, ctx.site, repo, c, ctx.identity.user),
        }
        if c.anchor:
            entry["commentAnchor"] = dict(c.anchor)  # `path` a plain string here (reference §7.8)
        items.append((c.created, 1, entry))
    for p in pr.reviewers + pr.participants:
        if p.status != "UNAPPROVED" and p.status_date is not None:
            action = "APPROVED" if p.status == "APPROVED" else "REVIEWED"
            items.append((p.status_date, 2, {"user": user(p.user_slug), "action": action}))
    if pr.closed is not None and pr.state in ("MERGED", "DECLINED"):
        closer = next((p for p in pr.participants if p.role == "PARTICIPANT"), pr.author)
        entry = {"user": user(closer.user_slug), "action": pr.state}
        if pr.merge_commit and pr.merge_commit in repo.git.commits:
            entry["commit"] = s.commit(ctx.world, ctx.site, repo.git.commits[pr.merge_commit])
        items.append((pr.closed, 3, entry))
    items.sort(key=lambda t: (t[0], t[1]))
    # Activity ids are instance-wide on Data Center: derived from the repository and PR so none repeats.
    first = repo.id * 100_000 + pr.id * 1000
    numbered = [{"id": first + i + 1, "createdDate": s.ms(when), **body} for i, (when, _, body) in enumerate(items)]
    numbered.reverse()
    from_id = ctx.args.get("fromId")
    if from_id is not None:
        kind = _enum(ctx, "fromType", ("COMMENT", "ACTIVITY"), "ACTIVITY")
        key = (lambda a: str(a.get("comment", {}).get("id"))) if kind == "COMMENT" else (lambda a: str(a["id"]))
        index = next((i for i, a in enumerate(numbered) if key(a) == from_id), None)
        numbered = numbered[index:] if index is not None else []
    return page(ctx.request, numbered, lambda a: a, cap="activities")


def _pr_trees(ctx: Ctx, repo: DcRepository, pr: DcPullRequest) -> tuple[str, merge.Tree, merge.Tree]:
    base = World.merge_base(ctx.world, repo.git, pr.from_hash, pr.to_hash) or pr.to_hash
    return base, repo.git.commits[base].tree, repo.git.commits[pr.from_hash].tree


def pr_changes(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    """A single page (`start` is ignored) plus `fromHash`, `toHash` and `properties.changeScope`."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    base, old, new = _pr_trees(ctx, repo, pr)
    paths = merge.changed_paths(old, new)
    limit = min(max(int_arg(ctx.request, "limit", 25), 1), CAPS["changes"])
    chunk = paths[:limit]
    return {
        "fromHash": pr.from_hash,
        "toHash": base,
        "properties": {"changeScope": "ALL"},
        "size": len(chunk),
        "limit": limit,
        "isLastPage": len(paths) <= limit,
        "values": [_change(ctx, repo, old, new, p, pr.from_hash) for p in chunk],
        "start": 0,
        **({"nextPageStart": limit} if len(paths) > limit else {}),
    }


def pr_diff(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int, path: str = "") -> Any:
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    base, old, new = _pr_trees(ctx, repo, pr)
    paths = [path.strip("/")] if path.strip("/") else None
    if _wants_text(ctx):
        return _text(merge.unified_diff(old, new, _context(ctx), paths))
    return _diff_doc(old, new, base, pr.from_hash, _context(ctx), paths)


def pr_diff_text(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> Response:
    """`GET {PR}.diff`: the unified diff as text."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    _base, old, new = _pr_trees(ctx, repo, pr)
    return _text(merge.unified_diff(old, new, _context(ctx)))


def repo_user_permissions(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    """REPO_ADMIN: the users granted on the repository itself (project grants are listed on the project)."""
    repo = ctx.repo(project_key, repo_slug, level=3)
    needle = (ctx.args.get("filter") or "").lower()
    grants = [
        (ctx.site.users[slug], perm)
        for slug, perm in sorted(repo.permissions.items())
        if slug in ctx.site.users and (not needle or needle in slug.lower())
    ]
    return page(ctx.request, grants, lambda g: {"user": s.user(ctx.world, ctx.site, g[0]), "permission": g[1]})


def pr_commits(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    """The source branch's commits that the target does not have, newest first."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    found = World.log(ctx.world, repo.git, [pr.from_hash], [pr.to_hash])
    return page(ctx.request, found, lambda c: s.commit(ctx.world, ctx.site, c))


def pr_merge_status(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    """`GET {PR}/merge`: `{canMerge, conflicted, outcome, vetoes}`; 409 when the pull request is not open. No merge
    checks are configured on the emulated site, so the only veto-free refusal is a conflict."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    if pr.state != "OPEN":
        raise DcError(
            409,
            f"This pull request has already been {pr.state.lower()}.",
            EXC + "pull.IllegalPullRequestStateException",
        )
    base = World.merge_base(ctx.world, repo.git, pr.from_hash, pr.to_hash)
    git = repo.git
    try:
        merge.merge_trees(
            git.commits[base].tree if base else {}, git.commits[pr.to_hash].tree, git.commits[pr.from_hash].tree
        )
        conflicted = False
    except merge.MergeConflict:
        conflicted = True
    return {
        "canMerge": not conflicted,
        "conflicted": conflicted,
        "outcome": "CONFLICTED" if conflicted else "CLEAN",
        "vetoes": [],
    }


def blocker_comments(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    """Tasks: BLOCKER comments (thread roots and replies), `states` `OPEN`/`RESOLVED` (comma-separated or repeated)."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    wanted = {x.strip().upper() for v in ctx.args.getlist("states") for x in v.split(",") if x.strip()}
    if wanted - {"OPEN", "RESOLVED"}:
        raise _bad("states must be OPEN or RESOLVED", "states")
    found = []
    stack = list(pr.comments)
    while stack:
        c = stack.pop(0)
        if c.severity == "BLOCKER" and (not wanted or c.state in wanted):
            found.append(c)
        stack.extend(c.replies)
    return page(ctx.request, found, lambda c: s.comment(ctx.world, ctx.site, repo, c, ctx.identity.user))


def _readable_prs(ctx: Ctx) -> list[tuple[DcRepository, DcPullRequest]]:
    return [(r, pr) for r in ctx.site.repositories if ctx.repo_level(r) for pr in r.pull_requests.values()]


def _me(ctx: Ctx, slug: str | None = None):
    """The user a dashboard or inbox search is for (the caller by default); 401 for anonymous callers."""
    if ctx.identity.user is None:
        raise ctx.denied()
    return ctx.site.user(slug) if slug else ctx.identity.user


def dashboard_pull_requests(ctx: Ctx) -> dict:
    """PRs across every readable repository where the user takes part (`role`, `participantStatus`, `state`
    (omitted: all), `closedSince` seconds, `order` NEWEST/OLDEST), reference §8.4."""
    me = _me(ctx, ctx.args.get("user"))
    state = (ctx.args.get("state") or "").upper()
    if state and state not in ("OPEN", "DECLINED", "MERGED"):
        raise _bad("state must be OPEN, DECLINED or MERGED", "state")
    role = (ctx.args.get("role") or "").upper()
    if role and role not in ("AUTHOR", "REVIEWER", "PARTICIPANT"):
        raise _bad("role must be AUTHOR, REVIEWER or PARTICIPANT", "role")
    statuses = {x.strip().upper() for x in (ctx.args.get("participantStatus") or "").split(",") if x.strip()}
    if statuses - {"UNAPPROVED", "NEEDS_WORK", "APPROVED"}:
        raise _bad("participantStatus must be UNAPPROVED, NEEDS_WORK or APPROVED", "participantStatus")
    order = _enum(ctx, "order", ORDER, "NEWEST")
    closed_since = ctx.args.get("closedSince")
    found = []
    for repo, pr in _readable_prs(ctx):
        mine = [p for p in pr.everyone() if p.user_slug == me.slug and (not role or p.role == role)]
        if not mine or (state and pr.state != state):
            continue
        if statuses and not any(p.status in statuses for p in mine):
            continue
        if closed_since is not None:
            if not closed_since.isdigit():
                raise _bad("closedSince must be a number of seconds", "closedSince")
            horizon = ctx.world.now().timestamp() - int(closed_since)
            if pr.closed is None or pr.closed.timestamp() < horizon:
                continue
        found.append((repo, pr))
    found.sort(key=lambda t: (t[1].updated, t[1].id), reverse=order == "NEWEST")
    return page(ctx.request, found, lambda t: s.pull_request(ctx.world, ctx.site, t[0], t[1]))


def inbox_pull_requests(ctx: Ctx) -> dict:
    """Open PRs waiting for the caller: as a reviewer (default `role=reviewer`) or as their author."""
    me = _me(ctx)
    role = (ctx.args.get("role") or "reviewer").upper()
    if role not in ("REVIEWER", "AUTHOR"):
        raise _bad("role must be reviewer or author", "role")
    found = [
        (repo, pr)
        for repo, pr in _readable_prs(ctx)
        if pr.state == "OPEN" and any(p.user_slug == me.slug and p.role == role for p in pr.everyone())
    ]
    found.sort(key=lambda t: (t[1].updated, t[1].id), reverse=True)
    return page(ctx.request, found, lambda t: s.pull_request(ctx.world, ctx.site, t[0], t[1]))


def _with_anchor(ctx: Ctx, repo: DcRepository, c: DcComment) -> dict:
    out = s.comment(ctx.world, ctx.site, repo, c, ctx.identity.user)
    if c.anchor:
        # The anchor's `path` is written as the activity timeline sends it (a string, VBB OPENAPI-007); whether
        # this resource sends a `RestPath` instead is unconfirmed.
        out["anchor"] = dict(c.anchor)
    return out


def pr_comments(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> dict:
    """`GET {PR}/comments?path=`: the thread roots anchored to one file (`path` is required), oldest first."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    path = (ctx.args.get("path") or "").strip("/")
    if not path:
        raise _bad("A path must be supplied when retrieving comments for a pull request.", "path")
    state = _enum(ctx, "anchorState", ("ACTIVE", "ORPHANED", "ALL"), "ACTIVE")
    found = [
        c
        for c in pr.comments
        if c.anchor
        and c.anchor["path"] == path
        and (state == "ALL" or c.anchor.get("orphaned", False) == (state == "ORPHANED"))
    ]
    return page(ctx.request, found, lambda c: _with_anchor(ctx, repo, c))


def pr_comment(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int, comment_id: int) -> dict:
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    stack = list(pr.comments)
    while stack:
        c = stack.pop(0)
        if c.id == comment_id:
            return _with_anchor(ctx, repo, c)
        stack.extend(c.replies)
    raise DcError(404, f"Comment {comment_id} does not exist.", EXC + "comment.NoSuchCommentException")


def _compare_refs(ctx: Ctx, repo: DcRepository) -> tuple[Commit, Commit]:
    """`from` and `to` of the compare resources (refs or hashes; both required)."""
    missing = [n for n in ("from", "to") if not ctx.args.get(n)]
    if missing:
        raise _bad(f"{missing[0]} must be supplied", missing[0])
    if ctx.args.get("fromRepo"):
        raise _bad("Comparing across repositories (fromRepo) is not supported by this emulator", "fromRepo")
    return _resolve(ctx, repo, ctx.args["from"]), _resolve(ctx, repo, ctx.args["to"])


def compare_commits(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    """Commits reachable from `from` but not from `to`, newest first."""
    repo = ctx.repo(project_key, repo_slug)
    source, target = _compare_refs(ctx, repo)
    found = World.log(ctx.world, repo.git, [source.hash], [target.hash])
    return page(ctx.request, found, lambda c: s.commit(ctx.world, ctx.site, c))


def _compare_trees(ctx: Ctx, repo: DcRepository) -> tuple[str, Commit, merge.Tree, merge.Tree]:
    source, target = _compare_refs(ctx, repo)
    base = World.merge_base(ctx.world, repo.git, source.hash, target.hash)
    old = repo.git.commits[base].tree if base else {}
    return base or target.hash, source, old, source.tree


def compare_changes(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    """What `from` changes since its common ancestor with `to` (as a pull request from `from` into `to` would)."""
    repo = ctx.repo(project_key, repo_slug)
    _base, source, old, new = _compare_trees(ctx, repo)
    paths = merge.changed_paths(old, new)
    return page(ctx.request, paths, lambda p: _change(ctx, repo, old, new, p, source.hash), cap="changes")


def compare_diff(ctx: Ctx, project_key: str, repo_slug: str, path: str = "") -> Any:
    repo = ctx.repo(project_key, repo_slug)
    base, source, old, new = _compare_trees(ctx, repo)
    paths = [path.strip("/")] if path.strip("/") else None
    if _wants_text(ctx):
        return _text(merge.unified_diff(old, new, _context(ctx), paths))
    return _diff_doc(old, new, base, source.hash, _context(ctx), paths)


def repo_diff(ctx: Ctx, project_key: str, repo_slug: str, path: str = "") -> Response:
    """`GET {R}/diff[/{path}]?until=&since=`: unified diff text (`since` defaults to `until`'s first parent)."""
    repo = ctx.repo(project_key, repo_slug)
    if not ctx.args.get("until"):
        raise _bad("until must be supplied", "until")
    until = _resolve(ctx, repo, ctx.args["until"])
    since = ctx.args.get("since")
    old = (
        _resolve(ctx, repo, since).tree if since else (repo.git.commits[until.parents[0]].tree if until.parents else {})
    )
    paths = [path.strip("/")] if path.strip("/") else None
    return _text(merge.unified_diff(old, until.tree, _context(ctx), paths))


def files(ctx: Ctx, project_key: str, repo_slug: str, path: str = "") -> dict:
    """`GET {R}/files[/{path}]?at=`: a page of file paths (strings) under `path`, recursively, relative to it."""
    repo = ctx.repo(project_key, repo_slug)
    c = _tip(ctx, repo)
    prefix = path.strip("/") + "/" if path.strip("/") else ""
    found = sorted(p[len(prefix) :] for p in c.tree if p.startswith(prefix))
    if prefix and not found:
        raise DcError(
            404,
            f'The path "{path.strip("/")}" does not exist at revision "{ctx.args.get("at") or repo.git.mainbranch}"',
            EXC + "content.NoSuchPathException",
        )
    return page(ctx.request, found, lambda p: p)


def repo_participants(ctx: Ctx, project_key: str, repo_slug: str) -> dict:
    """`GET {R}/participants`: users who took part in the repository's pull requests (`role`, `filter`; `direction`
    INCOMING, the default, is the only one a single-repository world has)."""
    repo = ctx.repo(project_key, repo_slug)
    role = (ctx.args.get("role") or "").upper()
    if role and role not in ("AUTHOR", "REVIEWER", "PARTICIPANT"):
        raise _bad("role must be AUTHOR, REVIEWER or PARTICIPANT", "role")
    _enum(ctx, "direction", ("INCOMING", "OUTGOING"), "INCOMING")
    needle = (ctx.args.get("filter") or "").lower()
    slugs = {p.user_slug for pr in repo.pull_requests.values() for p in pr.everyone() if not role or p.role == role}
    found = [
        ctx.site.users[slug]
        for slug in sorted(slugs)
        if not needle or needle in f"{ctx.site.users[slug].name} {ctx.site.users[slug].display_name}".lower()
    ]
    return page(ctx.request, found, lambda u: s.user(ctx.world, ctx.site, u))


def _format_patch(repo: DcRepository, commits: list[Commit]) -> str:
    """`git format-patch --stdout` text for `commits` (oldest first), one mail per commit."""
    out = []
    for c in commits:
        parent = repo.git.commits[c.parents[0]].tree if c.parents else {}
        subject, _, body = c.message.partition("\n")
        out.append(
            f"From {c.hash} Mon Sep 17 00:00:00 2001\n"
            f"From: {c.author_raw}\n"
            f"Date: {format_datetime(c.date)}\n"
            f"Subject: [PATCH] {subject}\n\n"
            + (body.strip() + "\n" if body.strip() else "")
            + "---\n"
            + merge.unified_diff(parent, c.tree)
            + "\n"
        )
    return "".join(out)


def repo_patch(ctx: Ctx, project_key: str, repo_slug: str) -> Response:
    """`GET {R}/patch?until=&since=`: the commits in `until` not in `since` as a patch series."""
    repo = ctx.repo(project_key, repo_slug)
    if not ctx.args.get("until"):
        raise _bad("until must be supplied", "until")
    until = _resolve(ctx, repo, ctx.args["until"])
    since = ctx.args.get("since")
    exclude = [_resolve(ctx, repo, since).hash] if since else list(until.parents[:1])
    commits = World.log(ctx.world, repo.git, [until.hash], exclude)
    return _text(_format_patch(repo, list(reversed(commits))))


def pr_patch(ctx: Ctx, project_key: str, repo_slug: str, pr_id: int) -> Response:
    """`GET {PR}.patch`: the pull request's commits as a patch series."""
    repo = ctx.repo(project_key, repo_slug)
    pr = ctx.site.pull_request(repo, pr_id)
    commits = World.log(ctx.world, repo.git, [pr.from_hash], [pr.to_hash])
    return _text(_format_patch(repo, list(reversed(commits))))


# ---- a commit's pull requests, build statuses (reference §8.3, §8.6) -------------------------------------------
def commit_pull_requests(ctx: Ctx, project_key: str, repo_slug: str, commit_id: str) -> dict:
    """`GET {R}/commits/{commitId}/pull-requests`: the repository's pull requests that contain the commit (among the
    commits they merge, or as their merge commit), newest first; 404 for an unknown commit."""
    repo = ctx.repo(project_key, repo_slug)
    c = _resolve(ctx, repo, commit_id, exact_commit=True)
    found = [
        pr
        for pr in repo.pull_requests.values()
        if pr.merge_commit == c.hash
        or any(x.hash == c.hash for x in World.log(ctx.world, repo.git, [pr.from_hash], [pr.to_hash]))
    ]
    found.sort(key=lambda pr: (pr.updated, pr.id), reverse=True)
    return page(ctx.request, found, lambda pr: s.pull_request(ctx.world, ctx.site, repo, pr))


def build_statuses(ctx: Ctx, version: str, commit_id: str) -> dict:
    """`GET /rest/build-status/1.0/commits/{commitId}` (deprecated in 7.14, still the way to list a commit's builds):
    the statuses posted for the commit in any repository, the most recent 100 at most, `orderBy` `NEWEST` (default),
    `OLDEST` or `STATUS` (failed, in progress, then successful). The build-status API is instance-wide: any
    authenticated caller may read it (anonymous: 401); an unknown commit has no statuses (an empty page)."""
    del version
    if ctx.identity.kind == "anonymous":
        raise ctx.denied()
    order = _enum(ctx, "orderBy", ("NEWEST", "OLDEST", "STATUS"), "NEWEST")
    builds = sorted(ctx.site.builds.get(commit_id.lower(), []), key=lambda b: (b.added, b.key), reverse=True)[:100]
    if order == "OLDEST":
        builds.reverse()
    elif order == "STATUS":
        rank = {"FAILED": 0, "CANCELLED": 1, "INPROGRESS": 2, "UNKNOWN": 3, "SUCCESSFUL": 4}
        builds.sort(key=lambda b: rank[b.state])
    return page(ctx.request, builds, s.legacy_build)
