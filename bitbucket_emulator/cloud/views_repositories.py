"""Handlers for repositories, watchers, refs, commits, source (read and `POST /src`), diff and diffstat."""

from __future__ import annotations

import mimetypes
import re

from werkzeug.wrappers import Response

from ..world import restrictions
from ..world.merge import conflict_scenarios, unified_diff
from ..world.merge import diffstat as tree_diffstat
from ..world.objects import Commit, Repository, WorldError
from . import query
from . import serialize as s
from .auth import repo_for
from .context import Ctx, Result, as_bool, empty

META_FIELDS = {"message", "author", "parents", "branch", "files"}
AUTHOR_RE = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>\s*$")


def repository_detail(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    return Result(s.repository(ctx.world, repo))


def watchers(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    items = [s.user(world, world.users[u]) for u in repo.watchers if u in world.users]
    return Result(query.page(items, ctx.args, ctx.url()))


# ---- refs ------------------------------------------------------------------------------------------------------
def branches(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    names = sorted(repo.branches)
    # Cheap pre-filter for the usual `name ~ "x"` so large scale seeds need not render every branch.
    q = ctx.args.get("q")
    simple = re.fullmatch(r'\s*name\s*~\s*"([^"]*)"\s*', q or "")
    if simple:
        names = [n for n in names if simple.group(1).lower() in n.lower()]
        q = None
    sort = ctx.args.get("sort")
    if q or (sort and sort.lstrip("-") != "name"):
        items = query.filter_and_sort([s.branch(world, repo, n) for n in names], q, sort)
        return Result(query.page(items, ctx.args, ctx.url()))
    if sort:
        names = sorted(names, key=query._natural, reverse=sort.startswith("-"))
    return Result(query.page(names, ctx.args, ctx.url(), render=lambda n: s.branch(world, repo, n)))


def branch_detail(ctx: Ctx, workspace: str, repo_slug: str, name: str) -> Result:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    if name not in repo.branches:
        raise WorldError(404, f"Branch not found: {name}")
    return Result(s.branch(ctx.world, repo, name))


def branch_create(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug, need="write")
    body = ctx.body()
    name = body.get("name")
    target = (body.get("target") or {}).get("hash") if isinstance(body.get("target"), dict) else None
    errors = {}
    if not isinstance(name, str) or not name:
        errors["name"] = ["This field is required."]
    if not isinstance(target, str) or not target:
        errors["target"] = ["This field is required."]
    if errors:
        first = next(iter(errors))
        raise WorldError(400, f"{first}: This field is required.", fields=errors)
    assert isinstance(name, str) and isinstance(target, str)  # both checked above
    world.create_branch(repo, name, target, ctx.identity.actor_uuid)
    data = s.branch(world, repo, name)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def branch_delete(ctx: Ctx, workspace: str, repo_slug: str, name: str):
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug, need="write")
    if name in repo.branches and name != repo.mainbranch and restrictions.rules_for(repo, name, "delete"):
        # The main branch keeps its own 400; any other branch a `delete` rule matches is refused (text undocumented).
        raise WorldError(403, f"You can't delete {name}: a branch restriction protects it.")
    ctx.world.delete_branch(repo, name, ctx.identity.actor_uuid)
    return empty(204)


def tags(ctx: Ctx, workspace: str, repo_slug: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    items = [s.tag(world, repo, n) for n in sorted(repo.tags, key=query._natural)]
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()))


# ---- commits ---------------------------------------------------------------------------------------------------
def _touches(repo: Repository, c: Commit, path: str) -> bool:
    before = repo.commits[c.parents[0]].tree if c.parents else {}
    prefix = path.rstrip("/") + "/"
    keys = {k for k in set(before) | set(c.tree) if k == path or k.startswith(prefix)}
    return any(before.get(k) != c.tree.get(k) for k in keys)


def commits(ctx: Ctx, workspace: str, repo_slug: str, revision: str | None = None) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    include = [world.resolve(repo, r).hash for r in ctx.args.getlist("include")]
    exclude = [world.resolve(repo, r).hash for r in ctx.args.getlist("exclude")]
    if revision:
        include.append(world.resolve(repo, revision).hash)
    if not include:
        include = list(repo.branches.values())
    found = world.log(repo, include, exclude)
    path = ctx.args.get("path")
    if path:
        found = [c for c in found if _touches(repo, c, path)]
    # 30 a page when none is asked for (recorded), 100 at most; cursor pagination without `size`.
    body = query.cursor_page(found, ctx.args, ctx.url(), render=lambda c: s.commit(world, repo, c), default=30)
    return Result(body)


def _renamed_from(before: dict[str, bytes], after: dict[str, bytes], path: str) -> str | None:
    """The path `path` had in `before` when a commit renamed it: a file gone in `after` with the same content
    (git's exact-rename detection, which is what `--follow` amounts to for an unchanged file)."""
    content = after.get(path)
    for old, data in before.items():
        if old != path and old not in after and data == content:
            return old
    return None


def filehistory(ctx: Ctx, workspace: str, repo_slug: str, commit: str, path: str) -> Result:
    """`GET {r}/filehistory/{commit}/{path}`: the commits that changed a file, newest first, as `commit_file`
    entries whose `path` is the file's name at that commit (renames followed unless `renames=false`)."""
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    start = world.resolve(repo, commit)
    path = path.strip("/")
    if path not in start.tree:
        raise WorldError(404, f"No such file or directory: {path}")
    follow = as_bool(ctx.args.get("renames"), True)
    entries: list[tuple[Commit, str]] = []
    current: str | None = path
    for c in world.log(repo, [start.hash]):
        if current is None:
            break
        before = repo.commits[c.parents[0]].tree if c.parents else {}
        if c.tree.get(current) is None:
            continue  # not on this line of history under this name
        if before.get(current) != c.tree.get(current):
            entries.append((c, current))
            if current not in before:
                current = _renamed_from(before, c.tree, current) if follow else None
    items = [s.history_entry(world, repo, c, p) for c, p in entries]
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url()))


