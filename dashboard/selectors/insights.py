"""A pull request's tasks and its source commit's Code Insights reports, read live and made into page sections.

Read and cached by `bitbucket_sync.browse` with the viewer's own credential (each cache entry is that credential's).
`reports_summary` is the one call the readiness panel needs: how many of the source commit's reports passed,
failed or are pending. `annotate_diff` pins the reports' annotations to the diff lines they name (path and new-side
line); what a diff does not show stays in the report's own list.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bitbucket_sync import browse
from bitbucket_sync.browse import CommitReport, LiveReadError
from bitbucket_sync.client import records
from bitbucket_sync.models import PullRequest
from dashboard.selectors.source import browse_client

logger = logging.getLogger(__name__)

RESULTS = ("FAILED", "PENDING", "PASSED")
# Worst first, as a reviewer reads them.
SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "": 4}


@dataclass(frozen=True)
class TaskList:
    tasks: list[records.Task]

    @property
    def open(self) -> list[records.Task]:
        return [t for t in self.tasks if not t.resolved]

    @property
    def resolved(self) -> list[records.Task]:
        return [t for t in self.tasks if t.resolved]


def pull_request_tasks(user, *, pull_request: PullRequest, fresh: bool = False) -> TaskList:
    """The pull request's tasks (LiveReadError when they cannot be read); the mirror's counts follow what was read."""
    with browse_client(user, workspace=pull_request.workspace) as reader:
        return TaskList(browse.read_pull_request_tasks(reader, pull_request=pull_request, fresh=fresh))


@dataclass(frozen=True)
class DataValue:
    """A report data field ready to show: `text`, or a `when` (DATE), or a link (`href` checked by `safe_url`)."""

    title: str
    type: str
    text: str = ""
    href: str = ""
    when: datetime | None = None


def _duration(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds % 1 else f"{int(seconds)} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def data_value(d: records.ReportData) -> DataValue:
    """One data field by its type: PERCENTAGE with %, DURATION from ms, DATE from epoch ms, LINK as a link."""
    value = d.value
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if d.type == "LINK":
        return DataValue(d.title, d.type, text=d.link_text or d.link_href, href=d.link_href)
    if d.type == "BOOLEAN" and isinstance(value, bool):
        return DataValue(d.title, d.type, text="yes" if value else "no")
    if d.type == "PERCENTAGE" and is_number:
        return DataValue(d.title, d.type, text=f"{_number(value)} %")  # type: ignore[arg-type]
    if d.type == "DURATION" and is_number:
        return DataValue(d.title, d.type, text=_duration(float(value)))  # type: ignore[arg-type]
    if d.type == "DATE" and is_number:
        try:
            return DataValue(d.title, d.type, when=datetime.fromtimestamp(float(value) / 1000, tz=UTC))  # type: ignore[arg-type]
        except (OverflowError, OSError, ValueError):
            return DataValue(d.title, d.type, text=str(value))
    if is_number:
        return DataValue(d.title, d.type, text=_number(value))  # type: ignore[arg-type]
    return DataValue(d.title, d.type, text="" if value is None else str(value))


@dataclass(frozen=True)
class ReportView:
    report: records.Report
    data: list[DataValue]
    annotations: list[records.Annotation] = field(default_factory=list)


@dataclass(frozen=True)
class ReportsSummary:
    """How the source commit's reports came out: what the readiness panel shows."""

    passed: int = 0
    failed: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.pending

    def __bool__(self) -> bool:
        return self.total > 0  # no reports: nothing for the panel to say

    @property
    def state(self) -> str:
        """FAILED, PENDING or PASSED (worst first); "" without reports."""
        return "FAILED" if self.failed else "PENDING" if self.pending else "PASSED" if self.passed else ""


def _read_reports(user, pull_request: PullRequest, *, read: bool = True) -> list[CommitReport] | None:
    """The source commit's reports; with `read=False` only what the cache holds (None when it holds nothing)."""
    if not pull_request.source_commit:
        return []
    with browse_client(user, workspace=pull_request.workspace) as reader:
        repository, commit = pull_request.repository, pull_request.source_commit
        if read:
            return browse.read_commit_reports(reader, repository=repository, commit=commit)
        return browse.cached_commit_reports(reader, repository=repository, commit=commit)


def pull_request_reports(user, *, pull_request: PullRequest) -> list[ReportView]:
    """The Code Insights reports of the pull request's source commit, failed first, each with its annotations (worst
    severity first). LiveReadError when they cannot be read."""
    views = [
        ReportView(
            c.report,
            [data_value(d) for d in c.report.data],
            sorted(c.annotations, key=lambda a: (SEVERITY_ORDER.get(a.severity, 4), a.path or "", a.line)),
        )
        for c in _read_reports(user, pull_request) or []
    ]
    order = {r: i for i, r in enumerate(RESULTS)}
    return sorted(views, key=lambda v: order.get(v.report.result, len(RESULTS)))


def summarise(reports: list[records.Report]) -> ReportsSummary:
    results = [r.result for r in reports]
    return ReportsSummary(
        passed=results.count("PASSED"), failed=results.count("FAILED"), pending=results.count("PENDING")
    )


def reports_summary(user, *, pull_request: PullRequest, read: bool = True) -> ReportsSummary | None:
    """How many of the source commit's reports passed, failed or are pending; None when they cannot be read (the
    viewer has no working credential, Bitbucket refused). Cached like the reports section, so both cost one read.

    `read=False` sends nothing: the summary only when the reports were read lately (the page's Reports section
    reads them after the page loads, then asks the readiness panel to refresh), else None."""
    try:
        reports = _read_reports(user, pull_request, read=read)
    except LiveReadError as exc:
        if read:
            logger.info("reports of pull request %s not read: %s", pull_request.pk, exc)
        return None
    return None if reports is None else summarise([c.report for c in reports])


def annotate_diff(user, *, pull_request: PullRequest, diff: dict) -> dict:
    """`diff` (from `pull_request_diff`) with each annotation on the line of its path it names (new side), or on
    its file when that line is not shown (or is 0, the top). The diff shows without them when reports can't be read."""
    try:
        reports = _read_reports(user, pull_request) or []
    except LiveReadError:
        return diff
    by_path: dict[str, list[tuple[records.Report, records.Annotation]]] = defaultdict(list)
    for c in reports:
        for a in c.annotations:
            if a.path:
                by_path[a.path].append((c.report, a))
    for file in diff.get("files", []):
        found = by_path.get(file.path)
        if not found:
            continue
        lines = {line.new: line for line in file.lines if line.new is not None and line.kind in ("add", "ctx")}
        for report, a in found:
            target = lines.get(a.line) if a.line else None
            (target.annotations if target is not None else file.annotations).append((report, a))
    return diff
