"""Content-Security-Policy and the static files it allows.

Static files are served under content-hashed names from collectstatic's manifest, as in production.
"""

import json
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage


@pytest.fixture
def alice(client, act_world):
    client.force_login(act_world.users["alice"])
    return client


def test_static_names_come_from_the_manifest_and_are_served(alice):
    html = alice.get("/").content.decode()
    for name in ("css/bbdash.css", "django_htmx/htmx-2.min.js"):
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
