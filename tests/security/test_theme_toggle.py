"""The colour theme toggle (`POST /-/theme`) takes only a known theme and sends the viewer back only to a path on this
site: never an open redirect to another host or a script URL."""

import pytest


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@pytest.mark.django_db
def test_the_toggle_refuses_an_unknown_theme_and_a_foreign_next(signed_in):
    assert signed_in.post("/-/theme", {"theme": "<script>"}).status_code == 400
    assert "theme" not in signed_in.session
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = signed_in.post("/-/theme", {"theme": "dark", "next": target})
        assert response.status_code == 302 and response["Location"] == "/", target
    assert signed_in.get("/-/theme").status_code == 405
