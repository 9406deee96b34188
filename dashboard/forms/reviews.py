"""Forms of a review: the comment box autosave, publishing the user's pending comments with a decision, discarding
them. The comment ids are the ones the panel listed (what the user saw is what is published), as whole numbers."""

from django import forms

from bitbucket_sync import drafts
from bitbucket_sync.actions import DECISIONS
from bitbucket_sync.actions.reviews import MAX_COMMENTS
from dashboard.forms.writes import ActionForm


class DraftForm(forms.Form):
    key = forms.CharField(max_length=200)
    text = forms.CharField(required=False, strip=False, max_length=drafts.MAX_CHARS)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if problem := drafts.key_problem(key):
            raise forms.ValidationError(problem)
        return key


class _PendingComments(ActionForm):
    def clean(self):
        cleaned = super().clean() or self.cleaned_data
        raw = self.data.getlist("comment") if hasattr(self.data, "getlist") else self.data.get("comment", [])
        raw = [raw] if isinstance(raw, str) else list(raw)
        if len(raw) > MAX_COMMENTS or not all(str(i).isdigit() and 0 < int(i) < 2**53 for i in raw):
            raise forms.ValidationError("The pending comments of this form are not ones bbdash listed.")
        cleaned["comment_ids"] = list(dict.fromkeys(int(i) for i in raw))
        return cleaned


class ReviewPublishForm(_PendingComments):
    summary = forms.CharField(
        label="Summary", required=False, max_length=drafts.MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3})
    )
    decision = forms.ChoiceField(choices=list(DECISIONS.items()), initial="comment", widget=forms.RadioSelect)


class ReviewDiscardForm(_PendingComments):
    confirmed = forms.BooleanField(required=False)