def commit_pullrequests(ctx: Ctx, workspace: str, repo_slug: str, commit: str) -> Result:
    """`GET {r}/commit/{commit}/pullrequests`: the PRs that contain a commit (its source side, or its merge commit);
    404/202 while the "Pull Request Commit Links" index is absent or building (`controls.commit_links`)."""
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    state = ctx.controls.commit_links.get(world.full_name(repo))
    if state == 404:
        raise WorldError(404, "Pull request commit links have not been indexed for this repository.")
    c = world.resolve(repo, commit)
    found = []
    if state != 202:  # while indexing, Bitbucket answers an empty page with 202
        for pr in sorted(repo.pullrequests.values(), key=lambda p: p.id, reverse=True):
            inside = c.hash in world.ancestors(repo, pr.source_hash) - world.ancestors(repo, pr.dest_hash)
            if inside or pr.merge_commit == c.hash:
                found.append(pr)
    body = query.page(
        found, ctx.args, ctx.url(), render=lambda pr: s.pullrequest_list_item(world, repo, pr), default=30
    )
    return Result(body, status=202 if state == 202 else 200)


def merge_base(ctx: Ctx, workspace: str, repo_slug: str, revspec: str) -> Result:
    """`GET {repo}/merge-base/{a}..{b}`: the best common ancestor of two commits (a commit); 404 when a ref in the
    spec is unknown or the two share no history."""
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    if ".." not in revspec:
        raise WorldError(404, f"Unable to resolve the spec {revspec}")
    a_text, b_text = revspec.split("..", 1)
    a, b = world.resolve(repo, a_text), world.resolve(repo, b_text)
    base = world.merge_base(repo, a.hash, b.hash)
    if base is None:
        raise WorldError(404, f"No common ancestor of {a_text} and {b_text}")
    return Result(s.commit(world, repo, repo.commits[base]))


def commit_detail(ctx: Ctx, workspace: str, repo_slug: str, commit: str) -> Result:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    return Result(s.commit(ctx.world, repo, ctx.world.resolve(repo, commit)))


# ---- source ----------------------------------------------------------------------------------------------------
def _split_rev(ctx: Ctx, repo: Repository, rest: str) -> tuple[Commit, str]:
    parts = rest.split("/")
    for k in range(len(parts), 0, -1):
        candidate = "/".join(parts[:k])
        if candidate in repo.branches or candidate in repo.tags:
            return ctx.world.resolve(repo, candidate), "/".join(parts[k:])
    return ctx.world.resolve(repo, parts[0]), "/".join(parts[1:])


