"""Handlers for Code Insights: a commit's reports (list, create-or-replace, get, delete) and each report's
annotations (list, bulk create-or-update, get, create-or-replace, delete).

Bitbucket lists only the read scope for all of them, writes included; writing a report here also needs write
permission on the repository (what CI tools hold), reading needs read.
"""

from __future__ import annotations

import json
from typing import Any

from ..world import insights
from ..world.insights import Annotation, Report
from ..world.objects import Repository, WorldError
from ..world.state import World
from . import query
from . import serialize as s
from .auth import repo_for
from .context import Ctx, Result, empty


def report_json(world: World, repo: Repository, r: Report) -> dict:
    out: dict[str, Any] = {"type": "report", "uuid": r.uuid}
    if r.external_id is not None:
        out["external_id"] = r.external_id
    out.update(r.fields)
    out.setdefault("remote_link_enabled", False)
    out.update(created_on=s.fmt_time(r.created_on), updated_on=s.fmt_time(r.updated_on))
    return out


def annotation_json(a: Annotation) -> dict:
    out: dict[str, Any] = {"type": "report_annotation", "uuid": a.uuid}
    if a.external_id is not None:
        out["external_id"] = a.external_id
    out.update(a.fields)
    out.update(created_on=s.fmt_time(a.created_on), updated_on=s.fmt_time(a.updated_on))
    return out


def _json_body(ctx: Ctx) -> Any:
    """The JSON body as sent (the bulk POST sends an array, which `Ctx.body` refuses)."""
    raw = ctx.request.get_data(cache=True)
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        raise WorldError(400, "Bad request", detail="The request body is not valid JSON.") from None


def _object_body(ctx: Ctx) -> dict:
    body = _json_body(ctx)
    if not isinstance(body, dict):
        raise WorldError(400, "Bad request", detail="The request body must be a JSON object.")
    return body


def _report(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str, need: str = "read"):
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug, need=need)
    return repo, insights.find_report(ctx.world, repo, commit, report_id)


def report_list(ctx: Ctx, workspace: str, repo_slug: str, commit: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug)
    _full, reports = insights.reports_of(world, repo, commit)
    return Result(query.page(list(reports), ctx.args, ctx.url(), render=lambda r: report_json(world, repo, r)))


def report_put(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str) -> Result:
    world = ctx.world
    repo = repo_for(world, ctx.identity, workspace, repo_slug, need="write")
    report = insights.put_report(world, repo, commit, report_id, _object_body(ctx))
    return Result(report_json(world, repo, report))  # 200 whether created or replaced


def report_detail(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str) -> Result:
    repo, report = _report(ctx, workspace, repo_slug, commit, report_id)
    return Result(report_json(ctx.world, repo, report))


def report_delete(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str):
    repo = repo_for(ctx.world, ctx.identity, workspace, repo_slug, need="write")
    insights.delete_report(ctx.world, repo, commit, report_id)
    return empty(204)


def annotation_list(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str) -> Result:
    _repo, report = _report(ctx, workspace, repo_slug, commit, report_id)
    return Result(query.page(list(report.annotations), ctx.args, ctx.url(), render=annotation_json))


def annotation_bulk(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str) -> Result:
    _repo, report = _report(ctx, workspace, repo_slug, commit, report_id, need="write")
    stored = insights.add_annotations(ctx.world, report, _json_body(ctx))
    return Result([annotation_json(a) for a in stored])  # 200 and an array, not a page


def annotation_detail(
    ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str, annotation_id: str
) -> Result:
    _repo, report = _report(ctx, workspace, repo_slug, commit, report_id)
    return Result(annotation_json(insights.find_annotation(report, annotation_id)))


def annotation_put(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str, annotation_id: str) -> Result:
    _repo, report = _report(ctx, workspace, repo_slug, commit, report_id, need="write")
    return Result(annotation_json(insights.put_annotation(ctx.world, report, annotation_id, _object_body(ctx))))


def annotation_delete(ctx: Ctx, workspace: str, repo_slug: str, commit: str, report_id: str, annotation_id: str):
    _repo, report = _report(ctx, workspace, repo_slug, commit, report_id, need="write")
    insights.delete_annotation(ctx.world, report, insights.find_annotation(report, annotation_id))
    return empty(204)
