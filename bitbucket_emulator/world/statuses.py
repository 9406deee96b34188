"""Commit build statuses: each commit's statuses by key, the rules that write them, and which a pull request shows.

A status belongs to a commit of a repository (`Repository.statuses[hash][key]`). Writing a key that exists
overwrites it and keeps its `created_on` (Bitbucket: POST of an existing key, or PUT); there is no delete. A write
fires `repo:commit_status_created` for a new key, `repo:commit_status_updated` otherwise, and never touches a pull
request (Bitbucket does not move a PR's `updated_on` for a status).
"""

from __future__ import annotations

from datetime import datetime

from .objects import STATUS_STATES, CommitStatus, PullRequest, Repository, WorldError
from .state import World

EDITABLE = ("state", "name", "description", "url", "refname")


def _check(values: dict) -> None:
    """Bitbucket's 400s for a status body: `key` and `state` required, `state` one of the four, strings only."""
    problems: dict[str, list[str]] = {}
    for name in ("key", *EDITABLE):
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            problems[name] = ["Must be a string."]
    if "state" in values and values["state"] not in STATUS_STATES:
        problems["state"] = [f"'{values['state']}' is not a valid choice."]
    if problems:
        raise WorldError(400, "Bad request", fields=problems)


def statuses_of(repo: Repository, commit_hash: str) -> list[CommitStatus]:
    """A commit's statuses, oldest first (Bitbucket's default sort is `created_on`)."""
    return sorted(repo.statuses.get(commit_hash, {}).values(), key=lambda s: (s.created_on or datetime.min, s.key))


def find(repo: Repository, commit_hash: str, key: str) -> CommitStatus:
    status = repo.statuses.get(commit_hash, {}).get(key)
    if status is None:
        raise WorldError(404, f"No build status with key {key!r} on commit {commit_hash[:12]}")
    return status


def write(
    world: World, repo: Repository, commit_hash: str, values: dict, actor_uuid: str | None, *, partial: bool = False
) -> tuple[CommitStatus, bool]:
    """Create or overwrite the status `values["key"]` of a commit; `partial` (PUT) changes only the fields sent and
    needs the key to exist. Returns the status and whether it is new."""
    _check(values)
    key = values.get("key")
    if not partial:
        missing = {name: ["This field is required."] for name in ("key", "state") if not values.get(name)}
        if missing:
            raise WorldError(400, "Bad request", fields=missing)
    assert isinstance(key, str)
    by_key = repo.statuses.setdefault(commit_hash, {})
    existing = by_key.get(key)
    now = world.now()
    if partial:
        if existing is None:
            raise WorldError(404, f"No build status with key {key!r} on commit {commit_hash[:12]}")
        for name in EDITABLE:
            if name in values:
                setattr(existing, name, values[name] if name == "refname" else (values[name] or ""))
        if not existing.state:
            existing.state = "INPROGRESS"
        status, created = existing, False
    else:
        status = CommitStatus(
            key=key,
            state=values["state"],
            commit=commit_hash,
            name=values.get("name") or "",
            description=values.get("description") or "",
            url=values.get("url") or "",
            refname=values.get("refname") or None,
            created_on=existing.created_on if existing else now,
        )
        by_key[key] = status
        created = existing is None
    status.updated_on = now
    world.version += 1
    event = "repo:commit_status_created" if created else "repo:commit_status_updated"
    world.emit(event, repo, actor_uuid, commit_status=status)
    return status, created


def for_pull_request(repo: Repository, pr: PullRequest) -> list[CommitStatus]:
    """The statuses a pull request shows: its current source tip's, made without a refname or for its source
    branch (what Bitbucket aggregates is undocumented; this is the reference's reading)."""
    return [s for s in statuses_of(repo, pr.source_hash) if s.refname in (None, "", pr.source_branch)]


def set_status(
    world: World,
    workspace: str,
    repo_slug: str,
    key: str,
    state: str,
    pr_id: int | None = None,
    commit: str | None = None,
    name: str | None = None,
    description: str | None = None,
    url: str | None = None,
    refname: str | None = None,
    username: str | None = None,
) -> dict:
    """Test- and demo-facing: post (or overwrite) a status on a pull request's source tip (with its source branch
    as refname) or on a commit, as a CI would; `username` is the actor the webhook names (default: an owner)."""
    with world.lock:
        repo = world.repository(workspace, repo_slug)
        if (pr_id is None) == (commit is None):
            raise WorldError(400, "Name exactly one of pr_id and commit.")
        if pr_id is not None:
            pr = world.pull_request(repo, int(pr_id))
            commit_hash = pr.source_hash
            refname = pr.source_branch if refname is None else refname
        else:
            commit_hash = world.resolve(repo, str(commit)).hash
        if username:
            actor: str | None = world.user(username).uuid
        else:
            ws = world.workspace_of(repo)
            actor = next((u for u, role in ws.members.items() if role == "owner"), None)
        values = {"key": key, "state": state, "refname": refname}
        values.update({k: v for k, v in (("name", name), ("description", description), ("url", url)) if v is not None})
        previous = repo.statuses.get(commit_hash, {}).get(key)
        if previous is not None:
            # Overwriting keeps what the caller did not say (a CI re-posting a key sends the same name and url).
            values = {"name": previous.name, "description": previous.description, "url": previous.url, **values}
        status, created = write(world, repo, commit_hash, values, actor)
        return {"commit": status.commit, "key": status.key, "state": status.state, "created": created}
