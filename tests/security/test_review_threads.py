"""Review threads carry text written by anyone who can comment, and file paths from the repository: on the page each
is inert text. Every thread endpoint answers 404 to a viewer who cannot see the pull request (and sends nothing), and
takes only integer comment ids that belong to the pull request in its URL."""

import pytest

from bitbucket_sync.models import PullRequest

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PR = "/acme/api-server/pull-requests/4"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
EVIL_PATH = 'src/"><script>alert(1)</script>.py'


@pytest.fixture
def alice(demo_world):
    return demo_world.signed_in("alice")


@pytest.fixture
def bob(demo_world):
    return demo_world.signed_in("bob")


@pytest.fixture
def hostile_thread(demo_world):
    """An inline thread on PR 4 whose path and text are markup, with a reply that is markup too, written straight
    into the world (the way any Bitbucket user could write them)."""
    world = demo_world.emulator.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        pr = repo.pullrequests[4]
        root = world.add_comment(repo, pr, world.user("carol").uuid, XSS, inline={"path": EVIL_PATH, "to": 2})
        world.add_comment(repo, pr, world.user("alice").uuid, f"[x](javascript:alert(1)) {XSS}", parent_id=root.id)
    return root.id


def _assert_inert(html: str) -> None:
    assert "<script>" not in html and "<img src=x" not in html
    assert 'href="javascript:' not in html and 'src="javascript:' not in html


def test_comment_text_and_file_paths_are_inert_on_the_discussion_tab(alice, hostile_thread):
    html = alice.get(f"{PR}/activity", **HX).content.decode()
    assert f'id="thread-{hostile_thread}"' in html
    _assert_inert(html)
    assert "&lt;script&gt;" in html


def test_an_action_answer_keeps_them_inert_too(alice, hostile_thread):
    response = alice.post(
        f"{PR}/comments/{hostile_thread}/reply", {"idempotency_key": "k-x", "text": XSS, "pending": "1"}, **HX
    )
    html = response.content.decode()
    assert "Reply added to your review." in html
    _assert_inert(html)
    # A refused edit keeps the typed text, escaped inside its textarea.
    refused = alice.post(f"{PR}/comments/{hostile_thread}/edit", {"idempotency_key": "k-y", "text": XSS}, **HX)
    _assert_inert(refused.content.decode())


def test_a_hostile_path_in_the_composer_url_stays_text(alice):
    response = alice.get(f"{PR}/comments/new", {"path": EVIL_PATH, "side": "new", "line": "2"}, **HX)
    assert response.status_code == 200
    _assert_inert(response.content.decode())


def test_every_thread_endpoint_is_404_for_a_viewer_who_cannot_see_the_pull_request(demo_world, bob):
    infra = PullRequest.objects.filter(repository__slug="infra").first()
    assert infra is not None
    base = f"/acme/infra/pull-requests/{infra.number}/comments"
    demo_world.reset_counts()
    assert bob.get(f"{base}/new?path=a.py&side=new&line=1", **HX).status_code == 404
    assert bob.post(f"{base}/new?path=a.py&side=new&line=1", {"idempotency_key": "k", "text": "x"}).status_code == 404
    for verb in ("reply", "edit", "delete", "resolve", "reopen", "task"):
        response = bob.post(f"{base}/1/{verb}", {"idempotency_key": f"k-{verb}", "text": "x"}, **HX)
        assert response.status_code == 404, verb
    assert demo_world.counts()["total"] == 0


def test_comment_ids_are_integers_of_this_pull_request(demo_world, alice):
    demo_world.reset_counts()
    for bad in ("abc", "1.5", "-1", "%2e%2e", "1%2F..%2F2"):
        # No thread route takes them: they fall to the read-only pull request page, which refuses a POST.
        response = alice.post(f"{PR}/comments/{bad}/resolve", {"idempotency_key": "k"}, **HX)
        assert response.status_code in (404, 405), bad
    assert demo_world.counts()["total"] == 0
    # A comment of another pull request is not one of this one's: 404, and nothing is written.
    other = next(iter(demo_world.client().iter_pull_request_comments("acme", "api-server", 3)), None)
    foreign_id = other.id if other else 999_999
    demo_world.reset_counts()
    response = alice.post(f"{PR}/comments/{foreign_id}/resolve", {"idempotency_key": "k2"}, **HX)
    assert response.status_code == 404
    writes = [k for k in demo_world.counts()["by_endpoint"] if not k.startswith("GET ")]
    assert writes == []
