"""Data Center's web paths (`/@<site-label>/projects/<KEY>/repos/<slug>/...`) resolve a project only through the
viewer's own access: a project, repository or pull request their credential cannot see is a 404 like one that does
not exist, and the redirect never names it."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_project_the_viewer_cannot_see_is_a_404(datacenter_world):
    bob = datacenter_world.signed_in("bob")  # PLAT's member, not the owner of alice's personal project
    site = f"/@{datacenter_world.label}/users/alice/repos/dotfiles"
    for path in ("", "/browse", "/pull-requests/1/overview", "/branches", "/commits"):
        response = bob.get(site + path)
        assert response.status_code == 404, path
        assert "dotfiles" not in response.content.decode()
    assert bob.get(f"/@{datacenter_world.label}/users/alice").status_code == 404
    # The same paths open for alice, so the 404 above is about access, not a broken route.
    alice = datacenter_world.signed_in("alice")
    assert alice.get(site + "/browse").status_code == 302


def test_a_repository_without_access_rows_is_a_404(datacenter_world):
    from bitbucket_sync.models import RepositoryAccess

    RepositoryAccess.objects.filter(user=datacenter_world.users["bob"], repository__slug="deploy-tools").delete()
    bob = datacenter_world.signed_in("bob")
    assert bob.get(f"/@{datacenter_world.label}/projects/PLAT/repos/deploy-tools/browse").status_code == 404
    assert bob.get(f"/@{datacenter_world.label}/projects/PLAT/repos/api-gateway/browse").status_code == 302


def test_a_site_not_configured_is_a_404_even_when_its_rows_exist(datacenter_world, settings):
    alice = datacenter_world.signed_in("alice")
    settings.BBDASH_DATACENTER_URLS = []
    assert alice.get(f"/@{datacenter_world.label}/projects/PLAT").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(datacenter_world, client):
    response = client.get(f"/@{datacenter_world.label}/projects/PLAT/repos/api-gateway/browse")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
