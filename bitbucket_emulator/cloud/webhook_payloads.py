"""Webhook payloads as Bitbucket Cloud sends them: the actor, the repository and the objects of the event."""

from __future__ import annotations

from ..world.ids import fmt_time
from ..world.objects import Repository
from ..world.state import World
from . import serialize as s


def payload(world: World, event: str, repo: Repository, actor_uuid: str | None, **objects) -> dict:
    """The JSON body Bitbucket Cloud POSTs for `event` (the objects are those World.emit passes)."""
    body: dict = {"actor": s.account(world, actor_uuid), "repository": s.repository(world, repo)}
    pr = objects.get("pullrequest")
    if pr is not None:
        body["pullrequest"] = s.pullrequest(world, repo, pr)
    if "review" in objects:
        review = objects["review"]
        key = "approval" if event in ("pullrequest:approved", "pullrequest:unapproved") else "changes_request"
        body[key] = {"date": fmt_time(review["date"]), "user": s.account(world, review["user"])}
    if "comment" in objects:
        assert pr is not None, "a comment event is always sent with its pull request"
        body["comment"] = s.comment(world, repo, pr, objects["comment"], detail=True)
    if "commit_status" in objects:
        # The documented example has no `commit` or `refname` (the hash only in links.commit.href); consumers' test
        # bodies carry both, so they are sent, as the status endpoints send them.
        body["commit_status"] = s.commit_status(world, repo, objects["commit_status"])
    if "push" in objects:
        body["push"] = {"changes": [_push_change(world, repo, **objects["push"])]}
    return body


def _push_change(
    world: World,
    repo: Repository,
    branch: str,
    old: str | None,
    new: str | None,
    kind: str = "branch",
    tag_object: dict | None = None,
) -> dict:
    """One change of a push: a branch (or, with `kind="tag"`, a tag and its tag object) created, moved or deleted.
    As recorded, a tag's ref carries its message, date and tagger, and a tag's change has no `commits`."""
    full_name = world.full_name(repo)
    refs, html = (
        ("tags", f"commits/tag/{s.qpath(branch)}") if kind == "tag" else ("branches", f"branch/{s.qpath(branch)}")
    )

    def ref(h: str | None) -> dict | None:
        if h is None:
            return None
        return {
            "type": kind,
            "name": branch,
            **(s.tag_fields(world, repo, branch, repo.commits[h], tag_object) if kind == "tag" else {}),
            "target": s.commit(world, repo, repo.commits[h]),
            "links": {
                "self": s.link(s.api(world, f"/repositories/{full_name}/refs/{refs}/{s.qpath(branch)}")),
                "commits": s.link(s.api(world, f"/repositories/{full_name}/commits/{s.qpath(branch)}")),
                "html": s.link(s.web(world, f"/{full_name}/{html}")),
            },
        }

    commits = world.log(repo, [new], [old] if old else []) if new and kind == "branch" else []
    return {
        "old": ref(old),
        "new": ref(new),
        "created": old is None,
        "closed": new is None,
        "forced": bool(old and new and not world.is_ancestor(repo, old, new)),
        "truncated": len(commits) > 5,
        **({"commits": [s.commit(world, repo, c) for c in commits[:5]]} if kind == "branch" else {}),
        "links": {
            "html": s.link(s.web(world, f"/{full_name}/branches/compare/{new or ''}..{old or ''}")),
            "commits": s.link(s.api(world, f"/repositories/{full_name}/commits?include={new or ''}")),
        },
    }
