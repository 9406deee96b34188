"""Forms of review threads: reply, comment on lines of the diff, edit a comment, resolve/reopen/delete (nothing but
the idempotency key) and a task from a comment.

The composers carry an "Add to review" button (`pending`): the comment is then a draft of the user's review, seen only
by them until the review is published. The anchor of a line comment comes from the URL or hidden fields the browser
posts like any other: it is checked here (a safe path, positive lines, a known side, a range in order) before
anything is sent.
"""

from django import forms

from bitbucket_sync.actions import TASK_MAX_CHARS, InlineAnchor
from dashboard.forms.writes import ActionForm

# Bitbucket stores long comments; a comment box that takes a novel is a mistake more often than a review.
COMMENT_MAX_CHARS = 32_000


class ThreadCommentForm(ActionForm):
    """A reply in a thread, or a comment's new text (edit)."""

    text = forms.CharField(label="Comment", max_length=COMMENT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))
    pending = forms.BooleanField(required=False)


class ThreadActionForm(ActionForm):
    """Resolve, reopen or delete: the idempotency key is all the form holds."""


class CommentTaskForm(ActionForm):
    text = forms.CharField(label="Task", max_length=TASK_MAX_CHARS)


class InlineAnchorForm(forms.Form):
    """Where a new line comment goes, from the composer's URL (`?path=&side=&line=&start=`) or its hidden fields."""

    path = forms.CharField(max_length=1000)
    side = forms.ChoiceField(choices=[("new", "new"), ("old", "old")])
    line = forms.IntegerField(min_value=1)
    start = forms.IntegerField(min_value=1, required=False)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        anchor = InlineAnchor(
            path=cleaned["path"].strip("/"), side=cleaned["side"], line=cleaned["line"], start=cleaned.get("start")
        )
        if problem := anchor.problem():
            raise forms.ValidationError(problem)
        cleaned["anchor"] = anchor
        return cleaned


class InlineCommentForm(InlineAnchorForm, ActionForm):
    text = forms.CharField(label="Comment", max_length=COMMENT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))
    pending = forms.BooleanField(required=False)

    field_order = ["text"]
