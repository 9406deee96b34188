"""The Data Center WSGI application: mounting under the site's context path, authentication (Basic with a password
or personal token, Bearer HTTP access tokens), `X-AUSERNAME`, the `errors` envelope, unrouted 404s, paging, the
token-bucket rate limiter and the shared fault switches."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..controls.switches import Controls
from ..world.datacenter import (
    EXC,
    DataCenterSite,
    DcError,
    DcProject,
    DcRepository,
    DcToken,
    DcUser,
    not_permitted,
    token_level,
)
from ..world.state import World

JSON = "application/json;charset=UTF-8"
API_VERSIONS = ("1.0", "latest")
AUTH_FAILED = "Authentication failed. Please check your credentials and try again."


@dataclass
class Identity:
    kind: str  # anonymous | password | personal_token | project_token | repository_token
    user: DcUser | None = None  # the acting user (a service user for project/repository tokens)
    token: DcToken | None = None

    @property
    def credential(self) -> str:
        """The key of request accounting and of the rate limiter's buckets."""
        if self.token is not None and self.kind != "personal_token":
            return f"dc_access_token:{self.token.name}"
        if self.user is not None:
            return f"dc_user:{self.user.slug}"
        return "anonymous"


@dataclass
class Ctx:
    request: Request
    world: World
    site: DataCenterSite
    identity: Identity

    @property
    def args(self):
        return self.request.args

    # ---- permissions (reference §3.2, §8.1): a token never exceeds its owner's access ----------------------
    def project_level(self, project: DcProject) -> int:
        ident, site = self.identity, self.site
        public = 1 if project.public else 0
        if ident.kind in ("anonymous", "password"):
            return site.user_project_level(ident.user, project)
        token = ident.token
        assert token is not None
        if ident.kind == "personal_token":
            return max(public, min(site.user_project_level(ident.user, project), token_level(token, "PROJECT_")))
        if ident.kind == "project_token" and token.project_key == project.key:
            return max(public, token_level(token, "PROJECT_"))
        return public

    def repo_level(self, repo: DcRepository) -> int:
        ident, site = self.identity, self.site
        public = 1 if repo.public or site.projects[repo.project_key].public else 0
        if ident.kind in ("anonymous", "password"):
            return site.user_repo_level(ident.user, repo)
        token = ident.token
        assert token is not None
        granted = max(token_level(token, "REPO_"), token_level(token, "PROJECT_"))
        if ident.kind == "personal_token":
            return max(public, min(site.user_repo_level(ident.user, repo), granted))
        if ident.kind == "project_token" and token.project_key == repo.project_key:
            return max(public, granted)
        if ident.kind == "repository_token" and (token.project_key, token.repo_slug) == (repo.project_key, repo.slug):
            return max(public, granted)
        return public

    def can_view_project(self, project: DcProject) -> bool:
        if self.project_level(project):
            return True
        return any(self.repo_level(r) for r in self.site.repos_of(project))

    def denied(self) -> DcError:
        if self.identity.kind == "anonymous":
            return DcError(
                401,
                "You are not permitted to access this resource",
                "com.atlassian.plugins.rest.api.security.exception.AuthenticationRequiredException",
            )
        return not_permitted()

    def project(self, key: str, level: int = 1) -> DcProject:
        project = self.site.project(key)
        if level <= 1 and self.can_view_project(project):
            return project
        if self.project_level(project) < level:
            raise self.denied()
        return project

    def repo(self, key: str, slug: str, level: int = 1) -> DcRepository:
        repo = self.site.repository(key, slug)
        if self.repo_level(repo) < level:
            raise self.denied()
        return repo


# ---- paging (reference §5) -------------------------------------------------------------------------------------
DEFAULT_LIMIT = 25
CAPS = {"default": 1000, "activities": 500, "changes": 1000, "lines": 5000}


