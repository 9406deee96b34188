"""Forms of the write side: branch, file edit and delete, pull request open/update/review/comment/merge/decline.

Each carries a hidden idempotency key (a fresh one per rendered form): the view claims it before acting, so a double
submit gets the first submit's result. Checks that need no Bitbucket (git's ref-name rules, an unchanged file) happen
here, so a mistake costs no request.
"""

import hashlib
import re
from typing import Any, cast

from django import forms
from django.urls import reverse

from bitbucket_sync.actions import BRANCH_PREFIXES, EDIT_MAX_BYTES, STRATEGY_LABELS, branch_name_problem
from bitbucket_sync.actions.receipts import new_key
from bitbucket_sync.client import path_problem, ref_problem
from dashboard.forms.pickers import PickerInput, WithReviewers

_COMMIT_HASH = re.compile(r"[0-9a-f]{7,40}")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ActionForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Fields whose text Bitbucket shows as Markdown. Given the page's workspace (whose members name the mentions),
    # their boxes get Write / Preview tabs (static/js/markdown-preview.js asks the URL it puts on them).
    markdown_fields: tuple[str, ...] = ()

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_key())
        if workspace is not None:
            preview_url = reverse("markdown_preview", args=[workspace.slug])
            for name in self.markdown_fields:
                self.fields[name].widget.attrs["data-markdown-preview"] = preview_url

    def with_fresh_key(self) -> "ActionForm":
        """The same bound form, with a new key: after a failure the user's retry is a new attempt."""
        # Bound to request.POST (a QueryDict) or, in tests, a dict: both are dicts, and both copy.
        data = cast(dict[str, Any], self.data).copy()
        data["idempotency_key"] = new_key()
        self.data = data
        return self


class BranchCreateForm(ActionForm):
    # The form metaclass moves declared fields into base_fields, so this never shadows BaseForm.prefix at runtime.
    prefix = forms.ChoiceField(  # type: ignore[assignment]
        label="Type",
        required=False,
        choices=[("", "(no prefix)"), *((p, p) for p in BRANCH_PREFIXES)],
        help_text="Your branching model's prefixes.",
    )
    name = forms.CharField(max_length=255, label="Branch name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    target = forms.CharField(
        max_length=255,
        label="From",
        help_text="A branch, tag or commit hash.",
        widget=PickerInput(),
    )

    def __init__(self, *args, prefixes: tuple[tuple[str, str], ...] | None = None, **kwargs):
        """``prefixes``: (prefix, kind) pairs of the repository's branching model; the usual four without one."""
        super().__init__(*args, **kwargs)
        if prefixes is not None:
            cast(forms.ChoiceField, self.fields["prefix"]).choices = [
                ("", "(no prefix)"),
                *(
                    (prefix, f"{prefix} ({kind})" if kind != prefix.rstrip("/") else prefix)
                    for prefix, kind in prefixes
                ),
            ]

    def clean_target(self):
        target = self.cleaned_data["target"].strip()
        if ref_problem(target):
            raise forms.ValidationError(
                "A branch, tag or commit cannot have empty, '.' or '..' parts, a backslash or a percent-encoded "
                "'.', '/', '\\' or '%'."
            )
        return target

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        name = (cleaned.get("prefix") or "") + (cleaned.get("name") or "").strip()
        if cleaned.get("name"):
            problem = branch_name_problem(name)
            if problem:
                self.add_error("name", problem)
        cleaned["full_name"] = name
        return cleaned


TARGET_CHOICES = [
    ("branch", "Commit directly to this branch"),
    ("new_branch", "Commit to a new branch and open a pull request"),
]


