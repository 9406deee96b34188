"""A control for tests and demos: a CI tool's Code Insights upload for a pull request's source tip.

`POST /_emulator/insights/report` with `{"workspace", "repo_slug", "pr_id", "report": {...}, "annotations": [...]}`
puts the report (its `external_id`, else a new uuid, addresses it) on the commit the pull request's source branch
points at, then its annotations in batches of 100, as an uploader would.
"""

from __future__ import annotations

from typing import Any

from ..world import ids, insights
from ..world.state import World


def post_pull_request_report(
    world: World, *, workspace: str, repo_slug: str, pr_id: int, report: dict, annotations: list | None = None
) -> dict[str, Any]:
    with world.lock:
        repo = world.repository(workspace, repo_slug)
        pr = world.pull_request(repo, int(pr_id))
        address = report.get("external_id") or ids.random_uuid()
        stored = insights.put_report(world, repo, pr.source_hash, address, report)
        batch = insights.MAX_BULK
        for start in range(0, len(annotations or []), batch):
            insights.add_annotations(world, stored, (annotations or [])[start : start + batch])
        return {
            "commit": pr.source_hash,
            "uuid": stored.uuid,
            "external_id": stored.external_id,
            "annotations": len(stored.annotations),
        }
