"""Editing files: load one for the editor, commit changes with the ``parents`` check, or commit to a new branch and
open a pull request in one step."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bitbucket_sync import sync
from bitbucket_sync.client import BitbucketError, Conflict, NotFound
from bitbucket_sync.models import PullRequest, Repository

from ._core import DIFF_MAX_BYTES, Action, ActionFailed, BranchMoved, client_for_reading, plain_error
from .branches import branch_name_problem
from .pull_requests import open_pull_request

# Bigger files are not edited in a browser textarea: the page would be slow and a stray keystroke easy to miss.
EDIT_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class EditableFile:
    """A file as the editor opens it: its text at ``commit`` (the tip of ``branch`` when it was read)."""

    path: str
    branch: str
    commit: str
    text: str
    exists: bool
    line_ending: str = "lf"
    editable: bool = True
    reason: str = ""
    size: int = 0


def load_file_for_edit(*, user, repository: Repository, branch: str, path: str) -> EditableFile:
    """Read ``path`` at the tip of ``branch`` with the user's credential; says why when it cannot be edited.

    A missing path gives an empty, editable new file (``exists=False``). Raises ``ActionFailed`` when the branch is
    missing or Bitbucket is unavailable, ``ActionRefused`` when the user cannot see the repository.
    """
    client, _ = client_for_reading(user=user, repository=repository)
    workspace, slug = repository.workspace.key, repository.slug
    path = path.strip("/")
    with client:
        try:
            tip = client.get_branch(workspace, slug, branch).target.hash
        except NotFound:
            raise ActionFailed(f"There is no branch '{branch}' in {repository.full_name}.", kind="not_found") from None
        except BitbucketError as exc:
            raise plain_error(exc, doing="open the file") from exc
        if not path:
            return EditableFile(path="", branch=branch, commit=tip, text="", exists=False)

        def not_editable(*, reason: str, size: int = 0) -> EditableFile:
            return EditableFile(
                path=path, branch=branch, commit=tip, text="", exists=True, editable=False, reason=reason, size=size
            )

        try:
            meta = client.get_file_meta(workspace, slug, tip, path)
        except NotFound:
            return EditableFile(path=path, branch=branch, commit=tip, text="", exists=False)
        except BitbucketError as exc:
            raise plain_error(exc, doing="open the file") from exc
        if meta.is_dir:
            return not_editable(
                reason=f"'{path}' is a directory.",
            )
        special = {"lfs": "stored in Git LFS", "link": "a symbolic link", "subrepository": "a submodule"}
        for attribute, words in special.items():
            if attribute in meta.attributes:
                return not_editable(
                    reason=f"This file is {words}; edit it with git.",
                    size=meta.size or 0,
                )
        if (meta.size or 0) > EDIT_MAX_BYTES:
            return not_editable(
                size=meta.size or 0,
                reason=f"This file is {(meta.size or 0) // 1024} KiB; files over {EDIT_MAX_BYTES // 1024} KiB are "
                "edited with git, not in the browser.",
            )
        try:
            content = client.get_file(workspace, slug, tip, path).content
        except BitbucketError as exc:
            raise plain_error(exc, doing="open the file") from exc
    if len(content) > EDIT_MAX_BYTES:
        return not_editable(
            size=len(content),
            reason=f"Files over {EDIT_MAX_BYTES // 1024} KiB are edited with git.",
        )
    try:
        if b"\x00" in content:
            raise UnicodeDecodeError("utf-8", content, 0, 1, "NUL byte")
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return not_editable(
            size=len(content),
            reason="This is a binary file (not UTF-8 text); it cannot be edited in the browser.",
        )
    return EditableFile(
        path=path,
        branch=branch,
        commit=tip,
        text=text,
        exists=True,
        size=len(content),
        line_ending="crlf" if "\r\n" in text else "lf",
    )


def _changes_since(client, repository: Repository, *, tip: str, parent: str) -> str:
    """The diff of what landed on the branch between ``parent`` and ``tip`` (``A..B`` is A's changes against B)."""
    try:
        diff = client.get_diff(repository.workspace.key, repository.slug, f"{tip}..{parent}", max_bytes=DIFF_MAX_BYTES)
    except BitbucketError:
        return ""  # the explanation stands without the diff; the commit itself already failed
    if diff.truncated:
        return diff + "\n… (diff cut here; the rest is on Bitbucket)\n"
    return diff


def _commit(act: Action, *, repository: Repository, branch: str, message: str, files, delete, parent: str) -> str:
    client = act.client
    try:
        return client.commit_files(
            repository.workspace.key,
            repository.slug,
            branch=branch,
            message=message,
            files=files,
            delete=delete,
            parents=[parent],
        )
    except Conflict as exc:
        try:
            tip = client.get_branch(repository.workspace.key, repository.slug, branch).target.hash
        except BitbucketError:
            tip = ""
        diff = _changes_since(client, repository, tip=tip, parent=parent) if tip else ""
        raise BranchMoved(
            f"Someone committed to {branch} while you were editing, so Bitbucket refused your commit (it would "
            "have overwritten their change). Your text is kept below: commit it to a new branch and open a pull "
            "request, or copy it and start again from the new tip.",
            error=exc,
            details={"tip": tip, "parent": parent, "diff": diff},
        ) from None


def commit_files(
    *,
    user,
    repository: Repository,
    branch: str,
    message: str,
    files: Mapping[str, str | bytes],
    delete: Iterable[str] = (),
    parent: str,
) -> str:
    """Commit ``files`` (path -> new content) and ``delete`` (paths) to ``branch`` on top of ``parent``, the commit
    the user started from; Bitbucket refuses with 409 if the branch moved since (``BranchMoved``). Returns the new
    commit's hash; the branch's mirror row moves to it."""
    delete, paths, message = _prepare_change(files, delete, message)
    with Action(
        user=user,
        action="file.commit",
        repository=repository,
        target=f"{branch}: {', '.join(paths)}",
        details={"branch": branch, "parent": parent, "paths": paths},
    ) as act:
        if not paths:
            raise ActionFailed(NOTHING_TO_COMMIT, kind="invalid")
        commit_hash = _commit(
            act, repository=repository, branch=branch, message=message, files=files, delete=delete, parent=parent
        )
        record = act.client.get_branch(repository.workspace.key, repository.slug, branch)
        sync.upsert_branch(repository=repository, record=record)
        act.succeeded(f"Committed {commit_hash[:12]} to {branch}.", commit=commit_hash)
        return commit_hash


def commit_to_new_branch_and_open_pr(
    *,
    user,
    repository: Repository,
    new_branch: str,
    message: str,
    files: Mapping[str, str | bytes],
    delete: Iterable[str] = (),
    parent: str,
    title: str,
    description: str = "",
    destination: str,
    reviewers: Iterable[str] = (),
    close_source_branch: bool = True,
    draft: bool = False,
) -> PullRequest:
    """Commit on a new branch started at ``parent`` and open a pull request from it into ``destination``.

    Two audited actions (the commit, the pull request): if the pull request fails, the branch and commit stay and
    the error says so, so nothing typed is lost.
    """
    new_branch = new_branch.strip()
    delete, paths, message = _prepare_change(files, delete, message)
    with Action(
        user=user,
        action="file.commit",
        repository=repository,
        target=f"{new_branch}: {', '.join(paths)}",
        details={"branch": new_branch, "parent": parent, "paths": paths, "new_branch": True},
    ) as act:
        problem = branch_name_problem(new_branch)
        if problem:
            raise ActionFailed(problem, kind="invalid")
        if not paths:
            raise ActionFailed(NOTHING_TO_COMMIT, kind="invalid")
        client = act.client
        try:
            client.get_branch(repository.workspace.key, repository.slug, new_branch)
        except NotFound:
            pass
        else:
            raise ActionFailed(
                f"A branch called '{new_branch}' already exists in {repository.full_name}; choose another name.",
                kind="exists",
            )
        # POST /src with a branch that does not exist yet and `parents` creates the branch on top of that parent.
        commit_hash = _commit(
            act, repository=repository, branch=new_branch, message=message, files=files, delete=delete, parent=parent
        )
        record = client.get_branch(repository.workspace.key, repository.slug, new_branch)
        sync.upsert_branch(repository=repository, record=record)
        act.succeeded(f"Committed {commit_hash[:12]} to the new branch {new_branch}.", commit=commit_hash)
    try:
        return open_pull_request(
            user=user,
            repository=repository,
            source=new_branch,
            destination=destination,
            title=title or message,
            description=description,
            reviewers=reviewers,
            close_source_branch=close_source_branch,
            draft=draft,
        )
    except ActionFailed as failure:
        # The commit is safe on its branch; say so, or the user would retry and meet "branch already exists".
        raise ActionFailed(
            f"Your change is committed on the new branch {new_branch}, but the pull request was not opened: "
            f"{failure.message} Open it from the branches page.",
            kind="partial",
            error=failure.error,
            details={"branch": new_branch, "commit": commit_hash},
        ) from failure


NOTHING_TO_COMMIT = "There is nothing to commit: no file was changed, added or deleted."


def _prepare_change(
    files: Mapping[str, object], delete: Iterable[str], message: str
) -> tuple[list[str], list[str], str]:
    """The deletions without stray slashes, every path the commit touches (sorted, for the audit log) and the
    message, a default one when the user left it empty."""
    deletions = [p.strip("/") for p in delete]
    paths = sorted([*(p.strip("/") for p in files), *deletions])
    return deletions, paths, message if message.strip() else _default_message(files, deletions)


def _default_message(files: Mapping[str, object], delete: Iterable[str]) -> str:
    changed = [p.strip("/") for p in files]
    removed = list(delete)
    if len(changed) == 1 and not removed:
        return f"Edit {changed[0]}"
    if len(removed) == 1 and not changed:
        return f"Delete {removed[0]}"
    return f"Change {len(changed) + len(removed)} files"
