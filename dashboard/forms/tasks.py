"""Forms of a pull request's tasks: add one (its text), resolve or reopen one (nothing but the idempotency key)."""

from django import forms

from bitbucket_sync.actions import TASK_MAX_CHARS
from dashboard.forms.writes import ActionForm


class TaskForm(ActionForm):
    text = forms.CharField(
        label="New task", max_length=TASK_MAX_CHARS, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


class TaskStateForm(ActionForm):
    pass