class _CommitForm(WithReviewers, ActionForm):
    markdown_fields = ("pr_description",)
    branch = forms.CharField(widget=forms.HiddenInput, max_length=255)
    parent = forms.CharField(widget=forms.HiddenInput, max_length=40)
    message = forms.CharField(
        label="Commit message", required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "commit-message"})
    )
    target = forms.ChoiceField(label="Where", choices=TARGET_CHOICES, widget=forms.RadioSelect, initial="branch")
    new_branch = forms.CharField(label="New branch name", required=False, max_length=255)
    pr_title = forms.CharField(label="Pull request title", required=False, max_length=1000)
    pr_description = forms.CharField(
        label="Pull request description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        if not _COMMIT_HASH.fullmatch(parent):
            raise forms.ValidationError("The commit you started from is not a commit hash; reload the page.")
        return parent

    def clean_branch(self):
        # A hidden field, but posted by the browser like any other: the branch goes into the commit's request.
        branch = self.cleaned_data["branch"]
        if problem := branch_name_problem(branch):
            raise forms.ValidationError(problem)
        return branch

    def clean_path(self):
        # Both subclasses declare `path` (a text box to edit, hidden to delete); the same rule holds for each.
        path = self.cleaned_data["path"].strip().strip("/")
        if not path:
            raise forms.ValidationError("Give the file a path.")
        if problem := path_problem(path):
            raise forms.ValidationError(problem)
        return path

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("target") == "new_branch":
            name = (cleaned.get("new_branch") or "").strip()
            problem = branch_name_problem(name)
            if problem:
                self.add_error("new_branch", problem)
            elif name == cleaned.get("branch"):
                self.add_error("new_branch", "The new branch needs a name different from the one you are editing.")
        return cleaned


class FileEditForm(_CommitForm):
    path = forms.CharField(label="File path", max_length=1000, widget=forms.TextInput(attrs={"class": "mono"}))
    content = forms.CharField(
        label="Content",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "class": "editor", "spellcheck": "false", "wrap": "off"}),
    )
    line_ending = forms.ChoiceField(choices=[("lf", "lf"), ("crlf", "crlf")], widget=forms.HiddenInput, initial="lf")
    original_digest = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    is_new = forms.BooleanField(widget=forms.HiddenInput, required=False)

    field_order = [
        "path",
        "content",
        "message",
        "target",
        "new_branch",
        "pr_title",
        "pr_description",
        "reviewers",
        "add_reviewers",
    ]

    @property
    def is_new_file(self) -> bool:
        """Whether this form adds a file (the hidden field's raw value is the string "False" once posted)."""
        if self.is_bound:
            return bool(self.fields["is_new"].to_python(self.data.get("is_new")))
        return bool(self.initial.get("is_new"))

    def file_bytes(self) -> bytes:
        """The textarea's text as the file's bytes: browsers send CRLF line breaks, the file keeps its own."""
        text = self.cleaned_data.get("content", "").replace("\r\n", "\n")
        if self.cleaned_data.get("line_ending") == "crlf":
            text = text.replace("\n", "\r\n")
        return text.encode()

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if "content" in cleaned and len(self.file_bytes()) > EDIT_MAX_BYTES:
            # The editor only opens smaller files; a bigger text can still be posted, and is refused the same way.
            self.add_error(
                "content", f"Files over {EDIT_MAX_BYTES // 1024} KiB are edited with git, not in the browser."
            )
            return cleaned
        unchanged = (
            "content" in cleaned
            and "path" in cleaned
            and not cleaned.get("is_new")
            and cleaned.get("original_digest")
            and digest(self.file_bytes().decode()) == cleaned["original_digest"]
        )
        if unchanged:
            self.add_error("content", "You have not changed anything in this file yet.")
        return cleaned


class FileDeleteForm(_CommitForm):
    path = forms.CharField(widget=forms.HiddenInput, max_length=1000)


def branch_picker(label: str) -> forms.CharField:
    """A branch typed or picked from the repository's branches (`BranchPicking` sets where they come from)."""
    return forms.CharField(label=label, max_length=255, widget=PickerInput())


class BranchPicking(forms.Form):
    """Branch boxes (`branch_fields`) checked against the repository's live branches: `branches` lists them (the
    view reads them anyway, for its defaults), `branch_url` fills the boxes' lists as the user types."""

    branch_fields: tuple[str, ...] = ()

    def __init__(self, *args, branches=(), branch_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.branches = set(branches)
        for name in self.branch_fields:
            cast(PickerInput, self.fields[name].widget).url = branch_url

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        for name in self.branch_fields:
            branch = (cleaned.get(name) or "").strip()
            if branch and branch not in self.branches:
                self.add_error(name, f"There is no branch \u201c{branch}\u201d here; pick one from the list.")
            elif branch:
                cleaned[name] = branch
        return cleaned


class PullRequestForm(WithReviewers, BranchPicking, ActionForm):
    markdown_fields = ("description",)
    branch_fields = ("source", "destination")

    source = branch_picker("Source branch")
    destination = branch_picker("Destination branch")
    title = forms.CharField(max_length=1000)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8}))
    close_source_branch = forms.BooleanField(required=False, label="Close the source branch after the merge")
    draft = forms.BooleanField(required=False, label="Draft (not ready for review yet)")

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("source") and cleaned.get("source") == cleaned.get("destination"):
            self.add_error("destination", "Pick a destination different from the source branch.")
        return cleaned


class PullRequestUpdateForm(WithReviewers, BranchPicking, ActionForm):
    markdown_fields = ("description",)
    branch_fields = ("destination",)

    title = forms.CharField(max_length=1000)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8}))
    destination = branch_picker("Destination branch")


REVIEW_VERDICTS = {
    "approve": "Approve",
    "unapprove": "Remove approval",
    "request_changes": "Request changes",
    "remove_request_changes": "Withdraw change request",
}


class ReviewForm(ActionForm):
    verdict = forms.ChoiceField(choices=list(REVIEW_VERDICTS.items()))


class CommentForm(ActionForm):
    text = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}))
    # Set by the "Add to review" button: a draft only its author sees until the review is published.
    pending = forms.BooleanField(required=False)


class MergeForm(ActionForm):
    strategy = forms.ChoiceField(label="Merge strategy")
    message = forms.CharField(label="Commit message", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    close_source_branch = forms.BooleanField(required=False, label="Close the source branch")
    expected_source_commit = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args, strategies=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["strategy"]).choices = [(s, STRATEGY_LABELS.get(s, s)) for s in strategies]

    def clean_expected_source_commit(self):
        # Sent back to Bitbucket in a diff's URL when the source moved: only a hash may go there.
        commit = self.cleaned_data["expected_source_commit"]
        if not _COMMIT_HASH.fullmatch(commit):
            raise forms.ValidationError("The commit you reviewed is not a commit hash; reload the page.")
        return commit


class DeclineForm(ActionForm):
    markdown_fields = ("reason",)  # posted as a comment
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional. Bitbucket's decline takes no reason, so it is posted as a comment.",
    )
