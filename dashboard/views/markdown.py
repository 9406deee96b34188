"""Markdown preview: what a comment or description box's text will look like once posted
(`POST /-/markdown/<ws>/preview`, read by static/js/markdown-preview.js for its Preview tab).

The text goes through the very renderer the pages use (`rendering.markdown`, sanitised by nh3), and its mentions are
named from the same place a comment's are: the live members of the workspace in the URL, which the viewer must be
able to see. So a preview shows nothing a posted comment in that workspace would not.
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from bitbucket_sync import drafts
from dashboard import rendering, selectors
from dashboard.selectors import mentions
from dashboard.views.htmx import HtmxHttpRequest

# The longest text a comment box keeps (its autosaved draft); descriptions have no bound of their own. Bounds the
# work one request can ask of the renderer.
MAX_CHARS = drafts.MAX_CHARS


@require_POST
@never_cache
def markdown_preview(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    text = request.POST.get("text", "")
    if len(text) > MAX_CHARS:
        context = {"too_long": len(text), "max_chars": MAX_CHARS}
        return render(request, "components/markdown.html#preview", context, status=400)
    html = rendering.markdown(text, mentions.mention_names(workspace, [text])) if text.strip() else ""
    return render(request, "components/markdown.html#preview", {"html": html})
