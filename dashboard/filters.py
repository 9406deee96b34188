"""Filter forms of the list pages. Every filter lives in the query string, so a view can be bookmarked and shared.

A value the form does not know (a repository since renamed, a hand-edited URL) is reported next to its field and
left out; the other filters still apply, so nothing the user typed is lost.
"""

from __future__ import annotations

from html import escape
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe

from bitbucket_sync.models import PullRequest

ANY = [("", "Any")]


class LongSelect(forms.Select):
    """A <select> for long lists (2,000 repositories, 500 people), rendered in one pass.

    Django's Select renders each option through a template of its own, which costs more than the whole inbox query
    at that size; the markup here is the same, every value and label escaped.
    """

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        options = "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) in selected else ""}>{escape(str(label))}</option>'
            for v, label in self.choices
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return mark_safe(f'<select name="{escape(name)}"{attributes}>{options}</select>')  # noqa: S308 - escaped above


# A filter form's text field: the one the `/` shortcut focuses (static/js/keys.js).
SEARCH_FIELD = {"type": "search", "data-search-field": ""}


class FilterForm(forms.Form):
    def __init__(self, data=None, **kwargs):
        # An empty query string is a valid "no filters" request, not an unbound form.
        super().__init__(data if data is not None else {}, **kwargs)

    def cleaned_or_default(self) -> dict:
        """The valid filters; fields with errors are left out (their errors are shown by the form)."""
        self.is_valid()
        values = {name: field.initial or "" for name, field in self.fields.items()}
        values.update({k: v for k, v in self.cleaned_data.items() if k not in self.errors and v not in (None, "")})
        return values


class PullRequestFilterForm(FilterForm):
    TABS = [
        ("waiting", "Waiting on me"),
        ("mine", "Mine"),
        ("open", "All open"),
        ("closed", "Recently merged/declined"),
        ("all", "Everything"),
    ]
    SORTS = [("updated", "Last updated"), ("created", "Newest"), ("repository", "Repository")]
    DRAFT = [("", "Any"), ("yes", "Drafts only"), ("no", "No drafts")]

    tab = forms.ChoiceField(choices=TABS, required=False, initial="open", widget=forms.HiddenInput)
    q = forms.CharField(label="Text", required=False, max_length=200, widget=forms.TextInput(attrs=SEARCH_FIELD))
    state = forms.ChoiceField(label="State", choices=ANY + list(PullRequest.State.choices), required=False)
    repository = forms.ChoiceField(label="Repository", required=False, widget=LongSelect)
    author = forms.ChoiceField(label="Author", required=False, widget=LongSelect)
    reviewer = forms.ChoiceField(label="Reviewer", required=False, widget=LongSelect)
    destination = forms.CharField(label="Destination branch", required=False, max_length=255)
    draft = forms.ChoiceField(label="Draft", choices=DRAFT, required=False)
    sort = forms.ChoiceField(label="Sort by", choices=SORTS, required=False, initial="updated")

    def __init__(self, data=None, *, repositories=(), people=(), with_repository=True, **kwargs):
        super().__init__(data, **kwargs)
        cast(forms.ChoiceField, self.fields["repository"]).choices = ANY + list(repositories)
        cast(forms.ChoiceField, self.fields["author"]).choices = ANY + list(people)
        cast(forms.ChoiceField, self.fields["reviewer"]).choices = ANY + list(people)
        if not with_repository:
            del self.fields["repository"]


class AttentionFilterForm(FilterForm):
    """The attention inbox's filters across workspaces; `filter_query` is the query string a saved view keeps."""

    TABS = [
        ("review", "Needs my review"),
        ("returned", "Returned to me"),
        ("ready", "Ready to merge"),
        ("waiting", "Waiting on others"),
        ("open", "All open"),
    ]
    BUILDS = [
        ("", "Any"),
        ("SUCCESSFUL", "Passed"),
        ("FAILED", "Failed"),
        ("STOPPED", "Stopped"),
        ("INPROGRESS", "Running"),
        ("none", "Not read"),
    ]
    tab = forms.ChoiceField(choices=TABS, required=False, initial="review", widget=forms.HiddenInput)
    workspace = forms.ChoiceField(label="Workspace", required=False)
    repository = forms.ChoiceField(label="Repository", required=False, widget=LongSelect)
    author = forms.ChoiceField(label="Author", required=False, widget=LongSelect)
    reviewer = forms.ChoiceField(label="Reviewer", required=False, widget=LongSelect)
    age = forms.IntegerField(
        label="Waiting more than (days)",
        required=False,
        min_value=0,
        max_value=3650,
        widget=forms.NumberInput(attrs={"min": 0, "max": 3650}),
    )
    build = forms.ChoiceField(label="Build", choices=BUILDS, required=False)

    def __init__(self, data=None, *, workspaces=(), repositories=(), people=(), **kwargs):
        super().__init__(data, **kwargs)
        cast(forms.ChoiceField, self.fields["workspace"]).choices = ANY + list(workspaces)
        cast(forms.ChoiceField, self.fields["repository"]).choices = ANY + list(repositories)
        cast(forms.ChoiceField, self.fields["author"]).choices = ANY + list(people)
        cast(forms.ChoiceField, self.fields["reviewer"]).choices = ANY + list(people)

    def filter_query(self) -> str:
        """The valid filters that are set, as a query string (in the fields' order)."""
        self.is_valid()
        values = {k: v for k, v in self.cleaned_data.items() if k not in self.errors and v not in (None, "")}
        return urlencode([(name, values[name]) for name in self.fields if name in values])


class RepositoryFilterForm(FilterForm):
    SORTS = [("name", "Name"), ("updated", "Last updated"), ("open_prs", "Open pull requests")]

    q = forms.CharField(label="Search", required=False, max_length=200, widget=forms.TextInput(attrs=SEARCH_FIELD))
    language = forms.ChoiceField(label="Language", required=False)
    project = forms.ChoiceField(label="Project", required=False)
    sort = forms.ChoiceField(label="Sort by", choices=SORTS, required=False, initial="name")

    def __init__(self, data=None, *, languages=(), projects=(), **kwargs):
        super().__init__(data, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = ANY + [(lang, lang) for lang in languages]
        cast(forms.ChoiceField, self.fields["project"]).choices = ANY + [
            (key, f"{key}: {name}") for key, name in projects
        ]


class SearchForm(FilterForm):
    q = forms.CharField(label="Search", required=False, max_length=200, widget=forms.TextInput(attrs=SEARCH_FIELD))


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    result = forms.ChoiceField(
        required=False, choices=[("", "any result"), ("success", "success"), ("failure", "failure")]
    )
    repository = forms.CharField(required=False, max_length=511, label="Repository")
    actor = forms.CharField(required=False, max_length=150, label="User")

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["action"]).choices = [("", "any action"), *((a, a) for a in actions)]

    def cleaned_or_default(self) -> dict:
        if self.is_valid():
            return self.cleaned_data
        return {"action": "", "result": "", "repository": "", "actor": ""}
