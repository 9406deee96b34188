"""Bitbucket Data Center's own web paths under `/@<site-label>/`: each opens the dashboard's page for the same
thing (a 302), for a project and for a personal project, and only for a site, project and repository the viewer
sees (404 otherwise)."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, get_resolver, resolve, reverse

from dashboard.views import datacenter_paths, repositories, workspaces
from tests import factories as f

pytestmark = pytest.mark.django_db


def _redirect(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 302, (url, response.status_code)
    return response["Location"]


def test_project_paths_redirect_to_the_dashboards_pages(datacenter_world, datacenter_alice):
    site, h = f"/@{datacenter_world.label}", datacenter_world.handle
    repo = f"{site}/projects/PLAT/repos/api-gateway"
    expected = {
        f"{site}/projects/PLAT": f"/{h}/",
        f"{site}/projects/plat/": f"/{h}/",
        repo: f"/{h}/api-gateway/",
        f"{repo}/": f"/{h}/api-gateway/",
        f"{repo}/browse": f"/{h}/api-gateway/src/",
        f"{repo}/browse/src": f"/{h}/api-gateway/src/main/src",
        f"{repo}/browse/src/limits.py?at=refs%2Fheads%2Ffeature%2Frate-limits": (
            f"/{h}/api-gateway/src/feature/rate-limits/src/limits.py"
        ),
        f"{repo}/browse?at=refs/tags/v1.0.0": f"/{h}/api-gateway/src/v1.0.0/",
        f"{repo}/branches": f"/{h}/api-gateway/branches/",
        f"{repo}/commits": f"/{h}/api-gateway/commits/",
        f"{repo}/commits?until=refs/heads/main": f"/{h}/api-gateway/commits/main",
        f"{repo}/commits/ABCDEF1234": f"/{h}/api-gateway/commits/abcdef1234",
        f"{repo}/pull-requests": f"/{h}/api-gateway/pull-requests/",
        f"{repo}/pull-requests/2": f"/{h}/api-gateway/pull-requests/2",
        f"{repo}/pull-requests/2/overview": f"/{h}/api-gateway/pull-requests/2",
        f"{repo}/pull-requests/2/diff": f"/{h}/api-gateway/pull-requests/2/diff",
        f"{repo}/pull-requests/2/commits": f"/{h}/api-gateway/pull-requests/2/commits",
        f"{repo}/pull-requests/2/activity": f"/{h}/api-gateway/pull-requests/2/activity",
    }
    for url, target in expected.items():
        assert _redirect(datacenter_alice, url) == target, url


def test_personal_project_paths_redirect(datacenter_world, datacenter_alice):
    personal = datacenter_world.project("~alice").slug
    site = f"/@{datacenter_world.label}/users/alice"
    assert _redirect(datacenter_alice, site) == f"/{personal}/"
    assert _redirect(datacenter_alice, f"{site}/repos/dotfiles/browse") == f"/{personal}/dotfiles/src/"
    assert (
        _redirect(datacenter_alice, f"{site}/repos/dotfiles/pull-requests/1/overview")
        == f"/{personal}/dotfiles/pull-requests/1"
    )


def test_a_redirect_lands_on_a_working_page(datacenter_world, datacenter_alice):
    response = datacenter_alice.get(
        f"/@{datacenter_world.label}/projects/PLAT/repos/api-gateway/pull-requests/2/overview", follow=True
    )
    assert response.status_code == 200
    assert "Raise the rate limit to 500" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/@unknown.example/projects/PLAT/repos/api-gateway",  # not a configured site
        "/@{label}/projects/NOPE/repos/api-gateway",  # no such project
        "/@{label}/projects/PLAT/repos/nope",  # no such repository
        "/@{label}/projects/PLAT/repos/api-gateway/pull-requests/99",  # no such pull request
        "/@{label}/projects/PLAT/repos/api-gateway/pull-requests/2/settings",  # no such tab
        "/@{label}/projects/PLAT/repos/api-gateway/commits/not-a-hash",
        "/@{label}/projects/PLAT/repos/api-gateway/browse/../../secrets",
        "/@{label}/projects/PLAT/repos/api-gateway/browse/src//x",
        "/@{label}/projects/PLAT/repos/api-gateway/browse?at=refs/heads/../x",
        "/@{label}/projects/PLAT/repos/api-gateway/browse?at=",
        "/@{label}/projects/PL.AT/repos/api-gateway",
        "/@{label}/projects/PLAT/repos/.hidden",
        "/@{label}/users/..alice/repos/dotfiles",
    ],
)
def test_bad_or_unknown_segments_are_404(datacenter_world, datacenter_alice, path):
    assert datacenter_alice.get(path.format(label=datacenter_world.label)).status_code == 404


def test_data_center_routes_all_start_with_the_site_prefix():
    """A Cloud workspace slug never starts with `@`: no Data Center route can take a Cloud workspace's path, and
    they are matched before the Cloud-shaped ones."""
    patterns = [p for p in get_resolver().url_patterns if isinstance(p, URLPattern)]
    names = [p.name or "" for p in patterns]
    dc_indexes = [i for i, p in enumerate(patterns) if p.callback.__module__ == datacenter_paths.__name__]
    assert dc_indexes
    for i in dc_indexes:
        assert str(patterns[i].pattern).startswith("@<str:site_label>/"), patterns[i].pattern
    assert max(dc_indexes) < names.index("workspace_detail")


def test_a_cloud_workspace_named_like_a_site_label_is_not_shadowed(datacenter_world, datacenter_alice):
    """A Cloud workspace whose slug reads like the Data Center site's label, with a repository named `projects`,
    keeps its own pages: the label opens Data Center paths only behind `@`."""
    cloud = f.workspace(datacenter_world.label, api_url="")
    repository = f.repository(cloud, "projects")
    f.grant(datacenter_world.users["alice"], repository)
    assert resolve(f"/{datacenter_world.label}/").func == workspaces.workspace_detail
    assert resolve(f"/{datacenter_world.label}/projects/").func == repositories.repository_detail
    assert resolve(f"/@{datacenter_world.label}/projects/PLAT").func == datacenter_paths.project_home
    response = datacenter_alice.get(reverse("repository_detail", args=[datacenter_world.label, "projects"]))
    assert response.status_code == 200
    assert cloud.get_absolute_url() in response.content.decode()
