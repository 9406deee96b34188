"""Changes since a review and viewed marks: the `since` of a diff URL names only a commit of this pull request (never
another repository's, never a ref or a spec), and a viewed mark is its owner's alone, written only on a pull request
they may see, with a CSRF token."""

import pytest
from django.test import Client
from django.urls import reverse

from bitbucket_sync.models import ViewedFile
from tests import factories

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PR = "/acme/api-server/pull-requests/4"
VIEWED = "/acme/api-server/pull-requests/4/viewed-files"
FINGERPRINT = "ab" * 32


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(demo_world):
    return _login(demo_world.users["alice"])


@pytest.fixture
def bob(demo_world):
    return _login(demo_world.users["bob"])


def _diff_requests(world) -> int:
    return sum(v["total"] for k, v in world.counts()["by_endpoint"].items() if "diff" in k)


def test_since_of_another_repositorys_commit_is_refused(demo_world, alice):
    with demo_world.emulator.world.lock:
        repo = demo_world.emulator.world.repository("acme", "web-frontend")
        other = repo.branches[repo.mainbranch]
    demo_world.reset_counts()
    response = alice.get(f"{PR}/diff", {"since": other}, **HX)
    assert response.status_code == 404
    assert _diff_requests(demo_world) == 0


def test_since_of_a_commit_outside_the_pull_request_is_refused(demo_world, alice):
    with demo_world.emulator.world.lock:
        repo = demo_world.emulator.world.repository("acme", "api-server")
        main = repo.branches[repo.mainbranch]
    assert alice.get(f"{PR}/diff", {"since": main}, **HX).status_code == 404


@pytest.mark.parametrize(
    "junk",
    ["main", "HEAD", "../../web-frontend", "acme/web-frontend:0123456789ab", "0123456..89abcde", "%2e%2e", "ABCDEF1"],
)
def test_since_that_is_not_a_commit_hash_is_refused_before_any_request(demo_world, alice, junk):
    demo_world.reset_counts()
    assert alice.get(f"{PR}/diff", {"since": junk}, **HX).status_code == 404
    assert alice.get(f"{PR}/diff", {"since": junk}).status_code == 404
    assert demo_world.counts()["total"] == 0


def test_viewed_marks_are_per_user(demo_world, alice, bob):
    assert (
        alice.post(VIEWED, {"path": "README.md", "fingerprint": FINGERPRINT, "viewed": "on"}, **HX).status_code == 200
    )
    # bob unchecking the same file removes nothing of alice's, and bob's own list stays empty.
    assert bob.post(VIEWED, {"path": "README.md", "fingerprint": FINGERPRINT}, **HX).status_code == 200
    marks = ViewedFile.objects.filter(pull_request__number=4, path="README.md")
    assert list(marks.values_list("user__username", flat=True)) == ["alice"]

    pr = demo_world.pr("api-server", 4)
    html = bob.get(f"{PR}/diff", **HX).content.decode()
    assert " checked>" not in html and "0 of" in html
    assert reverse("pull_request_file_viewed", args=["acme", "api-server", pr.number]) in html


def test_viewed_mark_on_a_pull_request_the_user_cannot_see_is_404(demo_world):
    outsider = _login(factories.user("dave"))
    response = outsider.post(VIEWED, {"path": "README.md", "fingerprint": FINGERPRINT, "viewed": "on"}, **HX)
    assert response.status_code == 404
    assert not ViewedFile.objects.exists()


@pytest.mark.parametrize(
    ("path", "fingerprint"),
    [("../secrets", FINGERPRINT), ("", FINGERPRINT), ("a//b", FINGERPRINT), ("x" * 1001, FINGERPRINT),
     ("README.md", "not-a-digest"), ("README.md", "AB" * 32)],
)  # fmt: skip
def test_viewed_mark_with_a_bad_path_or_digest_is_404(demo_world, alice, path, fingerprint):
    response = alice.post(VIEWED, {"path": path, "fingerprint": fingerprint, "viewed": "on"}, **HX)
    assert response.status_code == 404
    assert not ViewedFile.objects.exists()


def test_viewed_mark_needs_a_csrf_token(demo_world):
    client = demo_world.signed_in("alice", enforce_csrf_checks=True)
    response = client.post(VIEWED, {"path": "README.md", "fingerprint": FINGERPRINT, "viewed": "on"}, **HX)
    assert response.status_code == 403
    assert not ViewedFile.objects.exists()
