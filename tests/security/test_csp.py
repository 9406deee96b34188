"""Content-Security-Policy and the static files it allows.

No template carries inline script, event-handler attributes, hx-on or style attributes; behaviour lives in static/js/
and is served under content-hashed names from collectstatic's manifest, as in production.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage

TEMPLATES = Path(settings.BASE_DIR) / "templates"


@pytest.fixture
def alice(client, act_world):
    client.force_login(act_world.users["alice"])
    return client


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


READ_STATIC_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s;"
    "print(json.dumps([s.WHITENOISE_USE_FINDERS, s.STORAGES['staticfiles']['BACKEND'], str(s.STATIC_ROOT)]))"
)


@pytest.mark.parametrize(("debug", "finders"), [("0", False), ("1", True)])
def test_settings_serve_source_folders_only_in_debug(debug, finders, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "BBDASH_VAR_DIR": str(tmp_path),
        "BBDASH_STATIC_ROOT": str(tmp_path / "collected"),
        "DJANGO_DEBUG": debug,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", READ_STATIC_SETTINGS],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout) == [
        finders,
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
        str(tmp_path / "collected"),
    ]
