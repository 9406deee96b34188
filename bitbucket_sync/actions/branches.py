"""Creating branches: the name checked against git's ref-name rules before anything is sent."""

from __future__ import annotations

import re

from bitbucket_sync import sync
from bitbucket_sync.client import BadRequest, NotFound, ref_problem
from bitbucket_sync.models import Branch, Repository

from ._core import Action, ActionFailed

# The branching model's prefixes Bitbucket offers when creating a branch.
BRANCH_PREFIXES = ("feature/", "bugfix/", "hotfix/", "release/")

_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def branch_name_problem(name: str) -> str | None:
    """Why git would refuse ``name`` as a branch (``git check-ref-format --branch``), or None when it is fine."""
    if not name:
        return "Give the branch a name."
    if len(name) > 255:
        return "A branch name can be at most 255 characters long."
    if name == "@":
        return "A branch cannot be called '@'."
    if match := _FORBIDDEN.search(name):
        char = match.group()
        shown = "a space" if char == " " else ("a control character" if char < " " or char == "\x7f" else f"'{char}'")
        return f"A branch name cannot contain {shown}."
    if name.startswith("/") or name.endswith("/"):
        return "A branch name cannot start or end with '/'."
    if "//" in name:
        return "A branch name cannot contain '//'."
    if ".." in name:
        return "A branch name cannot contain '..'."
    if "@{" in name:
        return "A branch name cannot contain '@{'."
    if name.endswith("."):
        return "A branch name cannot end with '.'."
    if name.startswith("-"):
        return "A branch name cannot start with '-'."
    for part in name.split("/"):
        if part.startswith("."):
            return "No part of a branch name (between slashes) can start with '.'."
        if part.endswith(".lock"):
            return "No part of a branch name (between slashes) can end with '.lock'."
    if ref_problem(name):
        # git allows '%', but a name spelling '%2e' or '%2f' would change meaning in the URL it travels in.
        return "A branch name cannot contain a percent-encoded '.', '/', '\\' or '%'."
    return None


def resolve_target(*, client, repository: Repository, target: str) -> str:
    """A branch name, tag name or commit hash -> the full commit hash Bitbucket's branch API wants."""
    commit = client.get_commit(repository.workspace.key, repository.slug, target)
    return commit.hash


def create_branch(*, user, repository: Repository, name: str, target: str) -> Branch:
    """Create branch ``name`` at ``target`` (a branch, tag or commit) as ``user``; the mirror gets the new row."""
    name = name.strip()
    problem = branch_name_problem(name)
    with Action(user=user, action="branch.create", repository=repository, target=name, details={"from": target}) as act:
        if problem:
            raise ActionFailed(problem, kind="invalid")
        client = act.client
        workspace, slug = repository.workspace.key, repository.slug
        try:
            client.get_branch(workspace, slug, name)
        except NotFound:
            pass
        else:
            raise ActionFailed(f"A branch called '{name}' already exists in {repository.full_name}.", kind="exists")
        try:
            target_hash = resolve_target(client=client, repository=repository, target=target.strip())
        except NotFound:
            raise ActionFailed(
                f"There is no branch, tag or commit '{target}' in {repository.full_name} to branch from.",
                kind="not_found",
            ) from None
        try:
            record = client.create_branch(workspace, slug, name=name, target=target_hash)
        except BadRequest as exc:
            if "exist" in str(exc.message).lower() or any("exist" in str(v).lower() for v in exc.fields.values()):
                raise ActionFailed(
                    f"A branch called '{name}' already exists in {repository.full_name}.", kind="exists", error=exc
                ) from None
            raise
        branch = sync.upsert_branch(repository=repository, record=record)
        act.succeeded(f"Created branch {name} at {target_hash[:12]} (from {target}).", commit=target_hash)
        return branch
