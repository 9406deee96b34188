"""Code Insights: reports on a commit (coverage, security scans, tests) and their annotations on lines of files.

A report is addressed by its generated `uuid` or by the caller's `external_id` (unique per commit); an annotation
likewise within its report. PUT of a report creates or replaces it (never 201); a bulk POST of annotations creates
new ones and updates those whose `external_id` exists. Limits: 10 data fields per report, 1..100 annotations per
bulk POST, 1000 per report. Deleting a report deletes its annotations (what uploaders rely on; unconfirmed).
Replacing a report keeps its annotations: tools PUT the report, then POST its annotations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from . import ids
from .objects import Repository, WorldError

REPORT_TYPES = ("SECURITY", "COVERAGE", "TEST", "BUG")
REPORT_RESULTS = ("PASSED", "FAILED", "PENDING")
DATA_TYPES = ("BOOLEAN", "DATE", "DURATION", "LINK", "NUMBER", "PERCENTAGE", "TEXT")
ANNOTATION_TYPES = ("VULNERABILITY", "CODE_SMELL", "BUG")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
ANNOTATION_RESULTS = ("PASSED", "FAILED", "SKIPPED", "IGNORED")
MAX_DATA = 10
MAX_BULK = 100
MAX_ANNOTATIONS = 1000
_UUID = re.compile(r"^\{[0-9a-f-]{36}\}$")
_URL = re.compile(r"^https?://\S+$")


class Clocked(Protocol):
    """What these rules ask of the world (state.World): its clock and its change counter."""

    version: int

    def now(self) -> datetime: ...

    def resolve(self, repo: Repository, rev: str) -> Any: ...


@dataclass
class Annotation:
    uuid: str
    external_id: str | None
    fields: dict[str, Any]  # annotation_type, severity, result, path, line, summary, details, link
    created_on: datetime
    updated_on: datetime


@dataclass
class Report:
    uuid: str
    external_id: str | None
    commit: str
    fields: dict[str, Any]  # title, details, reporter, link, logo_url, remote_link_enabled, report_type, result, data
    created_on: datetime
    updated_on: datetime
    annotations: list[Annotation] = field(default_factory=list)


def _bad(name: str, problem: str) -> WorldError:
    return WorldError(400, "Bad request", fields={name: [problem]})


def _text(body: dict, name: str, out: dict, *, required: bool = False, url: bool = False) -> None:
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(name, "This field is required.")
        return
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(name, "Must be a non-empty string." if required else "Must be a string.")
    if url and not _URL.match(value):
        raise _bad(name, "Must be an absolute http(s) URL.")
    out[name] = value


def _choice(body: dict, name: str, choices: tuple[str, ...], out: dict, *, required: bool = False) -> None:
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(name, "This field is required.")
        return
    if value not in choices:
        raise _bad(name, f"'{value}' is not one of {', '.join(choices)}.")
    out[name] = value


def _data_item(item: Any, index: int) -> dict:
    name = f"data[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("title"), str) or "value" not in item:
        raise _bad(name, "Each data item needs a title and a value.")
    kind, value = item.get("type"), item["value"]
    if kind is None:  # inferred from a scalar, as Bitbucket does
        kind = "BOOLEAN" if isinstance(value, bool) else "NUMBER" if isinstance(value, int | float) else "TEXT"
    if kind not in DATA_TYPES:
        raise _bad(name, f"'{kind}' is not a valid data type.")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    valid = {
        "BOOLEAN": isinstance(value, bool),
        "DATE": number,
        "DURATION": number,
        "NUMBER": number,
        "PERCENTAGE": number and 0 <= value <= 100,
        "TEXT": isinstance(value, str),
        "LINK": isinstance(value, dict) and isinstance(value.get("href"), str) and isinstance(value.get("text"), str),
    }[kind]
    if not valid:
        raise _bad(name, f"The value does not fit the type {kind}.")
    return {"title": item["title"], "type": kind, "value": value}


def report_fields(body: dict) -> dict:
    """The stored fields of a report body; 400 (WorldError) for anything malformed."""
    out: dict[str, Any] = {}
    _text(body, "title", out, required=True)
    _text(body, "details", out)
    _text(body, "reporter", out)
    _text(body, "link", out, url=True)
    _text(body, "logo_url", out, url=True)
    _choice(body, "report_type", REPORT_TYPES, out, required=True)
    _choice(body, "result", REPORT_RESULTS, out)
    if "remote_link_enabled" in body:
        if not isinstance(body["remote_link_enabled"], bool):
            raise _bad("remote_link_enabled", "Must be a boolean.")
        out["remote_link_enabled"] = body["remote_link_enabled"]
    data = body.get("data") or []
    if not isinstance(data, list):
        raise _bad("data", "Must be a list.")
    if len(data) > MAX_DATA:
        raise _bad("data", f"A report holds at most {MAX_DATA} data fields.")
    out["data"] = [_data_item(item, i) for i, item in enumerate(data)]
    return out


def annotation_fields(body: Any, index: int | None = None) -> dict:
    if not isinstance(body, dict):
        raise _bad("annotations" if index is None else f"annotations[{index}]", "Each annotation must be an object.")
    out: dict[str, Any] = {}
    _text(body, "summary", out, required=True)
    _choice(body, "annotation_type", ANNOTATION_TYPES, out, required=True)
    _choice(body, "severity", SEVERITIES, out)
    _choice(body, "result", ANNOTATION_RESULTS, out)
    _text(body, "path", out)
    _text(body, "details", out)
    _text(body, "link", out, url=True)
    line = body.get("line", 0)  # omitted: 0, the top of the file
    if line is None:
        line = 0
    if not isinstance(line, int) or isinstance(line, bool) or line < 0:
        raise _bad("line", "Must be a whole number of 1 or more.")
    out["line"] = line
    return out


def _external(body: dict, address: str | None) -> str | None:
    value = body.get("external_id")
    if value is not None and not isinstance(value, str):
        raise _bad("external_id", "Must be a string.")
    if value:
        return value
    return address if address and not _UUID.match(address) else None


def reports_of(world: Clocked, repo: Repository, commit: str) -> tuple[str, list[Report]]:
    """The full hash `commit` names (404 when unknown) and its reports, oldest first."""
    full = world.resolve(repo, commit).hash
    return full, repo.reports.setdefault(full, [])


def find_report(world: Clocked, repo: Repository, commit: str, report_id: str) -> Report:
    _full, reports = reports_of(world, repo, commit)
    for r in reports:
        if report_id in (r.uuid, r.external_id):
            return r
    raise WorldError(404, f"Report {report_id} not found.")


def put_report(world: Clocked, repo: Repository, commit: str, report_id: str, body: dict) -> Report:
    """Create or replace the report `report_id` (its uuid or external id) on `commit`."""
    full, reports = reports_of(world, repo, commit)
    fields = report_fields(body)
    now = world.now()
    for r in reports:
        if report_id in (r.uuid, r.external_id):
            r.fields, r.updated_on = fields, now
            r.external_id = _external(body, None) or r.external_id
            world.version += 1
            return r
    uuid = report_id if _UUID.match(report_id) else ids.random_uuid()
    report = Report(uuid, _external(body, report_id), full, fields, now, now)
    reports.append(report)
    world.version += 1
    return report


def delete_report(world: Clocked, repo: Repository, commit: str, report_id: str) -> None:
    _full, reports = reports_of(world, repo, commit)
    reports[:] = [r for r in reports if report_id not in (r.uuid, r.external_id)]
    world.version += 1


def find_annotation(report: Report, annotation_id: str) -> Annotation:
    for a in report.annotations:
        if annotation_id in (a.uuid, a.external_id):
            return a
    raise WorldError(404, f"Annotation {annotation_id} not found.")


def _upsert(world: Clocked, report: Report, body: dict, fields: dict, address: str | None = None) -> Annotation:
    external = _external(body, address)
    now = world.now()
    for a in report.annotations:
        if (address and address in (a.uuid, a.external_id)) or (external and a.external_id == external):
            a.fields, a.updated_on = fields, now
            a.external_id = external or a.external_id
            return a
    if len(report.annotations) >= MAX_ANNOTATIONS:
        raise _bad("annotations", f"A report holds at most {MAX_ANNOTATIONS} annotations.")
    uuid = address if address and _UUID.match(address) else ids.random_uuid()
    annotation = Annotation(uuid, external, fields, now, now)
    report.annotations.append(annotation)
    return annotation


def add_annotations(world: Clocked, report: Report, bodies: Any) -> list[Annotation]:
    """Bulk create-or-update (1..100 at once); all are checked before any is stored."""
    if not isinstance(bodies, list) or not 1 <= len(bodies) <= MAX_BULK:
        raise _bad("annotations", f"Send a list of 1 to {MAX_BULK} annotations.")
    checked = [annotation_fields(b, i) for i, b in enumerate(bodies)]
    new = {_external(b, None) for b in bodies} - {a.external_id for a in report.annotations} - {None}
    fresh = sum(1 for b in bodies if not _external(b, None)) + len(new)
    if len(report.annotations) + fresh > MAX_ANNOTATIONS:
        raise _bad("annotations", f"A report holds at most {MAX_ANNOTATIONS} annotations.")
    stored = [_upsert(world, report, b, f) for b, f in zip(bodies, checked, strict=True)]
    world.version += 1
    return stored


def put_annotation(world: Clocked, report: Report, annotation_id: str, body: dict) -> Annotation:
    annotation = _upsert(world, report, body, annotation_fields(body), address=annotation_id)
    world.version += 1
    return annotation


def delete_annotation(world: Clocked, report: Report, annotation: Annotation) -> None:
    report.annotations.remove(annotation)
    world.version += 1
