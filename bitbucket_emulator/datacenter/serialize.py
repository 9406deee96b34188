"""Data Center's JSON shapes (reference §7): epoch-millisecond dates, `links` as arrays of `{href}` pointing at UI
URLs, 11-character commit `displayId`s, `isDefault` on branches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..world.datacenter import (
    DataCenterSite,
    DcBuild,
    DcComment,
    DcParticipant,
    DcProject,
    DcPullRequest,
    DcRepository,
    DcUser,
)
from ..world.objects import Commit
from ..world.state import World

ZERO = "0" * 40


def ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def base(world: World, site: DataCenterSite) -> str:
    return world.base_url + site.context_path


def user(world: World, site: DataCenterSite, u: DcUser) -> dict:
    out: dict[str, Any] = {"name": u.name}
    if u.email:
        out["emailAddress"] = u.email
    out.update(id=u.id, displayName=u.display_name, active=u.active, slug=u.slug, type=u.user_type)
    out["links"] = {"self": [{"href": f"{base(world, site)}/users/{u.slug}"}]}
    return out


def project(world: World, site: DataCenterSite, p: DcProject) -> dict:
    out: dict[str, Any] = {"key": p.key, "id": p.id, "name": p.name}
    if p.description:
        out["description"] = p.description
    out.update(public=p.public, type="PERSONAL" if p.personal else "NORMAL")
    if p.personal:
        out["owner"] = user(world, site, site.users[p.owner_slug or ""])
        href = f"{base(world, site)}/users/{p.owner_slug}"
    else:
        href = f"{base(world, site)}/projects/{p.key}"
    out["links"] = {"self": [{"href": href}]}
    return out


def repository(world: World, site: DataCenterSite, r: DcRepository) -> dict:
    p = site.projects[r.project_key]
    host = world.base_url.split("://", 1)[-1].split(":", 1)[0]
    key = p.key.lower()
    out: dict[str, Any] = {"slug": r.slug, "id": r.id, "name": r.name}
    if r.description:
        out["description"] = r.description
    out.update(
        hierarchyId=f"{r.id:020x}"[-20:],
        scmId="git",
        state="AVAILABLE",
        statusMessage="Available",
        forkable=r.forkable,
        project=project(world, site, p),
        public=r.public,
        archived=r.archived,
    )
    out["links"] = {
        "clone": [
            {"href": f"{base(world, site)}/scm/{key}/{r.slug}.git", "name": "http"},
            {"href": f"ssh://git@{host}:7999/{key}/{r.slug}.git", "name": "ssh"},
        ],
        "self": [{"href": f"{base(world, site)}/{_repo_ui(p, r)}/browse"}],
    }
    return out


def _repo_ui(p: DcProject, r: DcRepository) -> str:
    if p.personal:
        return f"users/{p.owner_slug}/repos/{r.slug}"
    return f"projects/{p.key}/repos/{r.slug}"


def branch(r: DcRepository, name: str) -> dict:
    h = r.git.branches[name]
    return {
        "id": f"refs/heads/{name}",
        "displayId": name,
        "type": "BRANCH",
        "latestCommit": h,
        "latestChangeset": h,
        "isDefault": name == r.git.mainbranch,
    }


def tag(r: DcRepository, name: str) -> dict:
    h = r.git.tags[name]
    return {
        "id": f"refs/tags/{name}",
        "displayId": name,
        "type": "TAG",
        "latestCommit": h,
        "latestChangeset": h,
        "hash": h,  # lightweight tags: the tag points at the commit itself
    }


def person(site: DataCenterSite, world: World, author_raw: str, author_uuid: str | None) -> dict:
    """A Git identity, with the user's fields added when it maps to a Data Center user (reference §7.3)."""
    name, _, rest = author_raw.partition(" <")
    email = rest.rstrip(">")
    u = site.user_by_uuid(author_uuid) if author_uuid else None
    if u is None:
        u = next((x for x in site.users.values() if email and x.email.lower() == email.lower()), None)
    if u is not None:
        return user(world, site, u)
    return {"name": name.strip(), "emailAddress": email}


def commit(world: World, site: DataCenterSite, c: Commit) -> dict:
    who = person(site, world, c.author_raw, c.author_uuid)
    stamp = ms(c.date)
    return {
        "id": c.hash,
        "displayId": c.hash[:11],
        "author": who,
        "authorTimestamp": stamp,
        "committer": who,
        "committerTimestamp": stamp,
        "message": c.message,
        "parents": [{"id": p, "displayId": p[:11]} for p in c.parents],
    }


