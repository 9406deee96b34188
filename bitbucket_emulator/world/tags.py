"""Tags: create (annotated, with Bitbucket's default message when none is given) and delete, each a `repo:push`.

A tag is a name pointing at a commit (`Repository.tags`); an annotated tag also has a tag object
(`Repository.tag_objects`: message, date, tagger). Seeded tags are lightweight: they are shown with the message
Bitbucket writes for a tag made without one, dated by their commit.
"""

from __future__ import annotations

from . import ids
from .objects import Repository, WorldError
from .state import World


def tag_name_problem(name: str) -> str | None:
    """Why git would refuse `name` as a tag (the emulator's subset of `git check-ref-format`), or None."""
    if not name or name.startswith("/") or name.endswith("/") or ".." in name or "//" in name:
        return f"'{name}' is not a valid tag name."
    if any(c in name for c in " ~^:?*[\\") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"'{name}' is not a valid tag name."
    if name.endswith(".lock") or name.endswith(".") or "@{" in name:
        return f"'{name}' is not a valid tag name."
    return None


def default_message(name: str, commit_hash: str) -> str:
    """What Bitbucket writes for a tag created without a message (reference 12.3)."""
    return f"Added tag {name} for changeset {commit_hash[:12]}"


def create_tag(world: World, repo: Repository, name: str, target: str, message: str, actor_uuid: str | None) -> None:
    with world.lock:
        problem = tag_name_problem(name)
        if problem:
            raise WorldError(400, problem, fields={"name": [problem]})
        if name in repo.tags:
            raise WorldError(400, f"Tag '{name}' already exists.", fields={"name": ["Tag already exists."]})
        commit = world.resolve(repo, target)
        actor = world.users.get(actor_uuid) if actor_uuid else None
        # Real tag messages end with a newline (reference 27).
        text = (message.strip() or default_message(name, commit.hash)) + "\n"
        repo.tags[name] = commit.hash
        repo.tag_objects[name] = {
            "message": text,
            "date": ids.fmt_time(world.now()),
            "tagger_raw": f"{actor.display_name} <{actor.email}>" if actor else "Bitbucket <noreply@bitbucket.org>",
            "tagger_uuid": actor.uuid if actor else None,
        }
        _moved(world, repo)
        world.emit("repo:push", repo, actor_uuid, push={"branch": name, "old": None, "new": commit.hash, "kind": "tag"})


def delete_tag(world: World, repo: Repository, name: str, actor_uuid: str | None) -> None:
    with world.lock:
        if name not in repo.tags:
            raise WorldError(404, f"Tag not found: {name}")
        old = repo.tags.pop(name)
        obj = repo.tag_objects.pop(name, None)
        _moved(world, repo)
        push = {"branch": name, "old": old, "new": None, "kind": "tag", "tag_object": obj}
        world.emit("repo:push", repo, actor_uuid, push=push)


def _moved(world: World, repo: Repository) -> None:
    repo.updated_on = world.now()
    repo.rev += 1
    world.version += 1
