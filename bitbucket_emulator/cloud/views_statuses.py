"""Handlers for commit build statuses: write one (POST creates or overwrites by key, PUT changes a key), read one, list
a commit's, list a pull request's.

Writing needs only the read scopes (`repository` / `read:repository:bitbucket`, as the spec lists them) and read
access to the repository, but a signed-in caller. Lists are list-style pages of 30 by default, sorted by
`created_on` unless `sort` says otherwise, with `q` like other lists.
"""

from __future__ import annotations

from ..world import statuses
from ..world.objects import Repository
from . import query
from . import serialize as s
from .auth import repo_for, require_user
from .context import Ctx, Result

STATUS_PAGELEN = 30  # Bitbucket's default here (recorded: no query string, `pagelen` 30)


def _page(ctx: Ctx, repo: Repository, found: list, short: bool = False) -> Result:
    items = [s.commit_status(ctx.world, repo, st, short=short) for st in found]
    items = query.filter_and_sort(items, ctx.args.get("q"), ctx.args.get("sort") or "created_on")
    return Result(query.page(items, ctx.args, ctx.url(), default=STATUS_PAGELEN))


def _commit(ctx: Ctx, workspace: str, repo_slug: str, commit: str) -> tuple[Repository, str]:
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    return repo, ctx.world.resolve(repo, commit).hash


def status_create(ctx: Ctx, workspace: str, repo_slug: str, commit: str) -> Result:
    """`POST .../commit/{commit}/statuses/build`: 201 with the status; an existing key is overwritten."""
    require_user(ctx.identity)
    repo, commit_hash = _commit(ctx, workspace, repo_slug, commit)
    status, _ = statuses.write(ctx.world, repo, commit_hash, ctx.body(), ctx.identity.actor_uuid)
    data = s.commit_status(ctx.world, repo, status)
    return Result(data, status=201, headers={"Location": data["links"]["self"]["href"]})


def status_detail(ctx: Ctx, workspace: str, repo_slug: str, commit: str, key: str) -> Result:
    """`GET .../commit/{commit}/statuses/build/{key}`."""
    repo, commit_hash = _commit(ctx, workspace, repo_slug, commit)
    return Result(s.commit_status(ctx.world, repo, statuses.find(repo, commit_hash, key)))


def status_update(ctx: Ctx, workspace: str, repo_slug: str, commit: str, key: str) -> Result:
    """`PUT .../commit/{commit}/statuses/build/{key}`: changes the fields sent (the key stays the path's)."""
    require_user(ctx.identity)
    repo, commit_hash = _commit(ctx, workspace, repo_slug, commit)
    body = {**ctx.body(), "key": key}
    status, _ = statuses.write(ctx.world, repo, commit_hash, body, ctx.identity.actor_uuid, partial=True)
    return Result(s.commit_status(ctx.world, repo, status))


def commit_statuses(ctx: Ctx, workspace: str, repo_slug: str, commit: str) -> Result:
    """`GET .../commit/{commit}/statuses`: `refname=X` gives those made without a refname plus those made for X."""
    repo, commit_hash = _commit(ctx, workspace, repo_slug, commit)
    found = statuses.statuses_of(repo, commit_hash)
    refname = ctx.args.get("refname")
    if refname:
        found = [st for st in found if st.refname in (None, "", refname)]
    return _page(ctx, repo, found)


def pullrequest_statuses(ctx: Ctx, workspace: str, repo_slug: str, pull_request_id: int) -> Result:
    """`GET .../pullrequests/{id}/statuses`: the source tip's statuses for the PR, hashes in their 12-char form."""
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug)
    pr = ctx.world.pull_request(repo, int(pull_request_id))
    return _page(ctx, repo, statuses.for_pull_request(repo, pr), short=True)
