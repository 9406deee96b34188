"""Validate emulator answers against the official Bitbucket Cloud OpenAPI description.

The spec is read from `../shared/reference/bitbucket-cloud-openapi.json` (relative to the repository root) or from
`$BBDASH_OPENAPI_SPEC`. `$ref`s resolve inside the spec through a `referencing` registry; schemas are checked with
openapi-schema-validator's OAS 3.0 validator (so `allOf` with the `object` base, `nullable`, formats all apply).

Three documented gaps of the spec are bridged, each with the evidence that real Bitbucket answers that way:
* nulls: Bitbucket sends `null` for unset fields (`closed_by`, `merge_commit`, participant `state`, diffstat
  `old`/`new`) while the spec never says `nullable` (recorded PR payloads in shared/reference/recorded/); null-valued
  properties are dropped before validation.
* closed embedded schemas: the spec closes some nested objects with `additionalProperties: false` (pull request
  endpoint `commit`, markup `summary`) while real payloads add `type` and `links` to them (recorded commits and PRs);
  `type` and `links` are allowed there. Closed `links` objects accept further link relations that real payloads
  carry (repository `branches`/`tags`/`source`, pull request `request-changes`/`statuses`, project `self`).
* the error envelope: real errors carry `fields` (field validation) and an object `detail` for scope errors
  (reference section 3.7 and 7); those two are allowed in `error.error`.
* tasks: `pullrequest_comment_task` is an `allOf` of parts that each close with `additionalProperties: false`, so no
  object fits it; they are merged into the one closed object the parts describe, with `comment` as the condensed
  `{id, links}` anchor real task lists carry (recorded tasks-list-response.json).
* comments: the closed `inline` lacks what a create answer and the activity feed add (`outdated`, `context_lines`,
  `src_rev`, `dest_rev`, `base_rev`; recorded create-inline-task-anchor-comment-response.json and the spec's own
  activity example), and `parent` is a full `comment` while replies carry the condensed `{id, links}` of their
  parent (reference section 24.2); both are allowed.
* annotations: `line` says "defaults to 0" yet has `minimum: 1`; 0 (the top of the file) is allowed.
* file attributes: `commit_file.attributes` is one string of an enum, while real files carry a list of them
  (`"attributes": []` in the recorded source listings); a list of those values is allowed.
* report data: `value` is typed `object`, while the types it documents (BOOLEAN, DATE in ms, NUMBER, TEXT...) are
  scalars and only LINK is an object; any JSON value is allowed.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT.parent / "shared" / "reference" / "bitbucket-cloud-openapi.json"


def spec_path() -> Path:
    return Path(os.environ.get("BBDASH_OPENAPI_SPEC") or DEFAULT_SPEC)


LINK = {"$ref": "#/components/schemas/link"}


def _bridge_gaps(node: Any) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if node.get("additionalProperties") is False and isinstance(props, dict):
            props.setdefault("type", {"type": "string"})
            props.setdefault("links", {"type": "object"})
        links = props.get("links") if isinstance(props, dict) else None
        if isinstance(links, dict) and links.get("additionalProperties") is False:
            links["additionalProperties"] = {"anyOf": [LINK, {"type": "array", "items": LINK}]}
        for value in node.values():
            _bridge_gaps(value)
    elif isinstance(node, list):
        for value in node:
            _bridge_gaps(value)


def _merge_task_parts(schemas: dict) -> None:
    task = schemas["task"]
    links = schemas["pullrequest_task"]["allOf"][1]["properties"]["links"]
    anchor = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "links": {"type": "object"}},
        "required": ["id"],
        "additionalProperties": False,
    }
    merged = {
        "type": "object",
        "properties": {**task["properties"], "links": links, "comment": anchor},
        "required": task["required"],
        "additionalProperties": False,
    }
    schemas["pullrequest_task"] = schemas["pullrequest_comment_task"] = merged


def _widen_comment(schemas: dict) -> None:
    props = schemas["comment"]["allOf"][1]["properties"]
    text = {"type": "string", "nullable": True}
    props["inline"]["properties"].update(
        outdated={"type": "boolean"}, context_lines=text, src_rev=text, dest_rev=text, base_rev=text
    )
    props["parent"] = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "links": {"type": "object"}},
        "required": ["id"],
        "additionalProperties": False,
    }


@cache
def load_spec() -> dict:
    spec = json.loads(spec_path().read_text())
    spec = copy.deepcopy(spec)
    _merge_task_parts(spec["components"]["schemas"])
    _widen_comment(spec["components"]["schemas"])
    spec["components"]["schemas"]["report_annotation"]["allOf"][1]["properties"]["line"]["minimum"] = 0
    spec["components"]["schemas"]["report_data"]["properties"]["value"] = {}
    attributes = spec["components"]["schemas"]["commit_file"]["properties"]["attributes"]
    attributes_list = {"type": "array", "items": {k: attributes[k] for k in ("type", "enum")}}
    spec["components"]["schemas"]["commit_file"]["properties"]["attributes"] = {"anyOf": [attributes, attributes_list]}
    _bridge_gaps(spec["components"]["schemas"])
    for path_item in spec["paths"].values():
        _bridge_gaps(path_item)
    err = spec["components"]["schemas"]["error"]["properties"]["error"]["properties"]
    err["fields"] = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
    err["detail"] = {"oneOf": [{"type": "string"}, {"type": "object"}]}
    return spec


@cache
def _registry() -> Registry:
    return Registry().with_resource("spec.json", Resource.from_contents(load_spec(), default_specification=DRAFT4))


@cache
def _templates() -> list[tuple[re.Pattern, str]]:
    out = []
    for template in load_spec()["paths"]:
        parts = re.split(r"(\{[^}]+\})", template)
        regex = ""
        for p in parts:
            if p.startswith("{"):
                # Only these parameters may hold slashes (file paths, branch names, revision specs).
                regex += {"{path}": ".*", "{name}": ".+", "{spec}": ".+", "{revision}": ".+"}.get(p, "[^/]+")
            else:
                regex += re.escape(p)
        out.append((re.compile(f"^{regex}$"), template))
    # Most literal text first, so `/refs/branches/{name}` wins over `/refs/{...}` style catch-alls.
    out.sort(key=lambda t: (-len(re.sub(r"\{[^}]+\}", "", t[1])), t[1]))
    return out


def operation_for(method: str, path: str) -> tuple[str, dict]:
    """The spec template and operation object for a request path under /2.0."""
    path = path.split("?", 1)[0]
    path = path.split("/2.0", 1)[1] if "/2.0/" in path or path.endswith("/2.0") else path
    for regex, template in _templates():
        if regex.match(path):
            op = load_spec()["paths"][template].get(method.lower())
            if op is not None:
                return template, op
    raise LookupError(f"no operation in the spec for {method} {path}")


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _pointer(*parts: str) -> str:
    return "spec.json#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)


def schema_for(method: str, path: str, status: int) -> tuple[str, dict | None]:
    """The spec template and a `$ref` to the JSON schema documented for this status (or `default`, or `error`)."""
    template, op = operation_for(method, path)
    responses = op.get("responses", {})
    # `default` documents the error answer in this spec; a success it does not list has no schema to check.
    key = str(status) if str(status) in responses else "default" if status >= 400 and "default" in responses else None
    content = (responses.get(key) or {}).get("content") or {} if key else {}
    if "application/json" in content and "schema" in content["application/json"]:
        ref = _pointer("paths", template, method.lower(), "responses", key, "content", "application/json", "schema")
        return template, {"$ref": ref}
    if status >= 400:
        return template, {"$ref": "spec.json#/components/schemas/error"}
    return template, None


def validate(method: str, path: str, status: int, body: Any, component: str | None = None) -> list[str]:
    """Messages for every way `body` breaks the schema the spec gives for this answer (empty when it fits).

    `component` names a schema in `components.schemas` for answers the operation documents only in prose
    (`src?format=meta` returns a `commit_file` or `commit_directory`, not the listing page)."""
    if component:
        schema: dict | None = {"$ref": f"spec.json#/components/schemas/{component}"}
    else:
        _template, schema = schema_for(method, path, status)
    if schema is None:
        return []
    validator = OAS30Validator(schema, registry=_registry(), format_checker=OAS30Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in validator.iter_errors(_strip_nulls(body))
    ]
