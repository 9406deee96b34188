"""The site's front door: sign-in required everywhere but login and health; CSRF on every POST."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# The only views open without signing in: login, health and Bitbucket's webhook deliveries (signed instead).
PUBLIC = {"login", "health", "webhook_receive", "webhook_receive_datacenter", "favicon"}


def _named_patterns(resolver=None, prefix=""):
    """(name, route, view) for every named URL pattern outside the admin."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the admin has its own login page, checked below
            yield from _named_patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name, prefix + str(pattern.pattern), pattern.callback


def _sample_path(route: str) -> str:
    """A concrete path for a route: every converter gets a plausible value."""
    import re

    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<path:[^>]+>", "a/b", route)
    route = re.sub(r"<[^>]+>", "x", route)
    return "/" + route.lstrip("^").rstrip("$")


@pytest.mark.django_db
def test_every_page_but_login_health_and_the_icon_requires_sign_in(client):
    checked = 0
    public = set()
    for name, route, view in _named_patterns():
        if getattr(view, "login_required", True) is False:
            public.add(name)
            continue
        response = client.get(_sample_path(route))
        assert response.status_code in (302, 405), f"{name} answered {response.status_code} to an anonymous user"
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login")), name
        checked += 1
    assert public == PUBLIC
    assert checked >= 10


@pytest.mark.django_db
def test_admin_requires_staff_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_login_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


@pytest.mark.django_db
def test_health_reports_database_and_broker_to_staff(client):
    client.force_login(get_user_model().objects.create_user("root", is_staff=True))
    response = client.get(reverse("health"))
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


@pytest.mark.django_db
def test_post_without_csrf_token_is_rejected():
    user = get_user_model().objects.create_user("carol", password="pw-123456")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    # The same request with the token goes through, so the 403 above was the CSRF check.
    client.get(reverse("home"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("logout"), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302


@pytest.mark.django_db
def test_home_page_sends_csrf_header_for_htmx(client):
    user = get_user_model().objects.create_user("dave", password="pw-123456")
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-headers=\'{"X-CSRFToken"' in html
    assert "htmx" in html and "unpkg" not in html and "cdn" not in html.lower()
