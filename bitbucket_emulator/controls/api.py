"""The `/_emulator/` HTTP API (only when the emulator runs with controls enabled). See the package docstring."""

from __future__ import annotations

import json
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from ..world import datacenter
from ..world.ids import fmt_time
from ..world.objects import WorldError
from ..world.state import World
from ..world.statuses import set_status
from .insights import post_pull_request_report
from .switches import Controls
from .webhooks import WebhookDispatcher


class EmulatorHandle(Protocol):
    """What the control API asks of the running emulator (server.Emulator)."""

    webhooks: WebhookDispatcher

    @property
    def accounts(self) -> list[dict]: ...

    @property
    def access_tokens(self) -> list[dict]: ...

    def reset(self) -> None: ...


# name in the URL -> (World method, allowed keyword arguments)
WORLD_ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rename-repository": ("rename_repository", ("workspace", "repo_slug", "new_name")),
    "delete-repository": ("delete_repository", ("workspace", "repo_slug")),
    "add-member": ("add_member", ("workspace", "username", "role")),
    "remove-member": ("remove_member", ("workspace", "username")),
    "grant": ("grant", ("workspace", "repo_slug", "username", "permission")),
    "revoke": ("revoke", ("workspace", "repo_slug", "username")),
    "commit": ("commit_files", ("workspace", "repo_slug", "branch", "username", "files", "message", "parent")),
    "update-pull-request-title": (
        "update_pull_request_title",
        ("workspace", "repo_slug", "pr_id", "username", "title"),
    ),
    "make-conflict": ("make_conflict", ("workspace", "repo_slug", "pr_id", "username")),
    "add-watcher": ("add_watcher", ("workspace", "repo_slug", "username")),
    "remove-watcher": ("remove_watcher", ("workspace", "repo_slug", "username")),
    "time-travel": ("time_travel", ("seconds",)),
}

# The arguments of `POST /_emulator/statuses` (world.statuses.set_status).
STATUS_ARGS = (
    "workspace",
    "repo_slug",
    "key",
    "state",
    "pr_id",
    "commit",
    "name",
    "description",
    "url",
    "refname",
    "username",
)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, indent=1).encode(), status=status, headers={"Content-Type": "application/json"})


