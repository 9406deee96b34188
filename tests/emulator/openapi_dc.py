"""Validate the emulator's Data Center answers against Atlassian's Data Center OpenAPI description (10.0).

The spec is read from `../shared/reference/bitbucket-datacenter-openapi.json` or `$BBDASH_DC_OPENAPI_SPEC`. Its
paths start at `/rest` and use the version `latest`; requests to `<context>/rest/api/1.0/...` are matched against
`/api/latest/...` (and `/rest/build-status/1.0/...` against `/build-status/latest/...`). Schemas are checked with
openapi-schema-validator's OAS 3.0 validator.

Where the spec is wrong about the wire (reference `bitbucket-datacenter-api.md` §0.2), the schema is bridged:
* nulls: servers send `null` for `nextPageStart` on last pages of commits and file lines
  [REC:commits_page_since_until.json, browse_file_lines_page.json], for the diff `source`/`destination` of added and
  deleted files and for an error's `context` [REC:pr_diff_json_diffs.json, error_no_such_project_404.json], while the
  spec never says `nullable`: null-valued properties are dropped before validation.
* branches: the spec's `RestBranch.default` is `isDefault` on the wire [VBB OPENAPI-035, REC:branches_page.json];
  `isDefault` is declared (boolean) and `default` removed, so a wrong name or type fails.
* whole diffs: the spec types the diff answers as one `RestDiff`; servers wrap `diffs[]` with `fromHash`, `toHash`,
  `contextLines`, `whitespace`, `truncated` [REC:pr_diff_json_diffs.json, DANGER]; the wrapper is validated with each
  item a `RestDiff`.
* PR changes: the spec types the 200 as one `RestChange`; it is a page of them plus `fromHash`, `toHash` and
  `properties` [REC:pr_changes_page.json].
* activities: the timeline's `commentAnchor.path` is a plain string while `RestComment.anchor.path` is a `RestPath`
  [VBB OPENAPI-007]; `commentAnchor` is declared with a string `path`, and a `RestComment`'s `anchor` may have either
  (the emulator sends the string form everywhere; which one `GET {PR}/comments` sends is unconfirmed).
* browse: the spec's 200 has no schema; a file is a page of `lines` `{text}` [REC:browse_file_lines_page.json], a
  directory `{path, revision, children: page of {path, type, contentId?, size?}}` (reference §7.9); either is checked.
* the inbox: `GET /inbox/pull-requests` documents only a schemaless `default` answer; it is a page of
  `RestPullRequest` (reference §8.4), validated as such.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT.parent / "shared" / "reference" / "bitbucket-datacenter-openapi.json"
S = "#/components/schemas/"


def spec_path() -> Path:
    return Path(os.environ.get("BBDASH_DC_OPENAPI_SPEC") or DEFAULT_SPEC)


def _page_of(item: dict, **extra: Any) -> dict:
    props = {
        "isLastPage": {"type": "boolean"},
        "limit": {"type": "number"},
        "nextPageStart": {"type": "integer"},
        "size": {"type": "number"},
        "start": {"type": "integer"},
        "values": {"type": "array", "items": item},
        **extra,
    }
    return {"type": "object", "properties": props, "required": ["isLastPage", "limit", "size", "start", "values"]}


@cache
def load_spec() -> dict:
    spec = copy.deepcopy(json.loads(spec_path().read_text()))
    schemas = spec["components"]["schemas"]
    branch = schemas["RestBranch"]["properties"]
    branch.pop("default", None)
    branch["isDefault"] = {"type": "boolean"}
    schemas["RestBranch"]["additionalProperties"] = True
    schemas["BridgedDiffDocument"] = {
        "type": "object",
        "properties": {
            "fromHash": {"type": "string"},
            "toHash": {"type": "string"},
            "contextLines": {"type": "integer"},
            "whitespace": {"type": "string"},
            "truncated": {"type": "boolean"},
            "diffs": {"type": "array", "items": {"$ref": S + "RestDiff"}},
        },
        "required": ["toHash", "diffs"],
    }
    schemas["BridgedChangesPage"] = _page_of(
        {"$ref": S + "RestChange"},
        fromHash={"type": "string"},
        toHash={"type": "string"},
        properties={"type": "object"},
    )
    lines_page = _page_of({})
    lines_page["properties"].pop("values")
    lines_page["properties"]["lines"] = {
        "type": "array",
        "items": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    }
    lines_page["required"] = ["isLastPage", "limit", "size", "start", "lines"]
    child = {
        "type": "object",
        "properties": {
            "path": {"$ref": S + "RestPath"},
            "type": {"type": "string", "enum": ["FILE", "DIRECTORY", "SUBMODULE"]},
            "contentId": {"type": "string"},
            "size": {"type": "integer"},
        },
        "required": ["path", "type"],
    }
    directory = {
        "type": "object",
        "properties": {"path": {"$ref": S + "RestPath"}, "revision": {"type": "string"}, "children": _page_of(child)},
        "required": ["path", "revision", "children"],
    }
    schemas["BridgedBrowse"] = {"oneOf": [lines_page, directory]}
    schemas["BridgedPullRequestPage"] = _page_of({"$ref": S + "RestPullRequest"})
    anchor = copy.deepcopy(schemas["RestCommentThreadDiffAnchor"])
    anchor["properties"]["path"] = {"type": "string"}
    anchor["properties"].pop("srcPath", None)
    activity = schemas["RestPullRequestActivity"]
    activity["properties"].update(
        commentAction={"type": "string", "enum": ["ADDED", "DELETED", "EDITED", "REPLIED"]},
        comment={"$ref": S + "RestComment"},
        commentAnchor=anchor,
        commit={"$ref": S + "RestCommit"},
    )
    schemas["RestComment"]["properties"]["anchor"] = {"anyOf": [{"$ref": S + "RestCommentThreadDiffAnchor"}, anchor]}
    return spec


@cache
def _registry() -> Registry:
    return Registry().with_resource("spec.json", Resource.from_contents(load_spec(), default_specification=DRAFT4))


@cache
def _templates() -> list[tuple[re.Pattern, str]]:
    out = []
    for template in load_spec()["paths"]:
        regex = ""
        for part in re.split(r"(/\{path\}|\{[^}]+\})", template):
            if part in ("/{path}", "{path}"):  # `compare/diff{path}` has no slash of its own
                regex += "(/.*)?"  # file paths hold slashes; the whole-repository form has none
            elif part.startswith("{"):
                regex += "[^/]+"
            else:
                regex += re.escape(part)
        out.append((re.compile(f"^{regex}$"), template))
    out.sort(key=lambda t: (-len(re.sub(r"\{[^}]+\}", "", t[1])), t[1]))
    return out


def spec_template(path: str) -> str:
    """The spec's template for a request path such as `/bitbucket/rest/api/1.0/projects/PLAT`."""
    rest = path.split("?", 1)[0].split("/rest", 1)[1]
    rest = re.sub(r"^/api/1\.0/", "/api/latest/", rest)
    rest = re.sub(r"^/(build-status)/1\.0/", r"/\1/latest/", rest)  # plugin APIs: the spec writes them `latest`
    for regex, template in _templates():
        if regex.match(rest):
            return template
    raise LookupError(f"no operation in the spec for {path}")


