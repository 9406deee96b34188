"""Filter forms of the list pages. Every filter lives in the query string, so a view can be bookmarked and shared.

A value the form does not know (a repository since renamed, a hand-edited URL) is reported next to its field and
left out; the other filters still apply, so nothing the user typed is lost.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.db.models import Q

from bitbucket_sync.models import Account, PullRequest, Repository
from dashboard.forms.pickers import PickerInput, person_named
from dashboard.selectors.suggestions import person_label

ANY = [("", "Any")]


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


def person_picker(label: str) -> forms.CharField:
    """A person filter: a name typed or picked (`dashboard.forms.pickers`), checked and turned into an account id."""
    return forms.CharField(label=label, required=False, max_length=255, widget=PickerInput())


def repository_picker() -> forms.CharField:
    return forms.CharField(label="Repository", required=False, max_length=511, widget=PickerInput())


class PickerFilters(FilterForm):
    """Filters by person and repository typed in picker boxes. A person is posted as a nickname, a name or (in links
    and bookmarks) an account id, and filtered by account id; the box then shows the nickname. `people` are those the
    form may name, `people_url` and `repository_url` fill the boxes' lists."""

    person_fields = ("author", "reviewer")

    def __init__(self, data=None, *, people=None, people_url: str = "", repository_url: str = "", **kwargs):
        super().__init__(data, **kwargs)
        self.people = people if people is not None else Account.objects.none()
        for name in self.person_fields:
            cast(PickerInput, self.fields[name].widget).url = people_url
        if "repository" in self.fields:
            cast(PickerInput, self.fields["repository"].widget).url = repository_url

    def _show(self, name: str, text: str) -> None:
        """Show `text` in the box `name` when the form is rendered again (an account id from a link as a nickname)."""
        if self.data.get(name) != text:
            # Bound to request.GET (a QueryDict) or, in tests, a dict: both copy.
            data = cast(dict[str, Any], self.data).copy()
            data[name] = text
            self.data = data

    def _person(self, name: str) -> str:
        person = person_named(self.people, self.cleaned_data.get(name, ""))
        if person is None:
            return ""
        self._show(name, person_label(person))
        return person.account_id

    def clean_author(self) -> str:
        return self._person("author")

    def clean_reviewer(self) -> str:
        return self._person("reviewer")


class PullRequestFilterForm(PickerFilters):
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
    repository = repository_picker()
    author = person_picker("Author")
    reviewer = person_picker("Reviewer")
    destination = forms.CharField(label="Destination branch", required=False, max_length=255)
    draft = forms.ChoiceField(label="Draft", choices=DRAFT, required=False)
    sort = forms.ChoiceField(label="Sort by", choices=SORTS, required=False, initial="updated")

    def __init__(self, data=None, *, repositories=None, with_repository=True, **kwargs):
        """`repositories`: the workspace's repositories the viewer sees (a QuerySet), filtered by slug."""
        super().__init__(data, **kwargs)
        self.repositories = repositories if repositories is not None else Repository.objects.none()
        if not with_repository:
            del self.fields["repository"]

    def clean_repository(self) -> str:
        text = self.cleaned_data.get("repository", "").strip()
        if not text:
            return ""
        slugs = list(self.repositories.filter(slug=text).values_list("slug", flat=True)[:1]) or list(
            self.repositories.filter(Q(slug__iexact=text) | Q(name__iexact=text)).values_list("slug", flat=True)[:2]
        )
        if len(slugs) != 1:
            raise forms.ValidationError(f"No repository \u201c{text}\u201d here; pick one from the list.")
        self._show("repository", slugs[0])
        return slugs[0]


class AttentionFilterForm(PickerFilters):
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
    repository = repository_picker()
    author = person_picker("Author")
    reviewer = person_picker("Reviewer")
    age = forms.IntegerField(
        label="Waiting more than (days)",
        required=False,
        min_value=0,
        max_value=3650,
        widget=forms.NumberInput(attrs={"min": 0, "max": 3650}),
    )
    build = forms.ChoiceField(label="Build", choices=BUILDS, required=False)

    def __init__(self, data=None, *, workspaces=(), repositories=(), **kwargs):
        """`repositories`: the full names of the repositories the viewer sees, which the filter takes."""
        super().__init__(data, **kwargs)
        cast(forms.ChoiceField, self.fields["workspace"]).choices = ANY + list(workspaces)
        self.repositories = list(repositories)

    def clean_repository(self) -> str:
        text = self.cleaned_data.get("repository", "").strip()
        if not text or text in self.repositories:
            return text
        folded = text.casefold()
        found = [name for name in self.repositories if name.casefold() == folded]
        if len(found) != 1:
            raise forms.ValidationError(f"No repository \u201c{text}\u201d you can see; pick one from the list.")
        self._show("repository", found[0])
        return found[0]

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
