"""Content-Security-Policy: every page forbids inline and eval'd script, and gives the policy no reason to bend.

No template carries inline script, event-handler attributes, hx-on or style attributes; behaviour lives in static/js/
and is served under content-hashed names from collectstatic's manifest, as in production.
"""

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage

from tests.fixtures.browser import watch_for_problems

TEMPLATES = Path(settings.BASE_DIR) / "templates"
EXPECTED_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "https:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def _expected_policy() -> dict[str, set[str]]:
    """The policy, with the plain-http API's own origin among the image sources (the emulator's avatars)."""
    api = urlsplit(settings.BITBUCKET_API_URL)
    extra = {f"http://{api.netloc}"} if api.scheme == "http" else set()
    return {**EXPECTED_POLICY, "img-src": EXPECTED_POLICY["img-src"] | extra}


def _policy(response) -> dict[str, set[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: set(values) for name, *values in directives}


# htmx evaluates these as JavaScript when their value starts with js: or javascript:.
EVALUATED_ATTRIBUTES = ("hx-vals", "hx-vars", "hx-headers")


class _InlineCode(HTMLParser):
    """What a strict policy would refuse in a rendered page: inline scripts, handlers, style attributes and tags."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            # JSON data islands are not run; anything else without src is inline code.
            self._script_without_src = "src" not in values and values.get("type") != "application/json"
        if tag == "style":
            self.found.append("<style>")
        for name, value in values.items():
            evaluated = name in EVALUATED_ATTRIBUTES and value.lstrip().startswith(("js:", "javascript:"))
            if name.startswith(("on", "hx-on")) or name == "style" or evaluated:
                self.found.append(f"{tag} {name}=")

    def handle_data(self, data):
        if self._script_without_src and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_without_src = False


def _inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def alice(client, act_world):
    client.force_login(act_world.users["alice"])
    return client


def _main_pages(act_world) -> list[str]:
    pr = act_world.open_pr("api-server")
    account_id = act_world.users["alice"].bitbucket_credentials.get().account.account_id
    base = "/acme/api-server"
    return [
        "/",
        "/acme/",
        "/acme/pull-requests/",
        "/acme/members/",
        f"{base}/",
        f"{base}/branches/",
        f"{base}/watchers/",
        f"{base}/pull-requests/",
        f"{base}/pull-requests/{pr.number}",
        f"{base}/pull-requests/{pr.number}/diff",
        f"{base}/src/main/",
        f"{base}/src/main/README.md",
        f"{base}/branches/new",
        f"{base}/edit?branch=main&path=README.md",
        f"{base}/pull-requests/new",
        f"{base}/pull-requests/{pr.number}/edit",
        f"{base}/pull-requests/{pr.number}/merge",
        f"{base}/pull-requests/{pr.number}/decline",
        f"/-/people/{account_id}/",
        "/-/sync/",
        "/-/sync/webhooks/",
        "/-/audit/",
        "/-/credentials/",
        "/-/me/",
        "/admin/",
    ]


def test_pages_answer_strict_csp_without_inline_code(alice, act_world):
    for path in _main_pages(act_world):
        response = alice.get(path)
        assert response.status_code == 200, path
        policy = _policy(response)
        assert policy == _expected_policy(), path
        assert not {"'unsafe-inline'", "'unsafe-eval'"} & set().union(*policy.values()), path
        assert _inline_code(response.content.decode()) == [], path


def test_fragments_errors_and_login_answer_csp(alice, act_world, client):
    fragment = alice.get("/acme/pull-requests/", HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode()
    assert _policy(fragment) == _expected_policy()
    missing = alice.get("/acme/no-such-repository/")
    assert missing.status_code == 404 and _policy(missing) == _expected_policy()
    client.logout()
    login = client.get("/accounts/login/")
    assert login.status_code == 200 and _policy(login) == _expected_policy()
    assert _inline_code(login.content.decode()) == []


def test_templates_have_no_inline_script_handlers_or_style():
    forbidden = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>"  # a script without src is inline code
        r"|<style\b"
        r"|\shx-on[:-]"
        r"|\son[a-z]+\s*="  # onclick=, onload=, ...
        r"|\sstyle\s*="
        r"|\b(hx-vals|hx-vars|hx-headers)\s*=\s*[\"']\s*(js|javascript):",
        re.IGNORECASE,
    )
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()[:100]}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if forbidden.search(re.sub(r"\{#.*?#\}", "", line))  # a template comment is not markup
    ]
    assert offenders == []


def test_base_page_keeps_htmx_from_eval_and_injected_style(alice):
    html = alice.get("/").content.decode()
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert meta, "base.html sets htmx's config"
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["allowScriptTags"] is False
    # Settling copies an old element's `style` attribute onto its swapped-in twin: an inline style the CSP refuses.
    assert "style" not in config["attributesToSettle"]


def test_static_names_come_from_the_manifest_and_are_served(alice):
    html = alice.get("/").content.decode()
    for name in ("css/bbdash.css", "js/filter-forms.js", "django_htmx/htmx-2.min.js"):
        hashed = staticfiles_storage.url(name)
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", hashed), hashed
        assert f'"{hashed}"' in html, name
        served = alice.get(hashed)  # WhiteNoise, from the collected files, as in production
        assert served.status_code == 200, hashed
        assert "immutable" in served.headers["Cache-Control"]
        b"".join(served.streaming_content)
        served.close()


def test_favicon_ico_leads_to_the_hashed_icon_without_sign_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == staticfiles_storage.url("favicon.svg")
    assert re.search(r"/favicon\.[0-9a-f]{12}\.svg$", response["Location"])


def _settings_read_in_a_fresh_process(expression: str, tmp_path: Path, **environ: str):
    """The value of `expression` (over `s`, the settings) as a site started with `environ` would see it."""
    code = f"import json, django; django.setup(); from django.conf import settings as s;print(json.dumps({expression}))"
    env = {"PATH": "/usr/bin:/bin", "BBDASH_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env | environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(("debug", "finders"), [("0", False), ("1", True)])
def test_settings_serve_source_folders_only_in_debug(debug, finders, tmp_path):
    read = "[s.WHITENOISE_USE_FINDERS, s.STORAGES['staticfiles']['BACKEND'], str(s.STATIC_ROOT)]"
    collected = str(tmp_path / "collected")
    assert _settings_read_in_a_fresh_process(read, tmp_path, DJANGO_DEBUG=debug, BBDASH_STATIC_ROOT=collected) == [
        finders,
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
        collected,
    ]


@pytest.mark.parametrize(
    ("api_url", "img_src"),
    [
        ("https://api.bitbucket.org/2.0", ["'self'", "https:"]),
        # The demo's emulator serves avatars over plain http from its own host; no other http host is allowed.
        ("http://127.0.0.1:7990/2.0", ["'self'", "https:", "http://127.0.0.1:7990"]),
    ],
)
def test_settings_allow_plain_http_images_only_from_the_api_host(api_url, img_src, tmp_path):
    read = "s.SECURE_CSP['img-src']"
    assert _settings_read_in_a_fresh_process(read, tmp_path, BITBUCKET_API_URL=api_url) == img_src


INJECT_INLINE_CODE = """() => {
  const script = document.createElement("script");
  script.textContent = "window.inlineRan = true";
  document.body.append(script);
  document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: rgb(255, 0, 0)">styled</p>');
}"""


@pytest.mark.browser
def test_browser_refuses_inline_script_and_style_and_reports_it(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    problems = watch_for_problems(context, page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(INJECT_INLINE_CODE)  # as markup slipped into a page would
    page.wait_for_timeout(100)
    assert page.evaluate("() => window.inlineRan") is None
    assert page.evaluate("() => getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    # The browser tests' page fixture fails a test on these reports.
    assert any(problem.startswith("CSP script-src") for problem in problems), problems
    assert any(problem.startswith("CSP style-src") for problem in problems), problems
    context.close()
