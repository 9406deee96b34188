"""Forms of tags, branch deletion and the branch clean-up: names checked by git's rules before anything is sent."""

from __future__ import annotations

import re

from django import forms

from bitbucket_sync.actions import TAG_MESSAGE_MAX_CHARS, branch_name_problem, tag_name_problem
from bitbucket_sync.client import ref_problem
from dashboard.forms.pickers import PickerInput
from dashboard.forms.writes import ActionForm

_HASH = re.compile(r"[0-9a-f]{40}")
CLEANUP_MAX_DAYS = 3650
CLEANUP_MAX_BRANCHES = 100  # one confirmation, at most this many Bitbucket calls


class TagCreateForm(ActionForm):
    name = forms.CharField(max_length=255, label="Tag name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    target = forms.CharField(
        max_length=255,
        label="Of",
        help_text="A branch, tag or commit hash.",
        widget=PickerInput(),
    )
    message = forms.CharField(
        label="Message",
        required=False,
        max_length=TAG_MESSAGE_MAX_CHARS,
        help_text="Optional: without one Bitbucket writes “Added tag … for changeset …”.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if problem := tag_name_problem(name):
            raise forms.ValidationError(problem)
        return name

    def clean_target(self):
        target = self.cleaned_data["target"].strip()
        if ref_problem(target):
            raise forms.ValidationError("A branch, tag or commit cannot have empty, '.' or '..' parts.")
        return target


class RefDeleteForm(ActionForm):
    """Delete one tag or branch (its name is in the URL); ``expected_tip`` is the tip the confirmation showed."""

    expected_tip = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)

    def clean_expected_tip(self):
        tip = self.cleaned_data["expected_tip"]
        if tip and not _HASH.fullmatch(tip):
            raise forms.ValidationError("The commit shown is not a commit hash; reload the page.")
        return tip


class CleanupFilterForm(forms.Form):
    days = forms.IntegerField(
        label="Older than (days)",
        min_value=1,
        max_value=CLEANUP_MAX_DAYS,
        required=False,
        help_text="Branches without an open pull request whose last commit is older than this.",
    )

    def days_or(self, default: int) -> int:
        if self.is_valid() and self.cleaned_data.get("days"):
            return self.cleaned_data["days"]
        return default


def parse_pick(value: str) -> tuple[str, str] | None:
    """``<tip>:<name>`` (git forbids ':' in a branch name, and the tip has none) -> (name, tip), or None."""
    tip, sep, name = value.partition(":")
    if not sep or not _HASH.fullmatch(tip) or branch_name_problem(name) or ref_problem(name):
        return None
    return name, tip


class _Picks(forms.Field):
    """Repeated ``<tip>:<name>`` values, each checked."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [v for v in (value or []) if isinstance(v, str)]

    def validate(self, value):
        super().validate(value)
        if len(value) > CLEANUP_MAX_BRANCHES:
            raise forms.ValidationError(f"Choose at most {CLEANUP_MAX_BRANCHES} branches at a time.")
        if any(parse_pick(v) is None for v in value):
            raise forms.ValidationError("A chosen branch is not a branch name with its commit; choose again.")


class CleanupDeleteForm(ActionForm):
    """The branches the confirmation named, each with the tip it showed."""

    branch = _Picks(error_messages={"required": "Choose at least one branch to delete."})

    def picks(self) -> list[tuple[str, str]]:
        """(name, tip) of each chosen branch, each once, in the order chosen."""
        seen: dict[str, str] = {}
        for value in self.cleaned_data["branch"]:
            pick = parse_pick(value)
            if pick is not None:
                seen.setdefault(*pick)
        return list(seen.items())
