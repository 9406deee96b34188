"""Tags the action buttons need inside other areas' pages: a fresh idempotency key per rendered form, and the
viewer's own review state on a pull request."""

from django import template

from bitbucket_sync.actions.receipts import new_key
from bitbucket_sync.models import Participant
from dashboard import selectors

register = template.Library()


@register.simple_tag
def action_key() -> str:
    """A new idempotency key for one action form (the view claims it, so a double submit acts once)."""
    return new_key()


@register.simple_tag(takes_context=True)
def viewer_account(context):
    """The signed-in user's Bitbucket account on the page's workspace's site (None until their credential for it was
    checked)."""
    request = context.get("request")
    workspace = context.get("workspace")
    if request is None or workspace is None:
        return None
    return selectors.account_for_user(request.user, workspace=workspace)


@register.simple_tag(takes_context=True)
def my_review(context, pull_request) -> Participant | None:
    """The viewer's participant row on ``pull_request`` (approved / changes requested), or None."""
    request = context.get("request")
    if request is None:
        return None
    me = selectors.account_for_user(request.user, workspace=pull_request.workspace)
    if me is None:
        return None
    people = getattr(pull_request, "people", None)
    if people is not None:
        return next((p for p in people if p.account_id == me.pk), None)
    return Participant.objects.filter(pull_request=pull_request, account=me).first()
