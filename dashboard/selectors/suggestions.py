"""Pickers: the people, repositories and branches a type-ahead box offers (`dashboard.views.suggest`), and the one
a typed name means when a form is posted.

Every list stays inside what the viewer's credential sees: people are live members of a workspace the viewer sees
(of the one named, when a box is about one workspace), repositories are the viewer's visible ones, branches come from
a repository the view has already checked with `repository_for_user`. A form checks the posted name with the same
look-ups, so a name typed by hand is held to the same scope as a name picked from the list.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from bitbucket_sync.models import Account, Branch, Repository, Workspace, WorkspaceMembership
from dashboard.selectors.mentions import matching_people, members_of
from dashboard.selectors.visibility import visible_repositories, visible_workspaces

# A list longer than this is a sign to type more; browsers show about this many rows of a datalist anyway.
SUGGESTION_LIMIT = 20
MAX_QUERY_LENGTH = 100


def people_in_scope(user, *, workspace: Workspace | None = None, exclude: Account | None = None) -> QuerySet[Account]:
    """Live members of `workspace` (which the caller found with `workspace_for_user`), or of every workspace the user
    sees; without `exclude` (a pull request's author cannot review it)."""
    memberships = WorkspaceMembership.objects.live()
    if workspace is not None:
        memberships = memberships.filter(workspace=workspace)
    else:
        memberships = memberships.filter(workspace__in=visible_workspaces(user))
    people = members_of(memberships)
    if exclude is not None:
        people = people.exclude(pk=exclude.pk)
    return people


def people_suggestions(
    user, text: str, *, workspace: Workspace | None = None, exclude: Account | None = None
) -> list[Account]:
    """Up to SUGGESTION_LIMIT people in scope whose name or nickname contains `text`, best matches first."""
    return matching_people(people_in_scope(user, workspace=workspace, exclude=exclude), text, limit=SUGGESTION_LIMIT)


def people_named(people: QuerySet[Account] | list[Account], text: str) -> list[Account]:
    """The people among `people` that a typed `text` names: an exact account id or uuid first, else a nickname, else a
    display name (both ignoring case). Several: the text is ambiguous; none: nobody is called that."""
    text = text.strip()
    if not text:
        return []
    if isinstance(people, QuerySet):
        people = list(
            people.filter(
                Q(account_id=text) | Q(bitbucket_uuid=text) | Q(nickname__iexact=text) | Q(display_name__iexact=text)
            )[:50]
        )
    folded = text.casefold()
    for matches in (
        [p for p in people if text in (p.account_id, p.bitbucket_uuid)],
        [p for p in people if p.nickname and p.nickname.casefold() == folded],
        [p for p in people if p.display_name and p.display_name.casefold() == folded],
    ):
        if matches:
            return matches
    return []


def person_label(person: Account) -> str:
    """What a picker shows, and what a person is typed as: the nickname (the short, unique-looking handle), else the
    display name."""
    return person.nickname or person.display_name or person.account_id


def repository_suggestions(user, text: str, *, workspace: Workspace | None = None) -> list[Repository]:
    """Up to SUGGESTION_LIMIT repositories the user sees (in `workspace`, or anywhere) whose slug or name contains
    `text`: those starting with it first, then by full name."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    if not text:
        return []
    starts = Q(slug__istartswith=text) | Q(name__istartswith=text)
    return list(
        visible_repositories(user, workspace=workspace)
        .filter(Q(slug__icontains=text) | Q(name__icontains=text) | Q(full_name__icontains=text))
        .annotate(rank=Case(When(starts, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .select_related("workspace")
        .order_by("rank", "full_name", "pk")[:SUGGESTION_LIMIT]
    )


def branch_suggestions(repository: Repository, text: str) -> list[str]:
    """Up to SUGGESTION_LIMIT live branch names of `repository` containing `text`: the main branch first when it
    matches, then names starting with `text`, then the rest, alphabetically. An empty text offers the first ones."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    rows = Branch.objects.live().filter(repository=repository)
    if text:
        rows = rows.filter(name__icontains=text)
    rank = Case(
        When(name=repository.main_branch, then=Value(0)),
        When(name__istartswith=text, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(rows.annotate(rank=rank).order_by("rank", "name").values_list("name", flat=True)[:SUGGESTION_LIMIT])


def branch_exists(repository: Repository, name: str) -> bool:
    return Branch.objects.live().filter(repository=repository, name=name).exists()
