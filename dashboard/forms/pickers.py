"""Type-ahead pickers for people, repositories and branches: a text box with a `<datalist>` that htmx fills from
`dashboard.views.suggest` as the user types, instead of a `<select>` of thousands of options.

What is posted is what the box shows (a nickname, a repository slug or full name, a branch name), so the forms work
without JavaScript; the form then checks it against what the viewer may choose (`dashboard.selectors.suggestions`)
and says so next to the box, the typed text kept, when it names nobody or several people.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.safestring import mark_safe

from bitbucket_sync.models import Account
from dashboard.selectors import suggestions


class PickerInput(forms.TextInput):
    """A text box with its `<datalist>` (`<id>-options`), which htmx fills from `url` after a pause in typing.

    `url` is set by the form (it names the workspace or repository); without one the box is a plain text box. The
    request carries the box's own value under its own name, which the suggest views read.
    """

    def __init__(self, attrs=None, *, url: str = ""):
        super().__init__(attrs)
        self.url = url

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or 'id_' + name}-options"
        attrs.update({"list": list_id, "autocomplete": "off", "spellcheck": "false"})
        if self.url:
            attrs.update(
                {
                    "hx-get": self.url,
                    # Asked once on focus too, so a box about branches offers the first ones before any typing.
                    "hx-trigger": "focus once, input changed delay:200ms",
                    "hx-target": f"#{list_id}",
                    "hx-swap": "innerHTML",
                    # Set here, not inherited: a filter form pushes its URL and targets its table.
                    "hx-push-url": "false",
                    # One request at a time, then the latest text: aborting the one in flight instead would be
                    # logged by htmx as an error on every quick keystroke.
                    "hx-sync": "this:queue last",
                }
            )
        box = super().render(name, value, attrs, renderer)
        return mark_safe(f'{box}<datalist id="{escape(list_id)}"></datalist>')  # noqa: S308 - escaped above


def person_named(people: QuerySet[Account] | list[Account], text: str) -> Account | None:
    """The one person of `people` that `text` names; None for an empty text; a ValidationError otherwise."""
    text = text.strip()
    if not text:
        return None
    found = suggestions.people_named(people, text)
    if not found:
        raise forms.ValidationError(f"Nobody here is called \u201c{text}\u201d; pick a name from the list.")
    if len({p.pk for p in found}) > 1:
        names = ", ".join(sorted(suggestions.person_label(p) for p in found))
        raise forms.ValidationError(
            f"Several people are called \u201c{text}\u201d ({names}); type the nickname of the one you mean."
        )
    return found[0]


def split_names(text: str) -> list[str]:
    """Names typed in one box, separated by commas (the reviewer box without JavaScript)."""
    return [name.strip() for name in text.split(",") if name.strip()]


class WithReviewers(forms.Form):
    """The reviewers a write form names: chips holding hidden `reviewers` inputs (Bitbucket uuids), and a box that
    adds people by name. static/js/pickers.js turns a picked name into a chip; without JavaScript the names typed in
    the box (commas between them) are posted and added here.

    `people` is who may be chosen (the workspace's members but the author); `suggest_url` fills the box's list.
    """

    reviewers = forms.MultipleChoiceField(required=False, widget=forms.MultipleHiddenInput)
    add_reviewers = forms.CharField(
        label="Add reviewers",
        required=False,
        max_length=2000,
        help_text="Type part of a name, then pick the person (or type nicknames, separated by commas).",
        widget=PickerInput(attrs={"data-reviewer-box": ""}),
    )

    def __init__(self, *args, people: Iterable[Account] = (), suggest_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.reviewer_people = list(people)
        cast(forms.ChoiceField, self.fields["reviewers"]).choices = [
            (p.bitbucket_uuid, suggestions.person_label(p)) for p in self.reviewer_people
        ]
        cast(PickerInput, self.fields["add_reviewers"].widget).url = suggest_url

    def clean_add_reviewers(self) -> list[Account]:
        people, problems = [], []
        for name in split_names(self.cleaned_data.get("add_reviewers", "")):
            try:
                person = person_named(self.reviewer_people, name)
            except forms.ValidationError as error:
                problems.extend(error.messages)
                continue
            if person is not None:
                people.append(person)
        if problems:
            raise forms.ValidationError(problems)
        return people

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        chosen = list(cleaned.get("reviewers") or [])
        for person in cleaned.get("add_reviewers") or []:
            if person.bitbucket_uuid not in chosen:
                chosen.append(person.bitbucket_uuid)
        if "reviewers" in cleaned:
            cleaned["reviewers"] = chosen
        return cleaned

    def reviewer_chips(self) -> list[Account]:
        """The people shown as chips: the chosen uuids (as posted, else the initial ones) that may be chosen."""
        if self.is_bound:
            data = self.data
            uuids = data.getlist("reviewers") if hasattr(data, "getlist") else list(data.get("reviewers", []))
        else:
            uuids = list(self.initial.get("reviewers") or [])
        by_uuid = {p.bitbucket_uuid: p for p in self.reviewer_people}
        return [by_uuid[u] for u in dict.fromkeys(uuids) if u in by_uuid]


def people_url(*, workspace=None, exclude_me: bool = False) -> str:
    """The suggest URL of a box of people: a workspace's members (without the viewer: reviewers), or everyone the
    viewer sees."""
    query = {}
    if workspace is not None:
        query["workspace"] = workspace.slug
    if exclude_me:
        query["exclude"] = "me"
    return reverse("people_suggest") + (f"?{urlencode(query)}" if query else "")


def repository_url(*, workspace=None) -> str:
    """The suggest URL of a box of repositories: by slug in `workspace`, else by full name anywhere the viewer sees."""
    return reverse("repository_suggest") + (f"?{urlencode({'workspace': workspace.slug})}" if workspace else "")


def branch_url(repository) -> str:
    return reverse("branch_suggest", args=[repository.workspace.slug, repository.slug])


def suggest_branches[F: forms.Form](form: F, repository, *names: str) -> F:
    """Let the boxes `names` of `form` (PickerInputs) suggest `repository`'s branches; returns the form."""
    for name in names:
        if name in form.fields:
            cast(PickerInput, form.fields[name].widget).url = branch_url(repository)
    return form
