"""The refused-credential banner: every page tells a signed-in person whose Bitbucket credential (of any site)
Bitbucket refused (``bitbucket_sync.credentials.health``) since when and why, and where to go about it.

The context processor hands templates a lazy value: the one query (the viewer's own active credentials that are
refused) runs only when ``base.html`` renders the banner, and once per request however often it is read. Only the
viewer's own credentials are ever looked at.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from bitbucket_sync import sites
from bitbucket_sync.credentials.health import REFUSED
from bitbucket_sync.models import Credential


def refused_credentials(user) -> list[Credential]:
    """``user``'s active credentials Bitbucket refused, newest refusal first (one query; none for anonymous)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    refused = list(
        Credential.objects.active_for(user).filter(status__in=REFUSED).order_by("-last_checked_at", "api_url")
    )
    for credential in refused:
        credential.site_name = site_name(credential.api_url)  # type: ignore[attr-defined]
    return refused


def site_name(api_url: str) -> str:
    """ "Bitbucket Cloud", or a Data Center site's host (and context path)."""
    if sites.site_kind(api_url) == "cloud":
        return "Bitbucket Cloud"
    return urlsplit(sites.normalise_api_url(api_url)).netloc or api_url


def context(request: HttpRequest) -> dict:
    """Template context processor: ``refused_credentials`` (lazy) and whether the viewer may replace their own."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"refused_credentials": ()}
    return {
        # SimpleLazyObject over a list: evaluated once, on first use, then kept for the request.
        "refused_credentials": SimpleLazyObject(lambda: refused_credentials(user)),
        "may_replace_own_credential": bool(settings.BBDASH_CREDENTIAL_SELF_SERVICE or user.is_staff),
    }
