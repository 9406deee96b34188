"""The WSGI application: authentication, scopes, accounting, controls, `fields=`, ETags, errors (routes.py routes)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import time
from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from ..controls import api as controls_api
from ..controls.switches import RATE_LIMIT_BODY, Controls
from ..world.objects import WorldError
from ..world.state import World
from . import query
from .auth import AuthError, Identity, ScopeError, authenticate, require_scope
from .avatars import avatar_svg
from .context import Ctx, Encoded, Result
from .routes import Route, routing


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
        self.routes, self.url_map = routing()

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
