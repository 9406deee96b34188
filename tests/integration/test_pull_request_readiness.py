"""The PR page's readiness panel, each reviewer's review state and the Merge button's note, over mirror rows made with
factories (build statuses, merge rules, conflicts): what the panel says for each combination of facts, what Bitbucket
will refuse versus what is advice, and the panel alone for the live refresh.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bitbucket_sync.models import BuildStatus, Participant, PullRequest
from dashboard import rendering
from tests import factories as f

HX_READINESS = {"HX-Request": "true", "HX-Target": "pr-readiness"}


@pytest.fixture
def team(personas, client):
    """bob (may write) looks at alice's open pull request in acme/api, with carol as a reviewer."""
    pr = f.pull_request(personas.repositories["api"], author=personas.accounts["alice"], title="Readiness")
    client.force_login(personas.users["bob"])
    personas.pr = pr  # type: ignore[attr-defined]
    return personas


def _url(pr: PullRequest, rest: str = "") -> str:
    return reverse("pull_request_detail", args=[pr.workspace.slug, pr.repository.slug, pr.number]) + rest


def _panel(client, pr: PullRequest) -> str:
    response = client.get(_url(pr), headers=HX_READINESS)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="pr-readiness"') and "<html" not in html
    return _text(html)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def _condition(panel: str, label: str) -> str:
    """The text of one condition's line (its label link up to the next condition)."""
    start = r'<li class="condition">'
    match = re.search(rf"{start}(?:(?!{start}).)*?>{label}(?:</a>)?:.*?(?={start}|</ul> </section>)", panel)
    assert match, f"no {label} condition in the panel"
    return re.sub(r"<[^>]+>", "", match.group(0))


def test_readiness_panel_on_the_page_once_with_its_live_refresher(team, client):
    page = client.get(_url(team.pr)).content.decode()
    assert page.count('id="pr-readiness"') == 1
    assert 'hx-target="#pr-readiness"' in page and 'hx-trigger="mirror-changed from:body"' in page


def test_readiness_rules_never_read_are_unknown_and_said_so(team, client):
    panel = _panel(client, team.pr)
    assert "Merge rules unknown: the merge rules have not been read yet" in panel
    assert "0 of 1 (merge rules unknown)" in _condition(panel, "Approvals")
    assert "unknown" in _condition(panel, "Builds") and "not read yet" in _condition(panel, "Builds")
    assert "not checked for the current commits" in _condition(panel, "Conflicts")
    who = _condition(panel, "Who may merge")
    assert "unknown" in who and "anyone with write access" not in who
    # Nothing is known to be enforced: approvals missing are advice unless a rule says otherwise, never "will refuse".
    assert "advice, unless a merge rule enforces it" in _condition(panel, "Approvals")
    assert "No known rule refuses the merge,</strong> but the merge rules are unknown" in panel
    assert "Bitbucket will refuse" not in panel and "lets the merge through" not in panel
    page = _text(client.get(_url(team.pr)).content.decode())
    assert "Not met (merge rules unknown): approvals. Not known yet: builds, conflicts, who may merge." in page


def test_readiness_rules_forbidden_say_the_credential_may_not_read_them(team, client):
    repo = team.repositories["api"]
    repo.restrictions_state = "forbidden"
    repo.save(update_fields=["restrictions_state"])
    panel = _panel(client, team.pr)
    assert "Merge rules unknown: the sync credential may not read branch restrictions" in panel


def test_readiness_enforced_rule_failing_says_bitbucket_will_refuse(team, client):
    repo, pr = team.repositories["api"], team.pr
    f.branch_restriction(repo, "require_approvals_to_merge", value=2)
    f.branch_restriction(repo, "enforce_merge_checks")
    f.reviewer(pr, team.accounts["carol"], approved=True)
    panel = _panel(client, pr)
    approvals = _condition(panel, "Approvals")
    assert "1 of 2" in approvals and "not met" in approvals and "Bitbucket will refuse the merge" in approvals
    assert "Bitbucket will refuse the merge</strong> until 1 condition is met" in panel
    assert "Merge rules unknown" not in panel
    assert "anyone with write access" in _condition(panel, "Who may merge")
    # The Merge button says so, and links to the panel.
    page = _text(client.get(_url(pr)).content.decode())
    assert 'aria-describedby="merge-note"' in page
    note = 'id="merge-note" class="merge-note refuses" href="#pr-readiness"> Bitbucket will refuse: approvals.'
    assert note in page


