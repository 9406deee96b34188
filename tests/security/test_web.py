"""The web front door: links from Bitbucket data, login throttling, the HTTPS switch, staff-only pages, health."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.html import escape

from dashboard import login_throttle
from dashboard.templatetags.links import safe_url
from dashboard.views import health
from tests import factories as f
from tests.fixtures.browser import BROWSER_ONLY_ENV

# Values a hostile or broken payload could put where a URL belongs; none may reach an href or a src.
HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "/relative/path",
    "//evil.example/x",
    "https:evil.example",
    "http:\\\\evil.example",
    "https://",
]


# -- links from Bitbucket data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_URLS)
def test_safe_url_refuses_anything_but_absolute_http(value):
    assert safe_url(value) == ""


@pytest.mark.parametrize(
    "value", ["https://bitbucket.org/acme/", "http://bitbucket.internal:7990/acme", "HTTPS://Bitbucket.org/a"]
)
def test_safe_url_keeps_absolute_http_urls(value):
    assert safe_url(value) == value


def test_safe_url_refuses_non_strings():
    assert safe_url(None) == ""
    assert safe_url(42) == ""


def test_templates_pass_every_bitbucket_url_through_safe_url():
    """A URL field of a mirror row is only ever used through the filter (a new template cannot forget it)."""
    unfiltered = []
    for template in Path(django_settings.BASE_DIR, "templates").rglob("*.html"):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            for match in re.finditer(r"\.(html_url|avatar_url)\b(?!\|safe_url)", line):
                unfiltered.append(f"{template.name}:{number}: {match.group(0)}")
    assert unfiltered == []


@pytest.fixture
def hostile_mirror(db, settings):
    """A mirror whose every Bitbucket URL is set per test, and a member who may see all of it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    viewer = f.user("viewer")
    ws = f.workspace("acme")
    repo = f.repository(ws, "api")
    person = f.account("Olga Other")
    f.member(ws, person)
    f.watcher(repo, person)
    pr = f.pull_request(repo, number=1, author=person)
    f.grant(viewer, repo)
    return {"viewer": viewer, "ws": ws, "repo": repo, "person": person, "pr": pr}


def _set_every_url(mirror, value: str) -> None:
    for row in (mirror["ws"], mirror["repo"], mirror["pr"]):
        row.html_url = value
        row.save(update_fields=["html_url"])
    mirror["person"].avatar_url = value
    mirror["person"].save(update_fields=["avatar_url"])


def _pages(mirror) -> list[str]:
    return [
        "/acme/",
        "/acme/api/",
        "/acme/api/pull-requests/1",
        "/acme/members/",
        "/acme/api/watchers/",
        f"/-/people/{mirror['person'].account_id}/",
    ]


@pytest.mark.parametrize("value", HOSTILE_URLS)
def test_pages_render_no_link_from_a_hostile_bitbucket_url(client, hostile_mirror, value):
    _set_every_url(hostile_mirror, value)
    client.force_login(hostile_mirror["viewer"])
    for page in _pages(hostile_mirror):
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "Open in Bitbucket" not in html, page
        assert 'class="avatar' not in html, page
        for attribute in ("href", "src"):
            assert f'{attribute}="{escape(value)}' not in html, page
            assert f'{attribute}="{value}' not in html, page


def test_pages_keep_https_links_from_bitbucket(client, hostile_mirror):
    _set_every_url(hostile_mirror, "https://bitbucket.org/acme/thing")
    client.force_login(hostile_mirror["viewer"])
    for page in _pages(hostile_mirror):
        html = client.get(page).content.decode()
        assert 'href="https://bitbucket.org/acme/thing"' in html or 'src="https://bitbucket.org/acme/thing"' in html


def test_source_page_renders_no_link_from_a_hostile_repository_url(client, demo_mirror):
    repo = demo_mirror.repositories["api-server"]
    repo.html_url = "javascript:alert(1)//"
    repo.save(update_fields=["html_url"])
    client.force_login(demo_mirror.users["alice"])
    response = client.get("/acme/api-server/src/main/src/api_server/settings.py")
    assert response.status_code == 200
    html = response.content.decode()
    assert "PAGE_SIZE" in html
    assert "javascript:" not in html and "View in Bitbucket" not in html


# -- staff-only pages ---------------------------------------------------------------------------------------------

STAFF_PAGES = {
    "credential_list",
    "credential_user",
    "credential_check",
    "credential_revoke",
    "workspace_sync_credential",
    "webhook_delivery_list",
    "webhook_subscription_toggle",
}


def _marked_staff_only(resolver=None) -> set[str]:
    found = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                found |= _marked_staff_only(pattern)
        elif isinstance(pattern, URLPattern) and getattr(pattern.callback, "staff_only", False):
            found.add(pattern.name)
    return found


