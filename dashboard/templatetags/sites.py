"""What a page shows differently on Bitbucket Data Center (dashboard.selectors.sites decides; these only ask it).

{% load sites %}
{% if repository|can_act %}…the action bar…{% else %}{% include "components/sites.html#read-only-note" %}{% endif %}
{{ workspace|term:"changes_requested" }}   {# "needs work" on Data Center #}
{% include "components/sites.html#live-error" with error=diff_error %}
"""

from typing import Any

from django import template

from bitbucket_sync.models import Repository
from dashboard.selectors import sites
from dashboard.templatetags.links import safe_url

register = template.Library()


@register.filter
def can_act(subject: Any) -> bool:
    """May the page offer actions that write to Bitbucket for this workspace, repository or pull request?"""
    return not refusal(subject)


@register.filter
def refusal(subject: Any) -> str:
    """Why it may not ("" when it may)."""
    if isinstance(subject, Repository):
        return sites.action_refusal(None, subject)
    repository = getattr(subject, "repository", None)
    if isinstance(repository, Repository):
        return sites.action_refusal(None, repository)
    return sites.action_refusal(sites.subject_workspace(subject))


@register.filter
def term(subject: Any, word: str) -> str:
    """The word for `word` on the subject's site ("project" for "workspace" on Data Center)."""
    return sites.terms(sites.subject_workspace(subject)).get(word, word.replace("_", " "))


@register.filter
def is_datacenter(subject: Any) -> bool:
    return sites.is_datacenter(sites.subject_workspace(subject))


@register.filter
def handle(workspace: Any) -> str:
    """The workspace as breadcrumbs name it: ``PLAT`` for a Data Center project, the slug on Cloud."""
    return sites.display_handle(workspace) if workspace is not None else ""


@register.filter
def site_name(subject: Any) -> str:
    return sites.site_name(sites.subject_workspace(subject))


@register.filter
def not_yet_available(error: Any) -> bool:
    """A live read's failure that is only "Data Center cannot do this through bbdash yet" (nothing was asked)."""
    return str(error) == sites.NOT_YET_ON_DATACENTER


@register.simple_tag
def bitbucket_link(repository: Repository, kind: str, commit: str, path: str = "") -> str:
    """`{% bitbucket_link repository "source" commit path as url %}`: where that file or commit is on the
    repository's own Bitbucket, in that site's web paths; "" when the repository has no http(s) link."""
    if not safe_url(repository.html_url) or kind not in ("source", "raw", "commit"):
        return ""
    return safe_url(sites.bitbucket_url(repository, kind, commit, path))  # type: ignore[arg-type]
