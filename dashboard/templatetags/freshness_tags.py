"""`{% freshness_banner %}`: the banner saying a page's data is stale, since when and why (base.html renders it).

Every page inside a workspace has the workspace in its context as ``workspace`` (views fetch it with
``selectors.workspace_for_user``, which 404s unless the viewer sees it), so base.html shows the banner for it
without each view asking; a view that already computed ``freshness`` for the same workspace (its list pages show
"Synced 3 minutes ago") is reused, and no query is made again. Pages across workspaces name them:
``{% freshness_banner workspaces=workspaces %}`` for a list the view already scoped to the viewer, or
``{% freshness_banner everywhere=True %}`` for every workspace the viewer sees.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string

from bitbucket_sync.models import Workspace
from dashboard import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def freshness_banner(context: template.Context, workspaces: Any = None, everywhere: bool = False) -> str:
    if workspaces is not None or everywhere:
        user = getattr(context.get("request"), "user", None)
        if workspaces is None:
            if user is None or not user.is_authenticated:
                return ""
            workspaces = selectors.visible_workspaces(user)
        stale = selectors.stale_workspaces(workspaces)
        if not stale:
            return ""
        error = any(state.error for state in stale)
        return render_to_string("_freshness.html#stale-list", {"stale": stale, "error": error})
    workspace = context.get("workspace")
    if not isinstance(workspace, Workspace):
        return ""
    state = context.get("freshness")
    if not isinstance(state, selectors.Freshness) or state.workspace.pk != workspace.pk:
        state = selectors.freshness(workspace)
    if not state.stale:
        return ""
    return render_to_string("_freshness.html#stale-banner", {"freshness": state})