def _body(request: Request) -> dict:
    raw = request.get_data()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def handle(request: Request, world: World, c: Controls, emulator: EmulatorHandle | None) -> Response:
    path = request.path.rstrip("/")
    method = request.method
    try:
        body = _body(request) if method in ("POST", "PUT") else {}
        if path == "/_emulator" and method == "GET":
            return _json(
                {
                    **c.describe(),
                    "now": fmt_time(world.now()),
                    "app_passwords": world.app_passwords_enabled,
                    "requests": c.total,
                }
            )
        if path == "/_emulator/requests" and method == "GET":
            return _json(c.counts())
        if path == "/_emulator/requests/reset" and method == "POST":
            c.reset_counts()
            return _json({"reset": True})
        if path == "/_emulator/latency":
            if method == "POST":
                c.set_latency(body.get("ms", 0), body.get("jitter_ms", 0))
            elif method == "DELETE":
                c.set_latency(0)
            return _json(c.describe()["latency"])
        if path == "/_emulator/rate-limit":
            if method == "POST":
                c.set_rate_limit(
                    body.get("limit"),
                    body.get("window", 3600),
                    body.get("retry_after"),
                    body.get("resource", "repositories"),
                )
            elif method == "DELETE":
                c.set_rate_limit(None)
            return _json(c.describe()["rate_limit"])
        if path == "/_emulator/datacenter/rate-limit":
            if method == "POST":
                c.set_dc_rate_limit(body.get("capacity", 60), body.get("fill_rate", 5.0))
            elif method == "DELETE":
                c.set_dc_rate_limit(None)
            return _json(c.describe()["datacenter_rate_limit"])
        if path == "/_emulator/datacenter/switches":
            # What the reference leaves unconfirmed: `newest_by` ("updated" | "created": how order=NEWEST sorts pull
            # requests), `reviews_move_updated` (an approval moves updatedDate and version) and the pull request
            # page cap `pull_request_page_max` (0: none).
            if world.datacenter is None:
                return _json({"error": "this world has no Data Center site"}, 404)
            if method == "POST":
                unknown = set(body) - {"newest_by", "reviews_move_updated", "pull_request_page_max"}
                if unknown:
                    return _json({"error": f"unknown switches: {sorted(unknown)}"}, 400)
                with world.lock:
                    return _json(datacenter.set_switches(world.datacenter, **body))
            return _json(datacenter.switches(world.datacenter))
        if path == "/_emulator/faults":
            if method == "POST":
                c.set_fault(
                    body.get("every"), str(body.get("kind", "500")), body.get("delay", 2.0), body.get("path", "")
                )
            elif method == "DELETE":
                c.set_fault(None)
            return _json(c.describe()["faults"])
        if path == "/_emulator/time":
            if method == "POST":
                world.time_travel(float(body.get("shift_seconds", 0)))
            return _json({"now": fmt_time(world.now()), "offset_seconds": world.clock.offset.total_seconds()})
        if path == "/_emulator/slow-merges" and method == "POST":
            c.slow_merges = bool(body.get("enabled", True))
            return _json({"enabled": c.slow_merges})
        if path == "/_emulator/commit-links" and method == "POST":
            name = f"{body.get('workspace')}/{body.get('repo_slug')}"
            status = int(body.get("status", 200))
            if status not in (200, 202, 404):
                return _json({"error": "status must be 200, 202 or 404"}, 400)
            if status == 200:
                c.commit_links.pop(name, None)
            else:
                c.commit_links[name] = status
            return _json({"repository": name, "status": status})
        if path == "/_emulator/reset" and method == "POST":
            if emulator is None:
                return _json({"error": "no emulator to reset"}, 404)
            emulator.reset()
            return _json({"reset": True, "now": fmt_time(world.now())})
        if path == "/_emulator/app-passwords" and method == "POST":
            world.app_passwords_enabled = bool(body.get("enabled", True))
            return _json({"enabled": world.app_passwords_enabled})
        if path == "/_emulator/webhooks/drop":
            if method == "POST":
                c.drop_webhooks(body.get("count"), body.get("events"))
            elif method == "DELETE":
                c.stop_dropping_webhooks()
            elif method != "GET":
                return _json({"error": f"no control {method} {path}"}, 405)
            return _json(c.describe()["webhook_drops"])
        if path == "/_emulator/webhooks/deliveries" and method == "GET":
            return _json(emulator.webhooks.deliveries() if emulator is not None else [])
        if path == "/_emulator/insights/report" and method == "POST":
            return _json(post_pull_request_report(world, **body))
        if path == "/_emulator/accounts" and method == "GET":
            accounts = {"accounts": emulator.accounts, "access_tokens": emulator.access_tokens} if emulator else {}
            return _json(accounts)
        if path == "/_emulator/statuses" and method == "POST":
            # A CI at work: post or overwrite a build status on a PR's source tip (`pr_id`) or on a `commit`.
            unknown_args = set(body) - set(STATUS_ARGS)
            if unknown_args:
                return _json({"error": f"unknown arguments: {sorted(unknown_args)}", "allowed": list(STATUS_ARGS)}, 400)
            return _json({"ok": True, "result": set_status(world, **body)})
        if path.startswith("/_emulator/world/") and method == "POST":
            action = path.removeprefix("/_emulator/world/")
            if action not in WORLD_ACTIONS:
                return _json({"error": f"unknown action {action!r}", "actions": sorted(WORLD_ACTIONS)}, 404)
            name, allowed = WORLD_ACTIONS[action]
            unknown = set(body) - set(allowed)
            if unknown:
                return _json({"error": f"unknown arguments: {sorted(unknown)}", "allowed": list(allowed)}, 400)
            result = getattr(world, name)(**body)
            if hasattr(result, "hash"):
                result = {"hash": result.hash}
            return _json({"ok": True, "result": result})
    except WorldError as exc:
        return _json({"error": exc.message}, exc.status)
    except (ValueError, TypeError, KeyError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"error": f"no control {method} {path}"}, 404)
