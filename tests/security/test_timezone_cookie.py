"""The `tz` cookie is input from the client: only a known IANA zone name is activated; anything else is ignored and
the page renders in the site's TIME_ZONE (no error, no path or code reaching zoneinfo)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories as f

HOSTILE = ["../../../../etc/localtime", "/etc/passwd", "Nowhere/Else", "<script>alert(1)</script>", "x" * 5000, ""]


@pytest.mark.django_db
@pytest.mark.parametrize("cookie", HOSTILE)
def test_invalid_tz_cookie_is_ignored(client, settings, cookie):
    settings.TIME_ZONE = "UTC"
    user = f.user("tzvisitor", is_staff=True)
    f.credential(user, last_used_at=timezone.now() - timedelta(hours=2))
    client.force_login(user)
    client.cookies["tz"] = cookie
    response = client.get(reverse("credential_list"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'title="' in text and ' UTC" data-relative=' in text
    assert "<script>alert(1)" not in text
