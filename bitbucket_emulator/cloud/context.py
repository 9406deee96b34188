"""What a handler gets (`Ctx`) and gives back (`Result`), and the helpers they share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from ..controls.switches import Controls
from ..world.objects import WorldError
from ..world.state import World
from .auth import Identity


@dataclass
class Result:
    """A JSON answer; `hidden` lists dotted paths left out unless `fields=+path` asks for them."""

    data: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hidden: Sequence[str] = ()
    fields_applied: bool = False  # the handler already applied `fields=` (the PR list does, with a cache)


class Encoded:
    """A JSON value already encoded (bytes); pages of these are spliced, not re-encoded."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes):
        self.raw = raw


@dataclass
class Ctx:
    request: Request
    world: World
    identity: Identity
    controls: Controls  # the switches a handler obeys (slow merges)
    merge_task_delay: float  # seconds before an asynchronous merge runs

    @property
    def args(self):
        return self.request.args

    def url(self) -> str:
        """This request's absolute URL without the query, on the emulator's own host."""
        return self.world.base_url + self.request.path

    def body(self) -> dict:
        """JSON or urlencoded/multipart flat body."""
        req = self.request
        ctype = (req.mimetype or "").lower()
        if ctype == "application/json" or (not ctype and req.get_data(cache=True)):
            raw = req.get_data(cache=True)
            if not raw.strip():
                return {}
            try:
                data = json.loads(raw)
            except ValueError:
                raise WorldError(400, "Bad request", detail="The request body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise WorldError(400, "Bad request", detail="The request body must be a JSON object.")
            return data
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return {k: v for k, v in req.form.items()}
        return {}


def empty(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status=status, headers=headers or {})


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")
