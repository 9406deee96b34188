"""What ``DataCenterClient`` cannot do yet: each method of ``BitbucketClient`` it lacks, raising ``Unsupported``.

``DataCenterClient`` inherits these, so code above the client that calls one gets a ``BitbucketError`` it already
reports (a page says what Bitbucket Data Center cannot show, a sync step is skipped) instead of an AttributeError.
A method implemented on ``DataCenterClient`` itself takes the place of its stand-in here. Writes (acting on Data
Center) are the next step of that backend; the reads listed first are the ones still missing.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ..errors import Unsupported


def _unsupported(name: str, what: str) -> NoReturn:
    raise Unsupported(f"Bitbucket Data Center: bbdash cannot {what} there yet ({name}).")


class NotYetOnDataCenter:
    def commit_log_page(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("commit_log_page", "commit log page")

    def commit_pull_requests(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("commit_pull_requests", "commit pull requests")

    def file_history_page(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("file_history_page", "file history page")

    def get_effective_branching_model(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("get_effective_branching_model", "get effective branching model")

    def get_file_meta(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("get_file_meta", "get file meta")

    def get_user_workspace_permission(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("get_user_workspace_permission", "get user workspace permission")

    def iter_branch_restrictions(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_branch_restrictions", "iter branch restrictions")

    def iter_commit_reports(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_commit_reports", "iter commit reports")

    def iter_commit_statuses(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_commit_statuses", "iter commit statuses")

    def iter_default_reviewers(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_default_reviewers", "iter default reviewers")

    def iter_diffstat(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_diffstat", "iter diffstat")

    def iter_pull_request_diffstat(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_pull_request_diffstat", "iter pull request diffstat")

    def iter_pull_request_statuses(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_pull_request_statuses", "iter pull request statuses")

    def iter_report_annotations(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_report_annotations", "iter report annotations")

    def iter_user_repository_permissions(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_user_repository_permissions", "iter user repository permissions")

    def iter_watchers(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_watchers", "iter watchers")

    def iter_webhooks(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_webhooks", "iter webhooks")

    def approve(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("approve", "approve")

    def comment_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("comment_pull_request", "comment pull request")

    def commit_files(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("commit_files", "commit files")

    def create_branch(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_branch", "create branch")

    def create_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_pull_request", "create pull request")

    def create_pull_request_task(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_pull_request_task", "create pull request task")

    def create_tag(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_tag", "create tag")

    def create_webhook(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_webhook", "create webhook")

    def decline_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("decline_pull_request", "decline pull request")

    def delete_branch(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_branch", "delete branch")

    def delete_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_pull_request_comment", "delete pull request comment")

    def delete_tag(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_tag", "delete tag")

    def delete_webhook(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_webhook", "delete webhook")

    def merge_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("merge_pull_request", "merge pull request")

    def publish_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("publish_pull_request_comment", "publish pull request comment")

    def remove_request_changes(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("remove_request_changes", "remove request changes")

    def reopen_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("reopen_pull_request_comment", "reopen pull request comment")

    def request_changes(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("request_changes", "request changes")

    def resolve_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("resolve_pull_request_comment", "resolve pull request comment")

    def unapprove(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("unapprove", "unapprove")

    def update_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("update_pull_request", "update pull request")

    def update_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("update_pull_request_comment", "update pull request comment")

    def update_pull_request_task(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("update_pull_request_task", "update pull request task")

    def wait_for_merge(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("wait_for_merge", "wait for merge")
