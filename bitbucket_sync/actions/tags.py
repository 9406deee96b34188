"""Tags: create (from a branch, tag or commit, with an optional message) and delete, each audited."""

from __future__ import annotations

from bitbucket_sync.client import BadRequest, NotFound
from bitbucket_sync.models import Repository, Tag
from bitbucket_sync.sync import tags as tag_sync

from ._core import Action, ActionFailed
from .branches import branch_name_problem, resolve_target

TAG_MESSAGE_MAX_CHARS = 5000


def tag_name_problem(name: str) -> str | None:
    """Why git would refuse ``name`` as a tag (the same ref-name rules as a branch), or None."""
    problem = branch_name_problem(name)
    if problem is None:
        return None
    return problem.replace("the branch", "the tag").replace("branch name", "tag name").replace("A branch", "A tag")


def create_tag(*, user, repository: Repository, name: str, target: str, message: str = "") -> Tag:
    """Tag ``target`` (a branch, tag or commit) as ``name``; an empty message gets Bitbucket's default."""
    name, target, message = name.strip(), target.strip(), message.strip()
    with Action(user=user, action="tag.create", repository=repository, target=name, details={"from": target}) as act:
        if problem := tag_name_problem(name):
            raise ActionFailed(problem, kind="invalid")
        if len(message) > TAG_MESSAGE_MAX_CHARS:
            raise ActionFailed(f"A tag message can be at most {TAG_MESSAGE_MAX_CHARS} characters.", kind="invalid")
        workspace, slug = repository.workspace.key, repository.slug
        try:
            target_hash = resolve_target(client=act.client, repository=repository, target=target)
        except NotFound:
            raise ActionFailed(
                f"There is no branch, tag or commit '{target}' in {repository.full_name} to tag.", kind="not_found"
            ) from None
        try:
            record = act.client.create_tag(workspace, slug, name=name, target=target_hash, message=message)
        except BadRequest as exc:
            text = " ".join([str(exc.message), *(str(v) for v in exc.fields.values())]).lower()
            if "exist" in text:
                raise ActionFailed(
                    f"A tag called '{name}' already exists in {repository.full_name}.", kind="exists", error=exc
                ) from None
            raise
        tag = tag_sync.upsert_tag(repository=repository, record=record)
        act.succeeded(f"Tagged {target_hash[:12]} as {name} (from {target}).", commit=target_hash)
        return tag


def delete_tag(*, user, repository: Repository, name: str) -> None:
    """Delete tag ``name``; the audit event records the commit it pointed at (from the mirror)."""
    known = Tag.objects.live().filter(repository=repository, name=name).first()
    details = {"commit": known.target_hash} if known else {}
    with Action(user=user, action="tag.delete", repository=repository, target=name, details=details) as act:
        if problem := tag_name_problem(name):
            raise ActionFailed(problem, kind="invalid")
        try:
            act.client.delete_tag(repository.workspace.key, repository.slug, name)
        except NotFound:
            tag_sync.mark_tag_removed(repository=repository, name=name)
            raise ActionFailed(
                f"There is no tag {name} in {repository.full_name} any more.", kind="not_found"
            ) from None
        tag_sync.mark_tag_removed(repository=repository, name=name)
        act.succeeded(f"Deleted tag {name}" + (f" (it pointed at {known.target_hash[:12]})." if known else "."))
