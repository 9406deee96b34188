"""Pages show relative times as <time datetime="UTC"> with a tooltip in the viewer's zone (the `tz` cookie)."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from tests import factories as f


@pytest.mark.django_db
def test_page_time_carries_utc_datetime_and_title_in_cookie_zone(client):
    user = f.user("tzreader", is_staff=True)
    f.credential(user, last_used_at=datetime(2026, 7, 1, 9, 30, tzinfo=UTC))
    client.force_login(user)
    client.cookies["tz"] = "Asia/Tokyo"
    text = client.get(reverse("credential_list")).content.decode()
    assert re.search(
        r'<time datetime="2026-07-01T09:30:00Z" title="2026-07-01 18:30 JST" data-relative="ago">[^<]+ ago</time>', text
    )
