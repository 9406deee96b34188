"""The branching model: which branch is for development (and, optionally, production) and the prefixes that give a
branch its type (feature, bugfix, release, hotfix).

`Repository.branching_model` holds the settings as an admin last saved them (None: never set, Bitbucket's default:
development follows the main branch, no production branch, the four usual prefixes all enabled). The emulator has no
project-level model, so a repository's effective model is its own.
"""

from __future__ import annotations

import copy
from typing import Any

from .objects import Repository, WorldError

KINDS = ("feature", "bugfix", "release", "hotfix")
DEFAULT: dict[str, Any] = {
    "development": {"name": None, "use_mainbranch": True},
    "production": {"name": None, "use_mainbranch": False, "enabled": False},
    "branch_types": [{"kind": kind, "enabled": True, "prefix": f"{kind}/"} for kind in KINDS],
    "default_branch_deletion": "false",
}


def settings(repo: Repository) -> dict[str, Any]:
    """The stored settings, Bitbucket's defaults where nothing was saved."""
    return copy.deepcopy(repo.branching_model or DEFAULT)


def development_branch(repo: Repository) -> str:
    dev = settings(repo)["development"]
    return repo.mainbranch if dev["use_mainbranch"] else dev["name"]


def production_branch(repo: Repository) -> str | None:
    prod = settings(repo)["production"]
    if not prod.get("enabled"):
        return None
    return repo.mainbranch if prod["use_mainbranch"] else prod["name"]


def enabled_types(repo: Repository) -> list[dict[str, str]]:
    return [{"kind": t["kind"], "prefix": t["prefix"]} for t in settings(repo)["branch_types"] if t.get("enabled")]


def branch_type_of(repo: Repository, branch: str) -> str | None:
    """A branch's type in the model: development, production, or the kind whose enabled prefix it starts with."""
    if branch == development_branch(repo):
        return "development"
    if branch == production_branch(repo):
        return "production"
    for t in enabled_types(repo):
        if branch.startswith(t["prefix"]):
            return t["kind"]
    return None


def _bad(message: str, field_name: str) -> WorldError:
    return WorldError(400, message, fields={field_name: [message]})


def _prefix_problem(prefix: Any) -> str | None:
    if not isinstance(prefix, str) or not prefix.strip() or "*" in prefix or " " in prefix or ".." in prefix:
        return f"'{prefix}' is not a valid branch prefix."
    return None


def update(repo: Repository, body: Any) -> None:
    """`PUT …/branching-model/settings`: only the properties sent change; the result must be valid (reference 28)."""
    if not isinstance(body, dict):
        raise WorldError(400, "Bad request")
    new = settings(repo)
    for which in ("development", "production"):
        part = body.get(which)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise _bad(f"{which} must be an object.", which)
        merged = {**new[which], **{k: v for k, v in part.items() if k in ("name", "use_mainbranch", "enabled")}}
        if merged.get("use_mainbranch"):
            if part.get("name") not in (None, "null"):
                raise _bad(f"{which}.name must be null when use_mainbranch is true.", which)
            merged["name"] = None
        elif (which == "development" or merged.get("enabled")) and merged.get("name") not in repo.branches:
            raise _bad(f"{which}.name must name an existing branch.", which)
        new[which] = merged
    if "branch_types" in body:
        items = body["branch_types"]
        if not isinstance(items, list) or len(items) > 4:
            raise _bad("branch_types must be a list of at most four items.", "branch_types")
        by_kind = {t["kind"]: t for t in new["branch_types"]}
        for item in items:
            if not isinstance(item, dict) or item.get("kind") not in KINDS:
                raise _bad("Each branch type needs a kind: feature, bugfix, release or hotfix.", "branch_types")
            by_kind[item["kind"]] = {
                **by_kind[item["kind"]],
                **{k: item[k] for k in ("enabled", "prefix") if k in item},
            }
        enabled = [t["prefix"] for t in by_kind.values() if t.get("enabled")]
        for prefix in enabled:
            if problem := _prefix_problem(prefix):
                raise _bad(problem, "branch_types")
        for a in enabled:
            if any(a != b and b.startswith(a) for b in enabled):
                raise _bad(f"The prefix '{a}' is a prefix of another enabled prefix.", "branch_types")
        new["branch_types"] = [by_kind[k] for k in KINDS]
    if "default_branch_deletion" in body:
        new["default_branch_deletion"] = "true" if str(body["default_branch_deletion"]).lower() == "true" else "false"
    repo.branching_model = new
    repo.rev += 1