def int_arg(request: Request, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise DcError(400, f"{name} must be a number", None, context=name) from None


def page(
    request: Request,
    values: list,
    serialize: Callable[[Any], Any],
    cap: str = "default",
    default_limit: int = DEFAULT_LIMIT,
    key: str = "values",
    explicit_null: bool = False,
    max_limit: int | None = None,
) -> dict:
    """A page of `values` from `start`, `limit` clamped to the resource's cap (the applied `limit` is echoed);
    `nextPageStart` only when there is more (as an explicit null on the last page where servers send one)."""
    start = max(0, int_arg(request, "start", 0))
    limit = int_arg(request, "limit", default_limit)
    limit = min(max(limit, 1), CAPS[cap], max_limit or CAPS[cap])
    chunk = values[start : start + limit]
    last = start + limit >= len(values)
    out: dict[str, Any] = {
        "size": len(chunk),
        "limit": limit,
        "isLastPage": last,
        key: [serialize(v) for v in chunk],
        "start": start,
    }
    if not last:
        out["nextPageStart"] = start + limit
    elif explicit_null:
        out["nextPageStart"] = None
    return out


# ---- answers ---------------------------------------------------------------------------------------------------
def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")).encode(), status=status, headers={"Content-Type": JSON})


def error_response(exc: DcError) -> Response:
    err: dict[str, Any] = {"context": exc.context, "message": exc.message, "exceptionName": exc.exception}
    return json_response({"errors": [err]}, exc.status)


def unrouted(request: Request, status: int = 404, reason: str = "Not Found") -> Response:
    """Reference §4.4: no `errors` envelope; JSON when asked for, else the XML status document."""
    if "json" in request.headers.get("Accept", ""):
        body = {"message": f"HTTP {status} {reason}", "status-code": status, "sub-code": -1}
        return json_response(body, status)
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><status><status-code>'
        f"{status}</status-code><sub-code>-1</sub-code><message>HTTP {status} {reason}</message></status>"
    )
    return Response(xml.encode(), status=status, headers={"Content-Type": "application/xml"})


@dataclass
class Route:
    path: str
    handler: Callable[..., Any]
    family: str


class _Dropped(Exception):
    """The connection was cut on purpose (the `drop` fault)."""


class DataCenterApp:
    """Serves `world.datacenter` (when the world has one) under its context path."""

    def __init__(self, world: World, controls: Controls, routes: list[tuple[str, Callable[..., Any]]]):
        self.world = world
        self.controls = controls
        self.routes: dict[str, Route] = {}
        rules = []
        plugin_rules = []  # routes of the plugin APIs (`/rest/build-status/1.0/...`), relative to the context path
        for i, (path, handler) in enumerate(routes):
            endpoint = f"r{i}"
            if path.startswith("/rest/"):
                self.routes[endpoint] = Route(path, handler, "GET " + _family(path))
                plugin_rules.append(Rule(path, endpoint=endpoint, methods=["GET"], strict_slashes=False))
                continue
            self.routes[endpoint] = Route(path, handler, "GET /rest/api/1.0" + _family(path))
            # GET unless the handler names its methods (`handler.methods`, e.g. the webhook administration).
            methods = getattr(handler, "methods", ["GET"])
            rules.append(Rule(path, endpoint=endpoint, methods=methods, strict_slashes=False))
        self.url_map = Map(rules)
        self.plugin_map = Map(plugin_rules)
        self.plugin_bases = tuple(sorted({"/".join(r.rule.split("/")[:3]) + "/" for r in plugin_rules}))

    def handles(self, path: str) -> bool:
        site = self.world.datacenter
        return site is not None and (path == site.context_path or path.startswith(site.context_path + "/"))

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except _Dropped:
            response = Response(b"", status=500)
            response.headers["Connection"] = "close"
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        site = self.world.datacenter
        assert site is not None
        rest = request.path[len(site.context_path) :]
        prefix = next((f"/rest/api/{v}" for v in API_VERSIONS if rest.startswith(f"/rest/api/{v}/")), None)
        url_map = self.url_map
        if prefix is None and rest.startswith(self.plugin_bases):
            prefix, url_map = "", self.plugin_map  # a plugin API: its routes name their base and version
        credential, family = "anonymous", f"{request.method} {site.context_path} (unknown)"
        status: int | str = 0
        try:
            if prefix is None:
                resp = unrouted(request)
            else:
                sub = rest[len(prefix) :]
                try:
                    with self.world.lock:
                        identity = authenticate(site, request.headers.get("Authorization"))
                except DcError as exc:
                    credential = "invalid"
                    resp = error_response(exc)
                else:
                    credential = identity.credential
                    resp = self._serve(request, site, identity, sub, url_map)
                    if identity.user is not None:
                        resp.headers["X-AUSERNAME"] = identity.user.name
                        resp.headers["X-AUSERID"] = str(identity.user.id)
                    family = self._family(request, sub, url_map)
            status = resp.status_code
            return resp
        except _Dropped:
            status = "dropped"
            raise
        finally:
            self.controls.record(credential, family, status)

    def _family(self, request: Request, sub: str, url_map: Map | None = None) -> str:
        try:
            endpoint, _ = (url_map or self.url_map).bind("localhost").match(sub, method="GET")
        except HTTPException:
            return f"{request.method} /rest/api/1.0 (unknown)"
        family = self.routes[endpoint].family
        # Writes (the webhook administration) are counted under their own method.
        return family if request.method == "GET" else request.method + family[len("GET") :]

    def _serve(
        self, request: Request, site: DataCenterSite, identity: Identity, sub: str, url_map: Map | None = None
    ) -> Response:
        injected = self._injected(request, site, identity)
        if injected is not None:
            return injected
        adapter = (url_map or self.url_map).bind("localhost")
        try:
            endpoint, args = adapter.match(sub, method=request.method)
        except MethodNotAllowed:
            return unrouted(request, 405, "Method Not Allowed")
        except HTTPException:
            return unrouted(request)
        route = self.routes[endpoint]
        try:
            with self.world.lock:
                result = route.handler(Ctx(request, self.world, site, identity), **args)
        except DcError as exc:
            return error_response(exc)
        if isinstance(result, Response):
            return result
        return json_response(result)

    def _injected(self, request: Request, site: DataCenterSite, identity: Identity) -> Response | None:
        """Latency, the token-bucket rate limiter (authenticated requests only, reference §6) and faults."""
        delay = self.controls.delay()
        if delay:
            time.sleep(delay)
        if identity.kind != "anonymous":
            wait = self.controls.take_dc_token(identity.credential)
            if wait is not None:
                resp = error_response(DcError(429, f"Rate limit exceeded. Retry after {wait} seconds.", None))
                resp.headers["Retry-After"] = str(wait)
                return resp
        fault = self.controls.next_fault(request.path, default_prefix=site.context_path + "/rest/")
        if fault is None:
            return None
        if fault.kind == "drop":
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            raise _Dropped
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return None
        status = int(fault.kind)
        if status == 409:
            return error_response(
                DcError(
                    409,
                    "You are attempting to modify a pull request based on out-of-date information.",
                    EXC + "pull.PullRequestOutOfDateException",
                )
            )
        return error_response(DcError(status, "An unexpected error has occurred. Please try again later.", None))


