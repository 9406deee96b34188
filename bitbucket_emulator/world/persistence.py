"""The state file: a world to JSON and back (`--state-file`), so a restarted demo keeps its commits.

File contents are stored once each (by blob id) however many commits share them.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta

from . import ids
from .insights import Annotation, Report
from .merge import blob_id
from .objects import (
    AccessToken,
    BranchRestriction,
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
from .state import World
from .tasks import Task

FORMAT = "bbdash-emulator-state/1"


def to_dict(world: World) -> dict:
    """The whole world as JSON-ready data (file contents base64, once per blob)."""
    blobs: dict[str, str] = {}

    def blob(content: bytes) -> str:
        key = blob_id(content)
        blobs.setdefault(key, base64.b64encode(content).decode())
        return key

    def dt(value: datetime | None) -> str | None:
        return ids.fmt_time(value)

    repos = []
    for r in world.repositories.values():
        repos.append(
            {
                **{k: getattr(r, k) for k in ("uuid", "workspace_uuid", "slug", "name", "description")},
                **{k: getattr(r, k) for k in ("is_private", "project_key", "language", "mainbranch")},
                **{k: getattr(r, k) for k in ("fork_policy", "website", "branches", "tags", "next_pr_id")},
                "watchers": r.watchers,
                "permissions": r.permissions,
                "default_reviewers": r.default_reviewers,
                "restrictions": [dict(rule.__dict__) for rule in r.restrictions],
                "tag_objects": r.tag_objects,
                "branching_model": r.branching_model,
                "created_on": dt(r.created_on),
                "updated_on": dt(r.updated_on),
                "hooks": [_hook_dict(h) for h in r.hooks],
                "commits": [
                    {
                        "hash": c.hash,
                        "parents": c.parents,
                        "tree": {p: blob(b) for p, b in c.tree.items()},
                        "message": c.message,
                        "author_raw": c.author_raw,
                        "author_uuid": c.author_uuid,
                        "date": dt(c.date),
                    }
                    for c in r.commits.values()
                ],
                "pullrequests": [_pr_dict(pr) for pr in r.pullrequests.values()],
                "statuses": [_status_dict(st) for by_key in r.statuses.values() for st in by_key.values()],
                "next_task_id": r.next_task_id,
                "reports": [_report_dict(x) for reports in r.reports.values() for x in reports],
            }
        )
    return {
        "format": FORMAT,
        "clock_offset": world.clock.offset.total_seconds(),
        "next_comment_id": world.next_comment_id,
        "users": [{**u.__dict__, "created_on": dt(u.created_on)} for u in world.users.values()],
        "access_tokens": [{**t.__dict__, "created_on": dt(t.created_on)} for t in world.access_tokens.values()],
        "workspaces": [
            {
                **{k: getattr(w, k) for k in ("uuid", "slug", "name", "is_private", "members")},
                "created_on": dt(w.created_on),
                "updated_on": dt(w.updated_on),
                "member_since": {k: dt(v) for k, v in w.member_since.items()},
                "projects": [
                    {**p.__dict__, "created_on": dt(p.created_on), "updated_on": dt(p.updated_on)}
                    for p in w.projects.values()
                ],
                "hooks": [_hook_dict(h) for h in w.hooks],
            }
            for w in world.workspaces.values()
        ],
        "repositories": repos,
        "blobs": blobs,
    }


def from_dict(data: dict) -> World:
    """A world back from `to_dict` data; ValueError if it is not an emulator state file."""
    if data.get("format") != FORMAT:
        raise ValueError("not an emulator state file")
    world = World()
    world.clock.offset = timedelta(seconds=data.get("clock_offset", 0))
    world.next_comment_id = data["next_comment_id"]
    blobs = {k: base64.b64decode(v) for k, v in data["blobs"].items()}
    pt = ids.parse_time

    def opt(value: str | None) -> datetime | None:
        return pt(value) if value else None

    for u in data["users"]:
        world.users[u["uuid"]] = User(**{**u, "created_on": pt(u["created_on"])})
    for t in data["access_tokens"]:
        world.access_tokens[t["token"]] = AccessToken(**{**t, "created_on": pt(t["created_on"])})
    for w in data["workspaces"]:
        ws = Workspace(
            uuid=w["uuid"],
            slug=w["slug"],
            name=w["name"],
            is_private=w["is_private"],
            created_on=pt(w["created_on"]),
            updated_on=pt(w["updated_on"]),
            members=w["members"],
            member_since={k: pt(v) for k, v in w["member_since"].items()},
            projects={
                p["key"]: Project(**{**p, "created_on": pt(p["created_on"]), "updated_on": pt(p["updated_on"])})
                for p in w["projects"]
            },
            hooks=[_hook_from(h) for h in w["hooks"]],
        )
        world.workspaces[ws.uuid] = ws
    for r in data["repositories"]:
        repo = Repository(
            **{k: r[k] for k in ("uuid", "workspace_uuid", "slug", "name", "description", "is_private")},
            **{k: r[k] for k in ("project_key", "language", "mainbranch", "fork_policy", "website")},
            **{k: r[k] for k in ("branches", "tags", "next_pr_id", "watchers", "permissions")},
            created_on=pt(r["created_on"]),
            updated_on=pt(r["updated_on"]),
            hooks=[_hook_from(h) for h in r["hooks"]],
            default_reviewers=r.get("default_reviewers", []),  # absent from state files written before they existed
            next_task_id=r.get("next_task_id", 1),  # likewise
            restrictions=[BranchRestriction(**rule) for rule in r.get("restrictions", [])],  # likewise
            tag_objects=r.get("tag_objects", {}),  # likewise
            branching_model=r.get("branching_model"),  # likewise
        )
        for x in r.get("reports", []):
            report = _report_from(x)
            repo.reports.setdefault(report.commit, []).append(report)
        for c in r["commits"]:
            repo.commits[c["hash"]] = Commit(
                c["hash"],
                c["parents"],
                {p: blobs[k] for p, k in c["tree"].items()},
                c["message"],
                c["author_raw"],
                c["author_uuid"],
                pt(c["date"]),
            )
        for p in r["pullrequests"]:
            pr = PullRequest(
                **{k: v for k, v in p.items() if k not in ("participants", "comments", "activity", "tasks")},
            )
            for k in ("created_on", "updated_on"):
                setattr(pr, k, pt(getattr(pr, k)))
            pr.closed_on = opt(p["closed_on"])
            pr.participants = {
                x["user_uuid"]: Participant(**{**x, "participated_on": opt(x["participated_on"])})
                for x in p["participants"]
            }
            pr.comments = [
                Comment(
                    **{
                        **c,
                        "created_on": pt(c["created_on"]),
                        "updated_on": pt(c["updated_on"]),
                        "resolved_on": opt(c.get("resolved_on")),
                    }
                )
                for c in p["comments"]
            ]
            pr.activity = [_activity_from(a) for a in p["activity"]]
            pr.tasks = [_task_from(t) for t in p.get("tasks", [])]
            repo.pullrequests[pr.id] = pr
        for st in r.get("statuses", []):  # absent from state files written before statuses existed
            status = _status_from(st)
            repo.statuses.setdefault(status.commit, {})[status.key] = status
        world.repositories[repo.uuid] = repo
    return world


def save(world: World, path: str) -> None:
    """Write atomically (a temporary file, then a rename), so a crash never leaves half a state file."""
    with world.lock:
        data = to_dict(world)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def load(path: str) -> World:
    """Read a state file written by `save`."""
    with open(path, encoding="utf-8") as fh:
        return from_dict(json.load(fh))


def _hook_dict(h: Hook) -> dict:
    return {**h.__dict__, "created_at": ids.fmt_time(h.created_at)}


def _hook_from(d: dict) -> Hook:
    return Hook(**{**d, "created_at": ids.parse_time(d["created_at"])})


def _pr_dict(pr: PullRequest) -> dict:
    out = {k: v for k, v in pr.__dict__.items() if k not in ("participants", "comments", "activity", "tasks")}
    for k in ("created_on", "updated_on", "closed_on"):
        out[k] = ids.fmt_time(out[k])
    out["participants"] = [
        {**p.__dict__, "participated_on": ids.fmt_time(p.participated_on)} for p in pr.participants.values()
    ]
    out["comments"] = [_times(c.__dict__, "created_on", "updated_on", "resolved_on") for c in pr.comments]
    out["tasks"] = [_times(t.__dict__, "created_on", "updated_on", "resolved_on") for t in pr.tasks]
    out["activity"] = [
        {**a, "date": ids.fmt_time(a["date"]), **({"snapshot": a["snapshot"]} if "snapshot" in a else {})}
        for a in pr.activity
    ]
    return out


def _activity_from(a: dict) -> dict:
    out = {**a, "date": ids.parse_time(a["date"])}
    if "snapshot" in out:
        snap = dict(out["snapshot"])
        snap["source"] = tuple(snap["source"])
        snap["destination"] = tuple(snap["destination"])
        out["snapshot"] = snap
    return out


def _status_dict(st: CommitStatus) -> dict:
    return {**st.__dict__, "created_on": ids.fmt_time(st.created_on), "updated_on": ids.fmt_time(st.updated_on)}


def _status_from(d: dict) -> CommitStatus:
    times = {k: ids.parse_time(d[k]) if d.get(k) else None for k in ("created_on", "updated_on")}
    return CommitStatus(**{**d, **times})


def _times(d: dict, *names: str) -> dict:
    return {**d, **{n: ids.fmt_time(d[n]) for n in names}}


def _parsed(d: dict, *names: str) -> dict:
    return {**d, **{n: ids.parse_time(d[n]) if d[n] else None for n in names}}


def _task_from(d: dict) -> Task:
    return Task(**_parsed(d, "created_on", "updated_on", "resolved_on"))


def _report_dict(r: Report) -> dict:
    out = _times({k: v for k, v in r.__dict__.items() if k != "annotations"}, "created_on", "updated_on")
    out["annotations"] = [_times(a.__dict__, "created_on", "updated_on") for a in r.annotations]
    return out


def _report_from(d: dict) -> Report:
    report = Report(**_parsed({k: v for k, v in d.items() if k != "annotations"}, "created_on", "updated_on"))
    report.annotations = [Annotation(**_parsed(a, "created_on", "updated_on")) for a in d["annotations"]]
    return report