def src_root(ctx: Ctx, workspace: str, repo_slug: str):
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    if not repo.branches:
        raise WorldError(404, "This repository is empty.")
    tip = repo.branches[repo.mainbranch]
    target = s.api(ctx.world, f"/repositories/{ctx.world.full_name(repo)}/src/{tip}/")
    if ctx.request.query_string:
        target += "?" + ctx.request.query_string.decode()
    return Response(b"", status=302, headers={"Location": target})


def _listing(tree: dict[str, bytes], base: str, depth: int) -> list[tuple[str, bool]]:
    prefix = base + "/" if base else ""
    entries: dict[str, bool] = {}
    for path in tree:
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix) :].split("/")
        for level in range(1, min(depth, len(rel)) + 1):
            is_dir = level < len(rel)
            entries[prefix + "/".join(rel[:level])] = is_dir
    # Breadth first, like Bitbucket's max_depth listing: shallower entries first, each level sorted.
    return sorted(entries.items(), key=lambda kv: (kv[0].count("/"), kv[0]))


def src(ctx: Ctx, workspace: str, repo_slug: str, rest: str):
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    c, path = _split_rev(ctx, repo, rest)
    wants_dir = path == "" or path.endswith("/")
    path = path.strip("/")
    fmt = ctx.args.get("format")
    if path in c.tree and not wants_dir:
        if fmt == "meta":
            return Result(s.tree_entry(world, repo, c, path, is_dir=False))
        content = c.tree[path]
        kind = mimetypes.guess_type(path)[0] or ("text/plain" if _is_text(content) else "application/octet-stream")
        return Response(
            content,
            status=200,
            headers={"Content-Type": kind, "Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"'},
        )
    if path and not any(p.startswith(path + "/") for p in c.tree):
        raise WorldError(404, f"No such file or directory: {path}")
    if fmt == "meta":
        return Result(s.tree_entry(world, repo, c, path, is_dir=True))
    try:
        depth = int(ctx.args.get("max_depth", "1"))
    except ValueError:
        raise WorldError(400, "Invalid max_depth") from None
    if depth > 20:
        raise WorldError(555, "Service Timeout", detail="The listing took too long; use a smaller max_depth.")
    items = [s.tree_entry(world, repo, c, p, is_dir) for p, is_dir in _listing(c.tree, path, max(depth, 1))]
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort"))
    return Result(query.page(items, ctx.args, ctx.url(), with_size=False))


def _is_text(content: bytes) -> bool:
    return b"\0" not in content[:1024]


def src_create(ctx: Ctx, workspace: str, repo_slug: str):
    """`POST /src`: files as form fields (name = path), `files` deletions, `branch`, `parents`, `message`, `author`."""
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug, need="write")
    req = ctx.request
    if req.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise WorldError(400, "Bad request", detail="Use multipart/form-data or application/x-www-form-urlencoded.")
    form, uploads = req.form, req.files
    files: dict[str, str | bytes | None] = {}
    for name, storage in uploads.items(multi=True):
        files[name.lstrip("/")] = storage.read()
    for name, value in form.items(multi=True):
        if name in META_FIELDS:
            continue
        files[name.lstrip("/")] = value.encode()
    for path in form.getlist("files"):
        path = path.lstrip("/")
        if path not in files:
            files[path] = None
    parents = form.getlist("parents")
    if len(parents) > 1:
        raise WorldError(400, "Bad request", fields={"parents": ["Only one parent is supported."]})
    author_raw = form.get("author")
    user = ctx.identity.user
    if author_raw is not None and not AUTHOR_RE.match(author_raw):
        raise WorldError(400, "Bad request", fields={"author": ['Expected "Full Name <email@example.com>".']})
    if author_raw is None and user is None and ctx.identity.token is not None:
        author_raw = f"{ctx.identity.token.name} <noreply@bitbucket.org>"
    author_user = user
    if author_raw:
        m = AUTHOR_RE.match(author_raw)
        author_user = next((u for u in world.users.values() if m and u.email == m.group("email")), None)
    commit = world._commit_files(
        repo,
        form.get("branch") or None,
        author_user,
        files,
        form.get("message") or None,
        parents[0] if parents else None,
        author_raw,
        actor_uuid=ctx.identity.actor_uuid,
    )
    location = s.api(world, f"/repositories/{world.full_name(repo)}/commit/{commit.hash}")
    return empty(201, {"Location": location})