def _family(path: str) -> str:
    """A werkzeug rule as the spec writes it: `<int:pull_request_id>` -> `{pullRequestId}` style names."""
    out = path
    for raw, name in (
        ("<project_key>", "{projectKey}"),
        ("<repo_slug>", "{repositorySlug}"),
        ("<int:pr_id>", "{pullRequestId}"),
        ("<int:comment_id>", "{commentId}"),
        ("<int:webhook_id>", "{webhookId}"),
        ("<user_slug>", "{userSlug}"),
        ("<commit_id>", "{commitId}"),
        ("<path:path>", "{path}"),
        ("<path:name>", "{name}"),
        ("<any('1.0', 'latest'):version>", "1.0"),
    ):
        out = out.replace(raw, name)
    return out


def authenticate(site: DataCenterSite, header: str | None) -> Identity:
    """Reference §3.1: Basic user:password or user:personal-token; Bearer with any HTTP access token; project and
    repository tokens are Bearer-only."""
    if not header:
        return Identity("anonymous")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    failed = DcError(401, AUTH_FAILED, EXC + "auth.IncorrectPasswordAuthenticationException")
    if scheme.lower() == "bearer":
        token = site.tokens.get(value)
        if token is None:
            raise failed
        return _token_identity(site, token)
    if scheme.lower() == "basic":
        try:
            name, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise failed from None
        user = next((u for u in site.users.values() if u.name == name), None)
        if user is None or not user.active or user.user_type != "NORMAL":
            raise failed
        if secret == user.password:
            return Identity("password", user=user)
        token = site.tokens.get(secret)
        if token is not None and token.kind == "personal" and token.owner_slug == user.slug:
            return Identity("personal_token", user=user, token=token)
        raise failed
    raise failed


def _token_identity(site: DataCenterSite, token: DcToken) -> Identity:
    if token.kind == "personal":
        return Identity("personal_token", user=site.users[token.owner_slug or ""], token=token)
    return Identity(f"{token.kind}_token", user=token.service_user, token=token)