def test_readiness_rules_not_enforced_are_advice_and_the_merge_stays_offered(team, client):
    repo, pr = team.repositories["api"], team.pr
    f.branch_restriction(repo, "require_approvals_to_merge", value=2)
    f.branch_restriction(repo, "require_tasks_to_be_completed")
    PullRequest.objects.filter(pk=pr.pk).update(task_count=3)
    panel = _panel(client, pr)
    assert "1 of 2" not in panel and "0 of 2" in _condition(panel, "Approvals")
    tasks = _condition(panel, "Tasks")
    assert "3 open" in tasks and "advice: Bitbucket lets the merge through" in tasks
    assert 'href="#tasks"' in panel
    assert "Bitbucket will refuse" not in panel
    assert "Bitbucket lets the merge through;</strong> what is not met below is advice" in panel
    page = _text(client.get(_url(pr)).content.decode())
    assert ">Merge</a>" in page and "Advice only: approvals, tasks. Not known yet: builds, conflicts." in page


def test_readiness_builds_failed_running_passed_with_their_links(team, client):
    pr = team.pr
    f.build_status(pr, "unit", state="SUCCESSFUL", name="Unit tests", description="412 passed")
    f.build_status(pr, "lint", state="FAILED", name="Lint", url="https://ci.example.com/lint/7", description="3 errors")
    f.build_status(pr, "e2e", state="INPROGRESS", name="End to end", url="")
    panel = _panel(client, pr)
    builds = _condition(panel, "Builds")
    assert "not met" in builds and "1 failed or stopped of 3" in builds
    assert "failed Lint 3 errors" in re.sub(r"\s+", " ", builds)
    assert "running End to end" in builds and "passed Unit tests 412 passed" in builds
    assert '<a href="https://ci.example.com/lint/7" rel="noopener noreferrer">Lint</a>' in panel
    assert "<span>End to end</span>" in panel  # no url: no link
    assert "updated <time datetime=" in panel
    assert 'href="#pr-builds"' in panel and 'id="pr-builds"' in panel


def test_readiness_builds_running_then_passed(team, client):
    pr = team.pr
    running = f.build_status(pr, "ci", state="INPROGRESS")
    assert "1 running, 0 passed" in _condition(_panel(client, pr), "Builds")
    running.state = "SUCCESSFUL"
    running.save()
    builds = _condition(_panel(client, pr), "Builds")
    assert "1 passed" in builds and "met" in builds and "not met" not in builds


def test_readiness_builds_of_an_earlier_commit_are_unknown(team, client):
    f.build_status(team.pr, "ci", state="SUCCESSFUL", current=False)
    panel = _panel(client, team.pr)
    assert "not read yet" in _condition(panel, "Builds")
    assert "These were reported for an earlier commit" in panel


def test_readiness_conflicts_list_the_paths_linked_to_the_diff(team, client):
    pr = team.pr
    paths = ["src/orders.py", "docs/read me.md"]
    PullRequest.objects.filter(pk=pr.pk).update(conflict_state="conflicted", conflict_paths=paths)
    panel = _panel(client, pr)
    conflicts = _condition(panel, "Conflicts")
    assert "the merge would conflict" in conflicts and "Bitbucket will refuse the merge" in conflicts
    for path in paths:
        assert f'href="{_url(pr, "/diff")}#{rendering.file_anchor(path)}">{path}</a>' in panel
    assert "The merge cannot succeed:</strong> the changes conflict with main" in panel
    page = _text(client.get(_url(pr)).content.decode())
    assert "The merge cannot succeed: the changes conflict." in page


def test_readiness_clean_merge_every_condition_met(team, client):
    pr = team.pr
    f.reviewer(pr, team.accounts["carol"], approved=True)
    f.build_status(pr, "ci")
    PullRequest.objects.filter(pk=pr.pk).update(conflict_state="clean")
    f.branch_restriction(team.repositories["api"], "require_approvals_to_merge", value=1)
    panel = _panel(client, pr)
    assert "Every condition is met." in panel and "not met" not in panel and "unknown" not in panel
    assert "Every condition is met." in client.get(_url(pr)).content.decode()


def test_readiness_who_may_merge_from_restrict_merges(team, client):
    repo, pr = team.repositories["api"], team.pr
    f.branch_restriction(repo, "restrict_merges", users=[team.accounts["alice"].bitbucket_uuid, "{gone}"])
    panel = _panel(client, pr)
    who = _condition(panel, "Who may merge")
    assert "you are not one" in who and "Bitbucket will refuse the merge" in who
    assert "Alice Adams" in who and "1 account not in the mirror" in who
    client.force_login(team.users["alice"])
    who = _condition(_panel(client, pr), "Who may merge")
    assert "you are one" in who and "Bitbucket will refuse" not in who