BRIDGED = {
    ("/api/latest/projects/{projectKey}/repos/{repositorySlug}/browse/{path}", 200): "BridgedBrowse",
    ("/api/latest/inbox/pull-requests", 200): "BridgedPullRequestPage",
    ("/api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId}/changes", 200): (
        "BridgedChangesPage"
    ),
    ("/api/latest/projects/{projectKey}/repos/{repositorySlug}/pull-requests/{pullRequestId}/diff/{path}", 200): (
        "BridgedDiffDocument"
    ),
    ("/api/latest/projects/{projectKey}/repos/{repositorySlug}/commits/{commitId}/diff/{path}", 200): (
        "BridgedDiffDocument"
    ),
    ("/api/latest/projects/{projectKey}/repos/{repositorySlug}/compare/diff{path}", 200): "BridgedDiffDocument",
}


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def schema_for(method: str, path: str, status: int) -> tuple[str, dict | None]:
    template = spec_template(path)
    if (template, status) in BRIDGED:
        return template, {"$ref": f"spec.json{S}{BRIDGED[(template, status)]}"}
    op = load_spec()["paths"][template].get(method.lower())
    if op is None:
        raise LookupError(f"no {method} for {template}")
    response = op.get("responses", {}).get(str(status))
    if response is None:
        raise LookupError(f"{method} {template} documents no {status}")
    for ctype, media in (response.get("content") or {}).items():
        if "json" in ctype and "schema" in media:
            pointer = "/".join(
                p.replace("~", "~0").replace("/", "~1")
                for p in ("paths", template, method.lower(), "responses", str(status), "content", ctype, "schema")
            )
            return template, {"$ref": f"spec.json#/{pointer}"}
    return template, None


def validate(method: str, path: str, status: int, body: Any) -> list[str]:
    """Every way `body` breaks the schema the spec documents for this answer (empty when it fits)."""
    _template, schema = schema_for(method, path, status)
    if schema is None:
        return []
    validator = OAS30Validator(schema, registry=_registry(), format_checker=OAS30Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in validator.iter_errors(_strip_nulls(body))
    ]
