"""`DataCenterClient`'s project webhooks against the emulator's Data Center site: create, list, delete, and the
errors Data Center answers (401 for a missing permission, 400 for an unknown event key)."""

from __future__ import annotations

import pytest

from bitbucket_sync.client import AuthError, BadRequest, BasicAuth, DataCenterClient, NotFound


def _client(emulator, who: str) -> DataCenterClient:
    user = emulator.world.datacenter.users[who]
    return DataCenterClient(BasicAuth(user.name, user.password), base_url=emulator.datacenter_url)


def test_create_list_and_delete_a_project_webhook(emulator):
    with _client(emulator, "alice") as client:
        hook = client.create_webhook(
            "PLAT",
            url="https://dash.example.test/hooks/x/",
            events=("pr:opened", "repo:refs_changed"),
            secret="s3cret",
            description="bbdash live updates",
        )
        assert hook.uuid.isdigit() and hook.active and hook.subject_type == "project"
        assert hook.events == ("pr:opened", "repo:refs_changed") and hook.description == "bbdash live updates"
        assert hook.created_at is not None and hook.secret_set is None  # the secret is never sent back
        assert emulator.world.datacenter.webhooks[int(hook.uuid)].secret == "s3cret"
        assert [h.uuid for h in client.iter_webhooks("PLAT")] == [hook.uuid]
        client.delete_webhook("PLAT", hook.uuid)
        assert list(client.iter_webhooks("PLAT")) == []
        with pytest.raises(NotFound):
            client.delete_webhook("PLAT", hook.uuid)
        with pytest.raises(NotFound):
            client.delete_webhook("PLAT", "{not-a-number}")


def test_a_project_writer_may_not_and_unknown_events_are_refused(emulator):
    with _client(emulator, "bob") as client, pytest.raises(AuthError):
        client.create_webhook("PLAT", url="https://dash.example.test/h/", events=("pr:opened",))
    with _client(emulator, "alice") as client, pytest.raises(BadRequest, match="unknown"):
        client.create_webhook("PLAT", url="https://dash.example.test/h/", events=("pr:reviewer:changes_requested",))
    assert emulator.world.datacenter.webhooks == {}