def path(value: str) -> dict:
    parts = value.split("/")
    name = parts[-1]
    out: dict[str, Any] = {"components": parts, "parent": "/".join(parts[:-1]), "name": name}
    if "." in name.lstrip("."):
        out["extension"] = name.rsplit(".", 1)[1]
    out["toString"] = value
    return out


def participant(world: World, site: DataCenterSite, p: DcParticipant) -> dict:
    out: dict[str, Any] = {
        "user": user(world, site, site.users[p.user_slug]),
        "role": p.role,
        "approved": p.status == "APPROVED",
        "status": p.status,
    }
    if p.last_reviewed_commit:
        out["lastReviewedCommit"] = p.last_reviewed_commit
    return out


def pr_ref(world: World, site: DataCenterSite, r: DcRepository, branch_name: str, h: str) -> dict:
    return {
        "id": f"refs/heads/{branch_name}",
        "displayId": branch_name,
        "latestCommit": h,
        "type": "BRANCH",
        "repository": repository(world, site, r),
    }


def comment_count(pr: DcPullRequest) -> int:
    def count(c: DcComment) -> int:
        return 1 + sum(count(x) for x in c.replies)

    return sum(count(c) for c in pr.comments)


def pull_request(
    world: World, site: DataCenterSite, r: DcRepository, pr: DcPullRequest, with_properties: bool = True
) -> dict:
    out: dict[str, Any] = {"id": pr.id, "version": pr.version, "title": pr.title}
    if pr.description:
        out["description"] = pr.description
    out.update(
        state=pr.state,
        open=pr.state == "OPEN",
        closed=pr.state != "OPEN",
        draft=pr.draft,
        createdDate=ms(pr.created),
        updatedDate=ms(pr.updated),
    )
    if pr.closed is not None:
        out["closedDate"] = ms(pr.closed)
    out.update(
        fromRef=pr_ref(world, site, r, pr.from_branch, pr.from_hash),
        toRef=pr_ref(world, site, r, pr.to_branch, pr.to_hash),
        locked=False,
        author=participant(world, site, pr.author),
        reviewers=[participant(world, site, p) for p in pr.reviewers],
        participants=[participant(world, site, p) for p in pr.participants],
    )
    if with_properties:
        tasks = [c for c in _all_comments(pr) if c.severity == "BLOCKER"]
        props: dict[str, Any] = {
            "mergeResult": {"outcome": "CLEAN" if pr.state == "OPEN" else "UNKNOWN", "current": True},
            "resolvedTaskCount": sum(1 for t in tasks if t.state == "RESOLVED"),
            "openTaskCount": sum(1 for t in tasks if t.state == "OPEN"),
        }
        if pr.merge_commit:
            props["mergeCommit"] = {"displayId": pr.merge_commit[:11], "id": pr.merge_commit}
        count = comment_count(pr)
        if count:
            props["commentCount"] = count
        out["properties"] = props
    p = site.projects[r.project_key]
    out["links"] = {"self": [{"href": f"{base(world, site)}/{_repo_ui(p, r)}/pull-requests/{pr.id}"}]}
    return out


def _all_comments(pr: DcPullRequest) -> list[DcComment]:
    out: list[DcComment] = []
    stack = list(pr.comments)
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.replies)
    return out


def comment(world: World, site: DataCenterSite, r: DcRepository, c: DcComment, caller: DcUser | None) -> dict:
    mine = caller is not None and caller.slug == c.author_slug
    out: dict[str, Any] = {
        "properties": {"repositoryId": r.id},
        "id": c.id,
        "version": c.version,
        "text": c.text,
        "author": user(world, site, site.users[c.author_slug]),
        "createdDate": ms(c.created),
        "updatedDate": ms(c.updated),
        "comments": [comment(world, site, r, x, caller) for x in c.replies],
        "severity": c.severity,
        "state": c.state,
        "tasks": [],  # legacy task objects; empty on modern servers (reference §7.7)
        "permittedOperations": {"editable": mine, "deletable": mine and not c.replies},
    }
    return out


def legacy_build(b: DcBuild) -> dict:
    """A status as `/rest/build-status/1.0` lists it [REC:build_status_legacy_page.json]."""
    out: dict[str, Any] = {"state": b.state, "key": b.key}
    if b.name:
        out["name"] = b.name
    out["url"] = b.url
    if b.description:
        out["description"] = b.description
    out["dateAdded"] = ms(b.added)
    return out
