"""The WSGI application: routing, authentication, scopes, accounting, controls, `fields=`, ETags, errors."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..controls import api as controls_api
from ..controls.switches import RATE_LIMIT_BODY, Controls
from ..world.objects import WorldError
from ..world.state import World
from . import query
from . import views_accounts as acc
from . import views_pullrequests as prs
from . import views_repositories as repos
from . import views_reviewers as reviewers
from .auth import AuthError, Identity, Scope, ScopeError, authenticate, require_scope
from .avatars import avatar_svg
from .context import Ctx, Encoded, Result

R = "/2.0/repositories/<workspace>/<repo_slug>"
PR = R + "/pullrequests/<int:pull_request_id>"

READ_USER = Scope("account", ("read:user:bitbucket",))
READ_WS = Scope("account", ("read:workspace:bitbucket",))
READ_PROJECT = Scope("project", ("read:project:bitbucket",))
READ_REPO = Scope("repository", ("read:repository:bitbucket",))
WRITE_REPO = Scope("repository:write", ("write:repository:bitbucket",))
READ_PR = Scope("pullrequest", ("read:pullrequest:bitbucket",))
WRITE_PR = Scope("pullrequest:write", ("read:pullrequest:bitbucket", "write:pullrequest:bitbucket"))
READ_HOOK = Scope("webhook", ("read:webhook:bitbucket",))
WRITE_HOOK = Scope("webhook", ("read:webhook:bitbucket", "write:webhook:bitbucket"))
DELETE_HOOK = Scope("webhook", ("delete:webhook:bitbucket",))
NO_SCOPE = Scope(None)


@dataclass
class Route:
    path: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    scope: Scope
    family: str = ""


def _routes() -> list[Route]:
    table: list[tuple[str, tuple[str, ...], Callable[..., Any], Scope]] = [
        ("/2.0/user", ("GET",), acc.me, READ_USER),
        ("/2.0/user/emails", ("GET",), acc.my_emails, Scope("email", ("read:user:bitbucket",))),
        ("/2.0/user/workspaces", ("GET",), acc.my_workspaces, READ_WS),
        ("/2.0/user/workspaces/<workspace>/permission", ("GET",), acc.my_workspace_permission, READ_WS),
        (
            "/2.0/user/workspaces/<workspace>/permissions/repositories",
            ("GET",),
            acc.my_repository_permissions,
            READ_REPO,
        ),
        ("/2.0/users/<selected_user>", ("GET",), acc.user_by_id, NO_SCOPE),
        ("/2.0/workspaces/<workspace>", ("GET",), acc.workspace_detail, Scope(None, ("read:workspace:bitbucket",))),
        ("/2.0/workspaces/<workspace>/members", ("GET",), acc.members, READ_WS),
        ("/2.0/workspaces/<workspace>/members/<member>", ("GET",), acc.member_detail, READ_WS),
        ("/2.0/workspaces/<workspace>/permissions", ("GET",), acc.permissions, READ_WS),
        ("/2.0/workspaces/<workspace>/projects", ("GET",), acc.projects, READ_PROJECT),
        ("/2.0/workspaces/<workspace>/projects/<project_key>", ("GET",), acc.project_detail, READ_PROJECT),
        ("/2.0/workspaces/<workspace>/hooks", ("GET",), acc.hook_list, READ_HOOK),
        ("/2.0/workspaces/<workspace>/hooks", ("POST",), acc.hook_create, WRITE_HOOK),
        ("/2.0/workspaces/<workspace>/hooks/<uid>", ("GET",), acc.hook_detail, READ_HOOK),
        ("/2.0/workspaces/<workspace>/hooks/<uid>", ("PUT",), acc.hook_update, WRITE_HOOK),
        ("/2.0/workspaces/<workspace>/hooks/<uid>", ("DELETE",), acc.hook_delete, DELETE_HOOK),
        ("/2.0/workspaces", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/user/permissions/workspaces", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/user/permissions/repositories", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/repositories", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/repositories/<workspace>", ("GET",), acc.repositories, READ_REPO),
        (R, ("GET",), repos.repository_detail, READ_REPO),
        (R + "/watchers", ("GET",), repos.watchers, READ_REPO),
        (R + "/default-reviewers", ("GET",), reviewers.default_reviewers, READ_PR),
        (R + "/effective-default-reviewers", ("GET",), reviewers.effective_default_reviewers, READ_PR),
        (R + "/hooks", ("GET",), acc.hook_list, READ_HOOK),
        (R + "/hooks", ("POST",), acc.hook_create, WRITE_HOOK),
        (R + "/hooks/<uid>", ("GET",), acc.hook_detail, READ_HOOK),
        (R + "/hooks/<uid>", ("PUT",), acc.hook_update, WRITE_HOOK),
        (R + "/hooks/<uid>", ("DELETE",), acc.hook_delete, DELETE_HOOK),
        (R + "/refs/branches", ("GET",), repos.branches, READ_REPO),
        (
            R + "/refs/branches",
            ("POST",),
            repos.branch_create,
            Scope("repository:write", ("read:repository:bitbucket", "write:repository:bitbucket")),
        ),
        (R + "/refs/branches/<path:name>", ("GET",), repos.branch_detail, READ_REPO),
        (R + "/refs/branches/<path:name>", ("DELETE",), repos.branch_delete, WRITE_REPO),
        (R + "/refs/tags", ("GET",), repos.tags, READ_REPO),
        (R + "/commits", ("GET",), repos.commits, READ_REPO),
        (R + "/commits/<path:revision>", ("GET",), repos.commits, READ_REPO),
        (R + "/commit/<commit>", ("GET",), repos.commit_detail, READ_REPO),
        (R + "/src", ("GET",), repos.src_root, READ_REPO),
        (R + "/src", ("POST",), repos.src_create, WRITE_REPO),
        (R + "/src/<path:rest>", ("GET",), repos.src, READ_REPO),
        (R + "/diff/<path:spec>", ("GET",), repos.diff, READ_REPO),
        (R + "/diffstat/<path:spec>", ("GET",), repos.diffstat, READ_REPO),
        (R + "/pullrequests", ("GET",), prs.pr_list, READ_PR),
        (R + "/pullrequests", ("POST",), prs.pr_create, WRITE_PR),
        (PR, ("GET",), prs.pr_detail, READ_PR),
        (PR, ("PUT",), prs.pr_update, WRITE_PR),
        (PR + "/diff", ("GET",), prs.pr_diff, READ_PR),
        (PR + "/diffstat", ("GET",), prs.pr_diffstat, READ_PR),
        (PR + "/commits", ("GET",), prs.pr_commits, READ_PR),
        (PR + "/activity", ("GET",), prs.pr_activity, READ_PR),
        (PR + "/comments", ("GET",), prs.comments, READ_PR),
        (PR + "/comments", ("POST",), prs.comment_create, WRITE_PR),
        (PR + "/comments/<int:comment_id>", ("GET",), prs.comment_detail, READ_PR),
        (PR + "/approve", ("POST",), prs.approve, WRITE_PR),
        (PR + "/approve", ("DELETE",), prs.unapprove, Scope("pullrequest:write", ("write:pullrequest:bitbucket",))),
        (PR + "/request-changes", ("POST",), prs.request_changes, WRITE_PR),
        (
            PR + "/request-changes",
            ("DELETE",),
            prs.unrequest_changes,
            Scope("pullrequest:write", ("write:pullrequest:bitbucket",)),
        ),
        (PR + "/decline", ("POST",), prs.decline, WRITE_PR),
        (PR + "/merge", ("POST",), prs.merge, WRITE_PR),
        (PR + "/merge/task-status/<task_id>", ("GET",), prs.merge_task_status, READ_PR),
    ]
    out = []
    for path, methods, handler, scope in table:
        family = path.replace("<int:", "<").replace("<path:", "<").replace("<", "{").replace(">", "}")
        out.append(Route(path, methods, handler, scope, f"{methods[0]} {family}"))
    return out


@functools.cache
def _routing() -> tuple[list[Route], Map]:
    """The routes and their compiled map: built once per process (compiling the rules takes a tenth of a second)."""
    routes = _routes()
    url_map = Map(
        [Rule(r.path, endpoint=i, methods=list(r.methods)) for i, r in enumerate(routes)],
        strict_slashes=False,
        merge_slashes=False,
    )
    return routes, url_map


def error_body(exc: WorldError) -> dict:
    err: dict[str, Any] = {"message": exc.message}
    if isinstance(exc, ScopeError):
        err["detail"] = {"granted": exc.granted, "required": exc.required}
    elif exc.detail is not None:
        err["detail"] = exc.detail
    if exc.fields:
        err["fields"] = exc.fields
    if exc.data:
        err["data"] = exc.data
    return {"type": "error", "error": err}


_VALUES_MARK = "\x00values\x00"


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    values = data.get("values") if isinstance(data, dict) else None
    if values and isinstance(values[0], Encoded):
        # A page of pre-encoded items (the PR list's hot path): encode the envelope, splice the items in.
        envelope = json.dumps({**data, "values": _VALUES_MARK}, separators=(", ", ": ")).encode()
        items = b"[" + b", ".join(v.raw for v in values) + b"]"
        body = envelope.replace(json.dumps(_VALUES_MARK).encode(), items, 1)
    else:
        body = json.dumps(data, separators=(", ", ": ")).encode()
    resp = Response(body, status=status, headers=headers or {})
    resp.headers["Content-Type"] = "application/json; charset=utf-8"
    return resp


class EmulatorApp:
    def __init__(
        self,
        world: World,
        controls: Controls | None = None,
        controls_enabled: bool = False,
        emulator: controls_api.EmulatorHandle | None = None,
    ):
        self.world = world
        self.controls = controls or Controls()
        self.controls_enabled = controls_enabled
        self.emulator = emulator  # the Emulator owning this app (for /_emulator/ controls that need it)
        self.merge_task_delay = 0.3
        self.routes, self.url_map = _routing()

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
            # Bitbucket allows any origin and exposes its caching headers to scripts.
            response.headers.setdefault("Access-Control-Allow-Origin", "*")
            response.headers.setdefault("Access-Control-Expose-Headers", "ETag, Last-Modified, Location, Retry-After")
        except _Dropped:
            response = Response(b"", status=500)
            response.headers["Connection"] = "close"
        finally:
            request.close()  # multipart uploads live in temporary files until closed
        return response(environ, start_response)

    # ---- the pipeline ----------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_emulator"):
            if not self.controls_enabled:
                return self._not_found()
            return controls_api.handle(request, self.world, self.controls, self.emulator)
        if not path.startswith("/2.0/") and path != "/2.0":
            svg = avatar_svg(self.world, path) if request.method in ("GET", "HEAD") and "/avatar/" in path else None
            if svg is None:
                return self._not_found()
            return Response(svg, headers={"Content-Type": "image/svg+xml", "Cache-Control": "max-age=86400"})
        route, args, family = self._match(request)
        credential = "anonymous"
        status: int | str = 500
        resp: Response | None
        try:
            try:
                with self.world.lock:
                    identity = authenticate(self.world, request.headers.get("Authorization"))
            except AuthError as exc:
                credential = "invalid"
                resp = self._error(exc)
            else:
                credential = identity.credential
                resp = self._injected(request, credential)
                if resp is None:
                    if route is None:
                        known = not family.endswith("(unknown)")
                        resp = self._error(
                            WorldError(405, f"Method {request.method} not allowed here")
                            if known
                            else WorldError(404, f"Resource not found: {path}")
                        )
                    else:
                        resp = self._handle(request, route, args, identity)
                        if identity.kind == "access_token" and path.startswith("/2.0/repositories/"):
                            self._rate_headers(resp, credential)
            status = resp.status_code
            return resp
        except _Dropped:
            status = "dropped"
            raise
        finally:
            self.controls.record(credential, family, status)

    def _match(self, request: Request) -> tuple[Route | None, Mapping[str, Any], str]:
        """The route, its arguments and the endpoint family used for request accounting."""
        adapter = self.url_map.bind("localhost")
        try:
            endpoint, args = adapter.match(request.path, method=request.method)
        except MethodNotAllowed:
            return None, {}, f"{request.method} {request.path}"
        except HTTPException:
            return None, {}, f"{request.method} (unknown)"
        route = self.routes[endpoint]
        return route, args, route.family

    def _injected(self, request: Request, credential: str) -> Response | None:
        """Latency, rate limiting and faults, when switched on: an answer that replaces the real one, or None."""
        delay = self.controls.delay()
        if delay:
            time.sleep(delay)
        limited = self.controls.check_rate(credential, request.path)
        if limited is not None:
            resp = Response(RATE_LIMIT_BODY.encode(), status=429, headers={"Content-Type": "text/plain"})
            if limited.retry_after is not None:
                resp.headers["Retry-After"] = str(limited.retry_after)
            return resp
        fault = self.controls.next_fault(request.path)
        if fault is None:
            return None
        if fault.kind == "drop":
            self._drop(request)
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return None
        status = int(fault.kind)
        if status == 500:
            return self._error(WorldError(500, "Internal Server Error"))
        if status == 409:
            message = "Unable to merge because one of the refs involved changed while attempting to merge"
            return self._error(WorldError(409, message))
        return self._error(WorldError(555, "Service Timeout", detail="The request took too long; retry it later."))

    def _handle(self, request: Request, route: Route, args: Mapping[str, Any], identity: Identity) -> Response:
        world = self.world
        try:
            require_scope(identity, route.scope)
            if (
                request.method in ("POST", "PUT")
                and request.content_length is None
                and not request.headers.get("Transfer-Encoding")
            ):
                return self._error(WorldError(411, "Length Required"))
            with world.lock:
                ctx = Ctx(request, world, identity, self.controls, self.merge_task_delay)
                result = route.handler(ctx, **args)
                if isinstance(result, Result):
                    data = result.data
                    fields = request.args.get("fields")
                    if (fields or result.hidden) and not result.fields_applied:
                        data = query.apply_fields(data, fields, result.hidden)
                    response = json_response(data, result.status, result.headers)
                else:
                    response = result
        except WorldError as exc:
            return self._error(exc)
        if request.method == "GET" and response.status_code == 200:
            etag = '"' + hashlib.sha1(response.get_data(), usedforsecurity=False).hexdigest() + '"'
            response.headers["ETag"] = etag
            inm = request.headers.get("If-None-Match")
            if inm and etag in [t.strip() for t in inm.split(",")] + ["*"]:
                return Response(status=304, headers={"ETag": etag})
        return response

    def _rate_headers(self, resp: Response, credential: str) -> None:
        """Bitbucket sends these only to access tokens (scaled rate limits), and never a "remaining" count."""
        usage = self.controls.usage(credential)
        if usage is None:
            return
        used, limit = usage
        resp.headers["X-RateLimit-Limit"] = str(limit.limit)
        resp.headers["X-RateLimit-Resource"] = "api"
        resp.headers["X-RateLimit-NearLimit"] = "true" if used >= 0.8 * limit.limit else "false"

    def _error(self, exc: WorldError) -> Response:
        resp = json_response(error_body(exc), exc.status)
        if exc.status == 401:
            resp.headers["WWW-Authenticate"] = 'Basic realm="Bitbucket.org HTTP"'
        return resp

    def _not_found(self) -> Response:
        return json_response({"type": "error", "error": {"message": "Resource not found"}}, 404)

    def _drop(self, request: Request) -> None:
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise _Dropped


class _Dropped(Exception):
    """The connection was cut on purpose (fault injection)."""