def test_staff_pages_all_carry_the_one_guard():
    assert _marked_staff_only() == STAFF_PAGES


@pytest.fixture
def staff_world(db, settings, browse_encryption_key):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ws = f.workspace("acme")
    repo = f.repository(ws, "api")
    staff = f.user("alice", is_staff=True)
    member = f.user("bob")
    f.grant(staff, repo)
    f.grant(member, repo)
    credential = f.credential(member, secret="bob-secret-token")
    urls = [
        reverse("credential_list"),
        reverse("credential_user", args=[member.pk]),
        reverse("credential_check", args=[credential.pk]),
        reverse("credential_revoke", args=[credential.pk]),
        reverse("workspace_sync_credential", args=[ws.pk]),
        reverse("webhook_delivery_list"),
        reverse("webhook_subscription_toggle", args=["acme"]),
    ]
    return {"staff": staff, "member": member, "credential": credential, "urls": urls}


@pytest.mark.parametrize("htmx", [False, True])
def test_staff_pages_answer_404_to_members(client, staff_world, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client.force_login(staff_world["member"])
    for url in staff_world["urls"]:
        assert client.get(url, **headers).status_code == 404, url
        assert client.post(url, {"enabled": "1"}, **headers).status_code == 404, url
    staff_world["credential"].refresh_from_db()
    assert staff_world["credential"].is_active  # the refused revoke did nothing


def test_staff_pages_open_to_staff(client, staff_world):
    client.force_login(staff_world["staff"])
    for url in staff_world["urls"]:
        # The guard let staff through: pages answer, POST-only actions refuse the GET method itself.
        assert client.get(url).status_code in (200, 405), url


def test_admin_answers_404_to_signed_in_members(client, staff_world):
    client.force_login(staff_world["member"])
    for url in ("/admin/", "/admin/bitbucket_sync/credential/", "/admin/auth/user/", "/admin/nothing-here/"):
        assert client.get(url).status_code == 404, url


def test_admin_still_asks_anonymous_visitors_to_sign_in_and_opens_to_staff(client, staff_world):
    response = client.get("/admin/bitbucket_sync/credential/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    staff_world["staff"].is_superuser = True
    staff_world["staff"].save()
    client.force_login(staff_world["staff"])
    assert client.get("/admin/bitbucket_sync/credential/").status_code == 200


# -- health -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_shows_only_the_verdict_to_anonymous(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_shows_only_the_verdict_to_members(client, staff_world):
    client.force_login(staff_world["member"])
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_shows_details_to_staff(client, staff_world):
    client.force_login(staff_world["staff"])
    body = client.get(reverse("health")).json()
    assert body["status"] == "ok" and body["database"]["ok"] is True and body["broker"]["ok"] is True


@pytest.mark.django_db
def test_health_unavailable_reveals_no_detail_to_anonymous(client, monkeypatch):
    monkeypatch.setattr(health, "_check_broker", lambda: {"ok": False, "transport": "redis", "error": "OSError"})
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


# -- the HTTPS production switch ----------------------------------------------------------------------------------


def _run_site(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run manage.py or Python with a fresh import of the settings under `env` (settings are read once, at import)."""
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' switch (tests/fixtures/browser.py), not the site's.
    switches = {"BBDASH_HTTPS", "BBDASH_SECURE_COOKIES", "DJANGO_DEBUG", BROWSER_ONLY_ENV}
    environ = {k: v for k, v in os.environ.items() if k not in switches}
    return subprocess.run(
        [sys.executable, *args],
        env=environ | {"DJANGO_SETTINGS_MODULE": "dashboard.settings"} | env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_https_switch_makes_check_deploy_silent():
    result = _run_site(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], BBDASH_HTTPS="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout and "WARNINGS" not in result.stderr + result.stdout


_PROBE = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
plain = client.get("/accounts/login/")
tls = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
print(json.dumps({
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "tls_status": tls.status_code,
    "hsts": tls.get("Strict-Transport-Security", ""),
    "health_redirected": client.get("/-/health").status_code == 301,
}))
"""


def test_https_switch_redirects_to_tls_and_sends_hsts():
    result = _run_site(["-c", _PROBE], BBDASH_HTTPS="1")
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["session_secure"] and probe["csrf_secure"]
    assert probe["plain_status"] == 301 and probe["plain_location"] == "https://testserver/accounts/login/"
    assert probe["tls_status"] == 200
    assert probe["hsts"] == "max-age=31536000; includeSubDomains"
    assert not probe["health_redirected"]


def test_old_secure_cookies_switch_still_secures_cookies_only():
    result = _run_site(["-c", _PROBE], BBDASH_SECURE_COOKIES="1")
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["session_secure"] and probe["csrf_secure"]
    assert probe["plain_status"] == 200 and probe["hsts"] == ""


# -- sign-in throttling -------------------------------------------------------------------------------------------

RIGHT = "right-password-1"


@pytest.fixture
def sign_in(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing; not under test
    counters = caches[login_throttle.CACHE_ALIAS]
    counters.clear()
    f.user("alice", password=RIGHT)
    f.user("root", password=RIGHT, is_staff=True, is_superuser=True)
    yield
    counters.clear()


def _post_login(client, username: str, password: str, *, address: str = "203.0.113.10", url: str = "/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_login_refuses_the_right_password_after_30_failures_from_one_address(client, sign_in):
    for _ in range(30):
        response = _post_login(client, "alice", "wrong")
        assert response.status_code == 200 and "correct username and password" in response.content.decode()
    response = _post_login(client, "alice", RIGHT)
    html = response.content.decode()
    assert response.status_code == 200 and not _signed_in(client)
    assert "Too many failed sign-in attempts" in html and "15 minutes" in html
    assert 'value="alice"' in html  # the form comes back with its input
    # Someone else's address is not paused for alice, and another username from the same address is not either.
    assert _post_login(Client(), "alice", RIGHT, address="198.51.100.20").status_code == 302
    f.user("bob", password=RIGHT)
    assert _post_login(Client(), "bob", RIGHT).status_code == 302


def test_admin_login_refuses_the_right_password_after_30_failures(client, sign_in):
    for _ in range(30):
        assert _post_login(client, "root", "wrong", url="/admin/login/").status_code == 200
    response = _post_login(client, "root", RIGHT, url="/admin/login/")
    assert response.status_code == 200 and not _signed_in(client)
    assert "Too many failed sign-in attempts" in response.content.decode()
    # The two login pages share the counter: the dashboard's is paused for root as well.
    assert "Too many failed sign-in attempts" in _post_login(client, "root", RIGHT).content.decode()


def test_login_counts_usernames_case_blind(client, sign_in, settings):
    settings.BBDASH_LOGIN_FAILURE_LIMIT = 4
    for spelling in ("alice", "Alice", "ALICE", "aLiCe"):
        _post_login(client, spelling, "wrong")
    response = _post_login(client, "alice", RIGHT)
    assert response.status_code == 200 and not _signed_in(client)
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_login_pauses_an_address_that_tries_many_usernames(client, sign_in, settings):
    settings.BBDASH_LOGIN_ADDRESS_FAILURE_LIMIT = 5
    for n in range(5):
        _post_login(client, f"nobody{n}", "wrong")
    response = _post_login(client, "alice", RIGHT)
    assert response.status_code == 200 and "Too many failed sign-in attempts" in response.content.decode()
    assert _post_login(client, "alice", RIGHT, address="198.51.100.20").status_code == 302


def test_login_pauses_a_username_guessed_from_many_addresses(client, sign_in, settings):
    settings.BBDASH_LOGIN_USERNAME_FAILURE_LIMIT = 5
    for n in range(5):
        _post_login(client, "alice", "wrong", address=f"198.51.100.{n + 1}")
    response = _post_login(client, "alice", RIGHT, address="192.0.2.99")
    assert response.status_code == 200 and "Too many failed sign-in attempts" in response.content.decode()


def test_login_pause_ends_after_the_cool_down(client, sign_in, settings, monkeypatch):
    settings.BBDASH_LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        _post_login(client, "alice", "wrong")
    assert _post_login(client, "alice", RIGHT).status_code == 200
    later = time.time() + 15 * 60 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert _post_login(client, "alice", RIGHT).status_code == 302


def test_login_success_forgets_the_persons_own_failures(client, sign_in, settings):
    settings.BBDASH_LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        _post_login(client, "alice", "wrong")
    assert _post_login(client, "alice", RIGHT).status_code == 302
    client.logout()
    for _ in range(2):
        _post_login(client, "alice", "wrong")
    assert _post_login(client, "alice", RIGHT).status_code == 302


def test_client_address_ignores_forwarded_for_without_trusted_proxies(rf, settings):
    settings.BBDASH_TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert login_throttle.client_address(request) == "10.0.0.2"


def test_client_address_takes_the_entry_the_trusted_proxy_added(rf, settings):
    settings.BBDASH_TRUSTED_PROXY_COUNT = 1
    spoofed = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.7")
    assert login_throttle.client_address(spoofed) == "198.51.100.7"
    garbage = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert login_throttle.client_address(garbage) == "10.0.0.2"