# ---- diff and diffstat -----------------------------------------------------------------------------------------
def _spec_trees(ctx: Ctx, repo: Repository, spec: str) -> tuple[dict, dict, str, str]:
    """`A..B`: the changes on A since B (with `topic`, since their merge base); one commit: against its parent."""
    world = ctx.world
    if ".." in spec:
        a_text, b_text = spec.split("..", 1)
        a, b = world.resolve(repo, a_text), world.resolve(repo, b_text)
        old: Commit | None = b
        if as_bool(ctx.args.get("topic"), True):
            base = world.merge_base(repo, a.hash, b.hash)
            old = repo.commits[base] if base else None
        return (old.tree if old else {}), a.tree, (old.hash if old else ""), a.hash
    c = world.resolve(repo, spec)
    parent = repo.commits[c.parents[0]] if c.parents else None
    return (parent.tree if parent else {}), c.tree, (parent.hash if parent else ""), c.hash


def diff(ctx: Ctx, workspace: str, repo_slug: str, spec: str):
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    old, new, _, _ = _spec_trees(ctx, repo, spec)
    try:
        context = int(ctx.args.get("context", "3"))
    except ValueError:
        raise WorldError(400, "Invalid context") from None
    text = unified_diff(
        old,
        new,
        context=context,
        paths=ctx.args.getlist("path") or None,
        ignore_whitespace=as_bool(ctx.args.get("ignore_whitespace"), False),
    )
    return Response(text.encode(), status=200, headers={"Content-Type": "text/plain"})


# A merge preview's entry for a file the merge cannot resolve (Bitbucket's own statuses, outside the OpenAPI enum;
# recorded: `merge conflict`, `local deleted`; `remote deleted` by name only). The destination is "local".
CONFLICT_STATUS = {"content": "merge conflict", "delete_modify": "local deleted", "modify_delete": "remote deleted"}


def _preview_conflicts(ctx: Ctx, repo: Repository, spec: str) -> dict[str, str]:
    """For `A..B` with `topic` (the merge preview a pull request links to): the paths a merge of A into B would
    conflict on, with their scenario; empty for any other spec."""
    if ".." not in spec or not as_bool(ctx.args.get("topic"), True):
        return {}
    world = ctx.world
    a_text, b_text = spec.split("..", 1)
    a, b = world.resolve(repo, a_text), world.resolve(repo, b_text)
    base = world.merge_base(repo, a.hash, b.hash)
    return conflict_scenarios(repo.commits[base].tree if base else {}, b.tree, a.tree)


def diffstat(ctx: Ctx, workspace: str, repo_slug: str, spec: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    old, new, old_hash, new_hash = _spec_trees(ctx, repo, spec)
    conflicts = _preview_conflicts(ctx, repo, spec)
    items = []
    paths = ctx.args.getlist("path") or None
    ignore_whitespace = as_bool(ctx.args.get("ignore_whitespace"), False)
    for change in tree_diffstat(old, new, paths, ignore_whitespace=ignore_whitespace):
        path = change.new_path or change.old_path or ""
        status = CONFLICT_STATUS[conflicts[path]] if path in conflicts else change.status
        old_path = None if status == "local deleted" else change.old_path  # as recorded: no `old` there
        items.append(
            {
                "type": "diffstat",
                "status": status,
                "lines_added": change.lines_added,
                "lines_removed": change.lines_removed,
                "old": s.diffstat_file(world, repo, old_hash, old_path),
                "new": s.diffstat_file(world, repo, new_hash, change.new_path),
            }
        )
    return Result(query.page(items, ctx.args, ctx.url(), default=500, maximum=5000))


def file_conflicts(ctx: Ctx, workspace: str, repo_slug: str, spec: str) -> Result:
    """`GET {repo}/file-conflicts/{spec}`: the files a merge of A into B would conflict on (404 for a bad spec)."""
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    if ".." not in spec:
        raise WorldError(404, f"Unable to resolve the spec {spec}")
    messages = {
        "content": "File modified in both source and destination",
        "delete_modify": "File deleted in destination and modified in source",
        "modify_delete": "File modified in destination and deleted in source",
    }
    items = [
        {"type": "file_conflict", "path": path, "scenario": scenario, "message": messages[scenario]}
        for path, scenario in _preview_conflicts(ctx, repo, spec).items()
    ]
    return Result(query.page(items, ctx.args, ctx.url(), default=500, maximum=5000))