def test_readiness_who_may_merge_through_a_group_is_unknown(team, client):
    f.branch_restriction(team.repositories["api"], "restrict_merges", users=[], groups=["release-managers"])
    who = _condition(_panel(client, team.pr), "Who may merge")
    assert "you may be in one of the groups" in who and "release-managers" in who
    assert "Bitbucket refuses the merge if this is not met" in who


def test_readiness_insights_line_only_with_a_summary(team, client, rf):
    from django.template.loader import render_to_string

    from dashboard import selectors

    pr = PullRequest.objects.select_related("repository").get(pk=team.pr.pk)
    context = {
        "pull_request": pr,
        "pr_url": _url(pr),
        "readiness": selectors.pull_request_readiness(pr, viewer=None, pr_url=_url(pr)),
    }
    assert "Code Insights" not in render_to_string("pull_requests/_readiness.html", context)
    summary = {"failed": 1, "pending": 0, "passed": 4}
    html = _text(render_to_string("pull_requests/_readiness.html", {**context, "insights_summary": summary}))
    assert '<a href="#insights">Code Insights reports</a>: 1 failed, 0 pending, 4 passed' in html


def test_readiness_draft_is_said_first(team, client):
    PullRequest.objects.filter(pk=team.pr.pk).update(draft=True)
    panel = _panel(client, team.pr)
    assert "Draft: still a draft: mark it ready for review first" in re.sub(r"<[^>]+>", "", panel)
    assert panel.index("still a draft") < panel.index("Approvals")


def test_readiness_panel_of_a_merged_pull_request(team, client):
    PullRequest.objects.filter(pk=team.pr.pk).update(state="MERGED")
    panel = _panel(client, team.pr)
    assert "This pull request is merged" in panel and 'class="condition"' not in panel


def test_reviewers_show_each_review_state(team, client):
    pr = team.pr
    carol, bob, dave = team.accounts["carol"], team.accounts["bob"], team.accounts["dave"]
    other = f.account("Eve Early")
    f.reviewer(pr, carol, approved=True)
    f.reviewer(pr, bob, state=Participant.ReviewState.CHANGES_REQUESTED)
    f.reviewer(pr, dave)
    stale = f.reviewer(pr, other, approved=True)
    Participant.objects.filter(pull_request=pr).exclude(state="").update(reviewed_commit=pr.source_commit)
    Participant.objects.filter(pk=stale.pk).update(reviewed_commit="0123456789ab")
    response = client.get(_url(pr), headers={"HX-Request": "true", "HX-Target": "pr-reviewers"})
    html = _text(response.content.decode())

    def badge(name: str) -> str:
        icon = r'(?:<svg [^>]*aria-hidden="true"><use [^>]*></use></svg>)?'  # decorative: the words follow it
        match = re.search(rf'>{name}</a> <span class="badge ?([a-z]*)">{icon}([^<]+)</span>', html)
        assert match, name
        return f"{match.group(1)}: {match.group(2)}"

    assert badge("Carol Chen") == "approved: approved"
    assert badge("Bob Brown") == "changes: changes requested"
    assert badge("Dave Diaz") == ": not reviewed yet"
    assert badge("Eve Early") == "rereview: needs re-review (approved on an earlier commit)"


def test_readiness_fragment_costs_a_fixed_number_of_queries(team, client, django_assert_max_num_queries):
    pr = team.pr
    for n in range(5):
        f.build_status(pr, f"b{n}", state="FAILED")
        f.reviewer(pr, f.account(f"Rev {n}"), approved=True)
    f.branch_restriction(team.repositories["api"], "restrict_merges", users=[team.accounts["alice"].bitbucket_uuid])
    with django_assert_max_num_queries(20):
        _panel(client, pr)


# --- live: the poll notices what the panel shows ------------------------------------------------------------------


def _poll(client, pr: PullRequest, since: str):
    params = {"workspace": "acme", "repository": pr.repository.slug, "pull_request": str(pr.number)}
    return client.get(reverse("change_poll"), {**params, "since": since, "target": "pr-summary"})


def _token(html: str) -> str:
    match = re.search(r"since=(v[0-9a-f]+)", html)
    assert match, "no live poller with a token on the page"
    return match.group(1)


