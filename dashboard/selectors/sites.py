"""Which Bitbucket a workspace lives on, and what that changes on its pages: whether bbdash may act there, the words
the pages use, and how its handle reads.

A Data Center project plays the part of a workspace (``bitbucket_sync.sites``). bbdash reads Data Center but does not
write to it yet, so every form or button that would act on Bitbucket asks `action_refusal` (or the `can_act` template
filter, which asks it) and shows `refusal` where it would have been; a write URL answers the same refusal. An
archived repository is read-only on every site.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlencode

from bitbucket_sync import sites
from bitbucket_sync.browse import NOT_YET_ON_DATACENTER
from bitbucket_sync.client import BitbucketClient, Unsupported
from bitbucket_sync.client.datacenter.unsupported import NotYetOnDataCenter
from bitbucket_sync.models import Repository, Workspace

type Site = Literal["cloud", "datacenter"]

DATACENTER_READ_ONLY = (
    "Bitbucket Data Center: acting from bbdash (merging, reviewing, commenting, editing) is not available yet; "
    "open it in Bitbucket to act."
)
ARCHIVED = "This repository is archived: it is read-only."

# The words a page uses for what each Bitbucket calls differently (reference: "Concepts map" in the design).
TERMS: dict[Site, dict[str, str]] = {
    "cloud": {"workspace": "workspace", "workspaces": "workspaces", "changes_requested": "changes requested"},
    "datacenter": {"workspace": "project", "workspaces": "projects", "changes_requested": "needs work"},
}

__all__ = ["ARCHIVED", "DATACENTER_READ_ONLY", "NOT_YET_ON_DATACENTER", "TERMS"]


def site_of(workspace: Workspace | None) -> Site:
    """The kind of Bitbucket the workspace was synced from (Cloud when it has not been synced yet)."""
    if workspace is None or not workspace.api_url:
        return "cloud"
    return sites.site_kind(workspace.api_url)


def is_datacenter(workspace: Workspace | None) -> bool:
    return site_of(workspace) == "datacenter"


def action_refusal(workspace: Workspace | None, repository: Repository | None = None) -> str:
    """Why nothing may be written to Bitbucket here ("" when acting is allowed): the one decision every action
    button, form and write URL follows. ``repository`` needs its ``workspace`` when ``workspace`` is not given."""
    if workspace is None and repository is not None:
        workspace = repository.workspace
    if is_datacenter(workspace):
        return DATACENTER_READ_ONLY
    if repository is not None and repository.archived:
        return ARCHIVED
    return ""


def require_reads(client: BitbucketClient, *methods: str) -> None:
    """Raise `Unsupported` when the client can make one of these reads only through a stand-in that refuses it
    (``NotYetOnDataCenter``): called before a read that needs a request first (a branch's tip), so a page that
    cannot be shown costs no request. Inside ``browse.live_reader`` it becomes the page's "not available yet"."""
    for name in methods:
        stand_in = NotYetOnDataCenter.__dict__.get(name)
        if stand_in is not None and getattr(type(client), name, None) is stand_in:
            raise Unsupported(f"Bitbucket Data Center: bbdash cannot read this there yet ({name}).")


def bitbucket_url(repository: Repository, kind: Literal["source", "raw", "commit"], commit: str, path: str = "") -> str:
    """A link to a file, a raw file or a commit on the repository's own Bitbucket, from its ``html_url`` (already
    checked http(s) by the caller's ``safe_url``): Cloud's ``/src/<commit>/<path>``, ``/raw/...``, ``/commits/<hash>``
    or Data Center's ``/browse/<path>?at=<commit>``, ``/raw/<path>?at=...``, ``/commits/<hash>``."""
    base = repository.html_url.rstrip("/")
    quoted = quote(path, safe="/")
    if not is_datacenter(repository.workspace):
        return {"source": f"{base}/src/{commit}/{quoted}", "raw": f"{base}/raw/{commit}/{quoted}"}.get(
            kind, f"{base}/commits/{commit}"
        )
    base = base.removesuffix("/browse")  # Data Center's repository link is its browse page
    at = urlencode({"at": commit})
    return {"source": f"{base}/browse/{quoted}?{at}", "raw": f"{base}/raw/{quoted}?{at}"}.get(
        kind, f"{base}/commits/{commit}"
    )


def terms(workspace: Workspace | None) -> dict[str, str]:
    return TERMS[site_of(workspace)]


def display_handle(workspace: Workspace) -> str:
    """How a workspace is named in breadcrumbs and titles: a Cloud slug as it is, a Data Center project by its key
    (``PLAT``); `site_name` tells which server."""
    return workspace.key or workspace.slug if is_datacenter(workspace) else workspace.slug


def site_name(workspace: Workspace | None) -> str:
    """A Data Center project's server, as its label reads (``git.example.com``, ``127.0.0.1:7990/bitbucket``); ""
    on Cloud."""
    if workspace is None or not is_datacenter(workspace):
        return ""
    return sites.site_label(workspace.api_url).replace("~", "/")


def subject_workspace(subject: Any) -> Workspace | None:
    """The workspace of a workspace, repository or pull request (templates pass whichever they hold)."""
    if isinstance(subject, Workspace):
        return subject
    return getattr(subject, "workspace", None)
