"""Writes to Bitbucket, each with the acting user's own credential, then the mirror, then one audit event.

Every service is keyword-only and takes the dashboard ``user``. It first checks the user's ``RepositoryAccess``
(write for branches, commits, opening/updating/merging/declining; read for reviews, comments and tasks) and raises
``ActionRefused`` without calling Bitbucket; Bitbucket's refusals come back as ``ActionFailed`` (or a subclass:
``BranchMoved``, ``SourceMoved``, ``MergeConflicts``, ``MergeRefused``) with a message in plain words. Success and
failure alike write one ``AuditEvent``; a merge Bitbucket is still running writes it when it ends (``merge_status``).
"""

from ._core import (
    ActionFailed,
    ActionRefused,
    BranchMoved,
    MergeConflicts,
    MergeRefused,
    SourceMoved,
    can_write,
)
from .branch_deletion import BranchProtected, delete_branch, recreatable, recreate_branch
from .branches import BRANCH_PREFIXES, branch_name_problem, create_branch
from .comments import (
    InlineAnchor,
    delete_comment,
    edit_comment,
    post_comment,
    reopen_thread,
    resolve_thread,
    task_from_comment,
)
from .files import EDIT_MAX_BYTES, EditableFile, commit_files, commit_to_new_branch_and_open_pr, load_file_for_edit
from .pull_requests import (
    STRATEGY_LABELS,
    DeclineOutcome,
    DefaultReviewers,
    MergeOptions,
    MergeOutcome,
    approve,
    comment,
    decline_pull_request,
    default_merge_message,
    default_reviewers,
    merge_options,
    merge_pull_request,
    merge_status,
    open_pull_request,
    pull_request_draft,
    remove_request_changes,
    request_changes,
    unapprove,
    update_pull_request,
)
from .reviews import DECISIONS, ReviewIncomplete, ReviewPublished, discard_review, publish_review
from .tags import TAG_MESSAGE_MAX_CHARS, create_tag, delete_tag, tag_name_problem
from .tasks import TASK_MAX_CHARS, create_task, set_task_state

__all__ = [
    "BRANCH_PREFIXES",
    "DECISIONS",
    "EDIT_MAX_BYTES",
    "STRATEGY_LABELS",
    "TAG_MESSAGE_MAX_CHARS",
    "TASK_MAX_CHARS",
    "ActionFailed",
    "ActionRefused",
    "BranchMoved",
    "BranchProtected",
    "DeclineOutcome",
    "DefaultReviewers",
    "EditableFile",
    "InlineAnchor",
    "MergeConflicts",
    "MergeOptions",
    "MergeOutcome",
    "MergeRefused",
    "ReviewIncomplete",
    "ReviewPublished",
    "SourceMoved",
    "approve",
    "branch_name_problem",
    "can_write",
    "comment",
    "commit_files",
    "commit_to_new_branch_and_open_pr",
    "create_branch",
    "create_tag",
    "create_task",
    "decline_pull_request",
    "default_merge_message",
    "default_reviewers",
    "delete_branch",
    "delete_comment",
    "delete_tag",
    "discard_review",
    "edit_comment",
    "load_file_for_edit",
    "merge_options",
    "merge_pull_request",
    "merge_status",
    "open_pull_request",
    "post_comment",
    "publish_review",
    "pull_request_draft",
    "recreatable",
    "recreate_branch",
    "remove_request_changes",
    "reopen_thread",
    "request_changes",
    "resolve_thread",
    "set_task_state",
    "tag_name_problem",
    "task_from_comment",
    "unapprove",
    "update_pull_request",
]
