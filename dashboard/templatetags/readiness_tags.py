"""The reviewers list's words for each participant's review (the rule is `selectors.review_state`)."""

from django import template

from bitbucket_sync.models import Participant, PullRequest
from dashboard import selectors
from dashboard.selectors import sites

register = template.Library()


@register.filter
def review_state(participant: Participant, pull_request: PullRequest) -> selectors.ReviewState:
    """`{% with review=p|review_state:pull_request %}`: `review.key` (a class) and `review.label` (the words)."""
    return selectors.review_state(
        participant,
        source_commit=pull_request.source_commit,
        datacenter=sites.is_datacenter(pull_request.workspace),
    )
