"""What ``DataCenterClient`` does not do: each method of ``BitbucketClient`` it lacks, raising ``Unsupported``.

``DataCenterClient`` inherits these, so code above the client that calls one gets a ``BitbucketError`` it already
reports (a page says what Bitbucket Data Center cannot show, a sync step is skipped) instead of an AttributeError.
A method implemented on ``DataCenterClient`` itself takes the place of its stand-in here. Each message says why:
a read Data Center has but bbdash does not make there yet (its plugin APIs for branch permissions, default reviewers,
Code Insights, the branching model), one Data Center's REST API does not offer (watchers), or a write (acting on
Data Center is the next step of that backend).
"""

from __future__ import annotations

from typing import Any, NoReturn

from ..errors import Unsupported

_NOT_READ_YET = "bbdash does not read {what} from Bitbucket Data Center yet ({name}: Data Center's {api})."
_NO_WRITES_YET = "bbdash cannot {what} on Bitbucket Data Center yet ({name})."


def _not_read(name: str, what: str, api: str) -> NoReturn:
    raise Unsupported(_NOT_READ_YET.format(what=what, name=name, api=api))


def _unsupported(name: str, what: str) -> NoReturn:
    raise Unsupported(_NO_WRITES_YET.format(what=what, name=name))


class NotYetOnDataCenter:
    # -- reads bbdash does not make on Data Center ----------------------------------------------------------------

    def get_effective_branching_model(self, *args: Any, **kwargs: Any) -> Any:
        _not_read("get_effective_branching_model", "the branching model", "branch-utils plugin API, not read yet")

    def iter_branch_restrictions(self, *args: Any, **kwargs: Any) -> Any:
        _not_read("iter_branch_restrictions", "branch restrictions", "branch-permissions 2.0 plugin API, not read yet")

    def iter_default_reviewers(self, *args: Any, **kwargs: Any) -> Any:
        _not_read("iter_default_reviewers", "default reviewers", "default-reviewers plugin API, not read yet")

    def iter_commit_reports(self, *args: Any, **kwargs: Any) -> Any:
        _not_read("iter_commit_reports", "Code Insights reports", "insights plugin API, not read yet")

    def iter_report_annotations(self, *args: Any, **kwargs: Any) -> Any:
        _not_read("iter_report_annotations", "Code Insights annotations", "insights plugin API, not read yet")

    def iter_watchers(self, *args: Any, **kwargs: Any) -> Any:
        _not_read("iter_watchers", "a repository's watchers", "REST API has no listing of them")

    # -- writes ---------------------------------------------------------------------------------------------------

    def approve(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("approve", "approve a pull request")

    def comment_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("comment_pull_request", "comment on a pull request")

    def commit_files(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("commit_files", "commit files")

    def create_branch(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_branch", "create a branch")

    def create_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_pull_request", "create a pull request")

    def create_pull_request_task(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_pull_request_task", "create a pull request task")

    def create_tag(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_tag", "create a tag")

    def decline_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("decline_pull_request", "decline a pull request")

    def delete_branch(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_branch", "delete a branch")

    def delete_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_pull_request_comment", "delete a pull request comment")

    def delete_tag(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_tag", "delete a tag")

    def merge_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("merge_pull_request", "merge a pull request")

    def publish_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("publish_pull_request_comment", "publish a pull request comment")

    def remove_request_changes(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("remove_request_changes", "withdraw a request for changes")

    def reopen_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("reopen_pull_request_comment", "reopen a comment thread")

    def request_changes(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("request_changes", "request changes")

    def resolve_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("resolve_pull_request_comment", "resolve a comment thread")

    def unapprove(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("unapprove", "withdraw an approval")

    def update_pull_request(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("update_pull_request", "update a pull request")

    def update_pull_request_comment(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("update_pull_request_comment", "edit a pull request comment")

    def update_pull_request_task(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("update_pull_request_task", "update a pull request task")

    def wait_for_merge(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("wait_for_merge", "wait for a merge")

    # -- webhooks (administration through Data Center's REST API) ---------------------------------------------------

    def iter_webhooks(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("iter_webhooks", "iter webhooks")

    def create_webhook(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("create_webhook", "create webhook")

    def delete_webhook(self, *args: Any, **kwargs: Any) -> Any:
        _unsupported("delete_webhook", "delete webhook")
