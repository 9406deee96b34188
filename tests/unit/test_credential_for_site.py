"""Which of a user's credentials (one per site) serves a workspace: its own site's, never another's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from bitbucket_sync.models import Credential
from bitbucket_sync.models.credentials import pick_for_site
from tests.factories import credential

pytestmark = pytest.mark.django_db

CLOUD = "https://api.bitbucket.test/2.0"
DC = "https://git.example.test/bitbucket"
OTHER_DC = "https://git2.example.test"


@pytest.fixture(autouse=True)
def _sites(settings):
    settings.BITBUCKET_API_URL = CLOUD
    settings.BBDASH_DATACENTER_URLS = [DC + "/rest/api/1.0", OTHER_DC]


def test_each_workspace_takes_its_own_sites_credential(django_user_model):
    ada = django_user_model.objects.create_user("ada")
    cloud = credential(ada, api_url=CLOUD)
    dc = credential(ada, api_url=DC, kind=Credential.Kind.BASIC, login="ada")

    assert Credential.objects.for_site(ada, CLOUD) == cloud
    assert Credential.objects.for_site(ada, DC) == dc
    assert Credential.objects.for_site(ada, "") == cloud  # a workspace of no site yet: Cloud, as before sites
    assert Credential.objects.for_site(ada, OTHER_DC) is None  # never another Data Center site's, nor Cloud's


def test_datacenter_workspace_never_falls_back_to_a_cloud_credential(django_user_model):
    bob = django_user_model.objects.create_user("bob")
    legacy = credential(bob, api_url="https://api.bitbucket.org/2.0")  # saved before BITBUCKET_API_URL moved
    assert Credential.objects.for_site(bob, DC) is None
    assert Credential.objects.for_site(bob, CLOUD) == legacy  # Cloud keeps its Cloud credential
    assert pick_for_site([], CLOUD) is None


def test_anonymous_has_no_credential():
    assert Credential.objects.for_site(AnonymousUser(), CLOUD) is None