def test_readiness_live_poll_reports_builds_conflicts_and_rules(team, client):
    pr = team.pr
    token = _token(client.get(_url(pr)).content.decode())
    assert _poll(client, pr, token).status_code == 204
    changes = [
        lambda: f.build_status(pr, "ci", state="INPROGRESS"),
        lambda: BuildStatus.objects.filter(pull_request=pr).update(description="halfway"),
        lambda: PullRequest.objects.filter(pk=pr.pk).update(conflict_state="conflicted", conflicts_checked_for="a..b"),
        lambda: f.branch_restriction(team.repositories["api"], "require_approvals_to_merge", value=2),
    ]
    for change in changes:
        change()
        response = _poll(client, pr, token)
        assert response.status_code == 200 and response["HX-Trigger"] == "mirror-changed"
        token = _token(response.content.decode())
        assert _poll(client, pr, token).status_code == 204
    # The refresh then shows the new state without a reload.
    panel = _panel(client, pr)
    assert "halfway" in panel and "0 of 2" in panel and "the merge would conflict" in panel


def test_readiness_first_poll_sees_a_build_written_after_the_page(team, client):
    pr = team.pr
    rendered = "t" + str(int(timezone.now().timestamp()) - 60)
    PullRequest.objects.filter(pk=pr.pk).update(synced_at=timezone.now() - timedelta(hours=1))
    assert _poll(client, pr, rendered).status_code == 200  # a token we read as "a minute ago"
    f.build_status(pr, "ci", synced_at=timezone.now() - timedelta(hours=2), updated_on=None)
    PullRequest.objects.filter(pk=pr.pk).update(statuses_synced_at=timezone.now() - timedelta(hours=2))
    assert "HX-Trigger" not in _poll(client, pr, rendered)
    BuildStatus.objects.filter(pull_request=pr).update(synced_at=timezone.now())
    assert _poll(client, pr, rendered)["HX-Trigger"] == "mirror-changed"


# --- the merge page -------------------------------------------------------------------------------------------------


def _merge_page(client, pr: PullRequest) -> str:
    url = reverse("pull_request_merge", args=["acme", pr.repository.slug, pr.number])
    response = client.get(url)
    assert response.status_code == 200
    return _text(response.content.decode())


def test_merge_page_says_what_bitbucket_will_refuse(live_mirror, client):
    pr = live_mirror.mergeable_open_pr()
    client.force_login(live_mirror.alice)
    f.branch_restriction(pr.repository, "require_approvals_to_merge", pattern=pr.destination_branch, value=5)
    f.branch_restriction(pr.repository, "enforce_merge_checks", pattern=pr.destination_branch)
    PullRequest.objects.filter(pk=pr.pk).update(task_count=2)
    html = _merge_page(client, pr)
    refuse = html.split("<h3>Bitbucket will refuse the merge while</h3>")[1].split("</ul>")[0]
    assert "Approvals: " in refuse and "of 5" in refuse
    advice = html.split("<h3>Advice (Bitbucket lets the merge through)</h3>")[1].split("</ul>")[0]
    assert "Tasks: 2 open" in advice
    # The attempt stays possible (the mirror may be behind); the button says what it is.
    assert '<button type="submit" class="button primary">Try to merge anyway</button>' in html


def test_merge_page_advice_only_keeps_the_plain_merge(live_mirror, client):
    pr = live_mirror.mergeable_open_pr()
    client.force_login(live_mirror.alice)
    f.branch_restriction(pr.repository, "require_approvals_to_merge", pattern=pr.destination_branch, value=5)
    html = _merge_page(client, pr)
    assert "Bitbucket will refuse" not in html and "cannot succeed" not in html
    assert "<h3>Advice (Bitbucket lets the merge through)</h3>" in html
    assert '<button type="submit" class="button primary">Merge</button>' in html


def test_merge_page_conflicts_say_the_merge_cannot_succeed(live_mirror, client):
    pr = live_mirror.mergeable_open_pr()
    client.force_login(live_mirror.alice)
    PullRequest.objects.filter(pk=pr.pk).update(conflict_state="conflicted", conflict_paths=["app/orders.py"])
    html = _merge_page(client, pr)
    assert "The merge cannot succeed:</strong> the changes conflict with" in html and "in 1 file." in html
    assert ">app/orders.py</a>" in html
    assert "Merge rules unknown" in html or "<h3>Bitbucket will refuse the merge while</h3>" in html
