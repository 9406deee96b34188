"""Rendered Markdown never makes the viewer's browser request this site.

The hole: `![x](/acme/api-server/src/main/..%2f..%2f...)` in a pull request description made everyone who opened the
pull request load that URL with their own session (filling the live-read caches, or worse). Images with a relative or
same-origin `src` become links; images from other sites stay.
"""

import pytest

from bitbucket_sync.models import PullRequest
from dashboard import rendering

LOCAL = [
    "/acme/api-server/src/main/..%2f..%2f..%2f..%2falice-labs%2fexperiments%2fsrc%2fmain%2fREADME.md",
    "../edit?path=README.md",
    "logo.png",
    "https:/acme/api-server/",
    "//localhost/acme/",
    "http://127.0.0.1:8000/acme/",
    "HTTPS://LOCALHOST/acme/",
    "https://dash.example.org/acme/",
    "https://sub.intranet.example/acme/",
]


@pytest.fixture
def site(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", ".intranet.example", "*"]
    settings.BBDASH_PUBLIC_URL = "https://dash.example.org"
    return settings


@pytest.mark.parametrize("src", LOCAL)
def test_markdown_image_from_this_site_becomes_a_link(site, src):
    html = str(rendering.markdown(f"Look: ![the file]({src})"))
    assert "<img" not in html
    assert ">the file</a>" in html


@pytest.mark.parametrize("src", LOCAL)
def test_sanitise_drops_the_src_of_a_local_img_tag(site, src):
    assert "src=" not in str(rendering.sanitise(f'<p><img src="{src}" alt="x"></p>'))


def test_pull_request_page_does_not_load_this_site_from_its_description(client, demo_mirror):
    pr = PullRequest.objects.get(repository__slug="api-server", title="Raise the default page size")
    pr.description = "Screenshot: ![diff](/acme/api-server/src/main/..%2f..%2fdocs/src/main/secret.md)"
    pr.save(update_fields=["description"])
    client.force_login(demo_mirror.users["bob"])
    text = client.get(f"/acme/api-server/pull-requests/{pr.number}").content.decode()
    assert 'src="/acme/' not in text
    assert '<a href="/acme/api-server/src/main/..%2f..%2fdocs/src/main/secret.md"' in text
