"""Mirror rows for page tests and benchmarks, with sensible defaults, so pages are tested without the sync engine.

Plain functions: each takes keyword arguments for what a test cares about and invents the rest. `grant` gives a
dashboard user the access rows their own Bitbucket credential would have produced. The `bulk_*` helpers seed large
mirrors for `bench/pages.py` with `bulk_create` in batches.
"""

from __future__ import annotations

import itertools
import random
import uuid as uuidlib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Max
from django.utils import timezone

from bitbucket_sync import turns
from bitbucket_sync.models import (
    Account,
    Branch,
    BranchRestriction,
    BuildStatus,
    Credential,
    Participant,
    Project,
    PullRequest,
    Repository,
    RepositoryAccess,
    RepositoryWatcher,
    SyncRun,
    WebhookSubscription,
    Workspace,
    WorkspaceAccess,
    WorkspaceMembership,
)

_seq = itertools.count(1)


def _uuid() -> str:
    return "{" + str(uuidlib.uuid4()) + "}"


def _hash(n: int | None = None) -> str:
    return f"{n if n is not None else random.getrandbits(160):040x}"[-40:]


def user(username: str | None = None, *, password: str | None = None, **fields):
    """A dashboard user; without a password (hashing one takes most of a second), pass one to sign in by form."""
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username, password=password, **fields)


def account(name: str | None = None, **fields) -> Account:
    n = next(_seq)
    name = name or f"Person {n}"
    nickname = fields.pop("nickname", name.split()[0].lower())
    defaults = {
        "bitbucket_uuid": _uuid(),
        "account_id": f"557058:{uuidlib.uuid4()}",
        "display_name": name,
        "nickname": nickname,
    }
    return Account.objects.create(**(defaults | fields))


def workspace(slug: str | None = None, **fields) -> Workspace:
    slug = slug or f"ws{next(_seq)}"
    defaults = {
        "bitbucket_uuid": _uuid(),
        "slug": slug,
        "name": slug.title(),
        "html_url": f"https://bitbucket.org/{slug}/",
        "synced_at": timezone.now(),
    }
    return Workspace.objects.create(**(defaults | fields))


def project(ws: Workspace, key: str = "PRJ", **fields) -> Project:
    defaults = {"bitbucket_uuid": _uuid(), "key": key, "name": key.title()}
    return Project.objects.create(workspace=ws, **(defaults | fields))


def repository(ws: Workspace, slug: str | None = None, **fields) -> Repository:
    slug = slug or f"repo{next(_seq)}"
    now = timezone.now()
    defaults = {
        "bitbucket_uuid": _uuid(),
        "slug": slug,
        "name": slug,
        "full_name": f"{ws.slug}/{slug}",
        "main_branch": "main",
        "language": "python",
        "html_url": f"https://bitbucket.org/{ws.slug}/{slug}",
        "created_on": now - timedelta(days=30),
        "updated_on": now - timedelta(hours=1),
        "synced_at": now,
    }
    return Repository.objects.create(workspace=ws, **(defaults | fields))


def branch(repo: Repository, name: str = "main", **fields) -> Branch:
    defaults = {
        "target_hash": _hash(),
        "target_date": timezone.now() - timedelta(hours=2),
        "target_message": f"Work on {name}",
        "target_author_raw": "Someone <someone@example.com>",
    }
    return Branch.objects.create(repository=repo, name=name, **(defaults | fields))


def pull_request(
    repo: Repository, *, author: Account | None = None, number: int | None = None, **fields
) -> PullRequest:
    number = number or (PullRequest.objects.filter(repository=repo).count() + 1)
    now = timezone.now()
    defaults = {
        "title": f"Change number {number}",
        "description": "",
        "state": PullRequest.State.OPEN,
        "source_branch": f"feature/{number}",
        "source_commit": _hash()[:12],
        "source_repository_full_name": repo.full_name,
        "destination_branch": repo.main_branch or "main",
        "destination_commit": _hash()[:12],
        "html_url": f"{repo.html_url}/pull-requests/{number}",
        "created_on": now - timedelta(days=2),
        "updated_on": now - timedelta(hours=3),
    }
    pr = PullRequest.objects.create(
        workspace_id=repo.workspace_id, repository=repo, number=number, author=author, **(defaults | fields)
    )
    # As every write of the sync is followed: whose turn, and the repository's open count.
    turns.refresh_turns([pr.pk])
    pr.refresh_from_db()
    return pr


def reviewer(pr: PullRequest, who: Account, *, approved: bool = False, state: str = "") -> Participant:
    if approved and not state:
        state = Participant.ReviewState.APPROVED
    participant = Participant.objects.create(
        pull_request=pr, account=who, role=Participant.Role.REVIEWER, approved=approved, state=state
    )
    # As the sync does after every change: whose turn it is, and which reviewers are due.
    turns.refresh_turns([pr.pk])
    participant.refresh_from_db()
    return participant


def build_status(pr: PullRequest, key: str | None = None, *, state: str = "SUCCESSFUL", **fields) -> BuildStatus:
    """A build status of the PR's source commit; marks the PR's statuses as read for that commit (pass
    `current=False` to leave them unread, as for statuses reported on an earlier commit)."""
    key = key or f"build-{next(_seq)}"
    current = fields.pop("current", True)
    now = timezone.now()
    defaults = {
        "name": key,
        "description": "",
        "url": f"https://ci.example.com/{key}",
        "commit_hash": pr.source_commit,
        "created_on": now - timedelta(minutes=10),
        "updated_on": now - timedelta(minutes=5),
        "synced_at": now,
    }
    status = BuildStatus.objects.create(pull_request=pr, key=key, state=state, **(defaults | fields))
    if current and pr.statuses_synced_for != pr.source_commit:
        pr.statuses_synced_for = pr.source_commit
        pr.statuses_synced_at = now
        pr.save(update_fields=["statuses_synced_for", "statuses_synced_at"])
    return status


def branch_restriction(
    repo: Repository, kind: str, *, pattern: str = "main", value: int | None = None, **fields
) -> BranchRestriction:
    """A merge rule or branch permission; marks the repository's rules as read (they are known from then on)."""
    defaults = {"bitbucket_id": next(_seq), "branch_match_kind": "glob", "synced_at": timezone.now()}
    rule = BranchRestriction.objects.create(
        repository=repo, kind=kind, pattern=pattern, value=value, **(defaults | fields)
    )
    if repo.restrictions_state != "read":
        repo.restrictions_state = "read"
        repo.restrictions_synced_at = timezone.now()
        repo.save(update_fields=["restrictions_state", "restrictions_synced_at"])
    return rule


def member(ws: Workspace, who: Account, permission: str = "member") -> WorkspaceMembership:
    return WorkspaceMembership.objects.create(
        workspace=ws, account=who, permission=permission, synced_at=timezone.now()
    )


def watcher(repo: Repository, who: Account) -> RepositoryWatcher:
    return RepositoryWatcher.objects.create(repository=repo, account=who, synced_at=timezone.now())


def grant(dashboard_user, *repositories: Repository, permission: str = "write", workspaces=()) -> None:
    """Give `dashboard_user` what their credential would see: each repository and its workspace."""
    seen = {r.workspace_id for r in repositories} | {w.pk for w in workspaces}
    for workspace_id in seen:
        WorkspaceAccess.objects.get_or_create(user=dashboard_user, workspace_id=workspace_id)
    for repo in repositories:
        RepositoryAccess.objects.update_or_create(
            user=dashboard_user, repository=repo, defaults={"permission": permission}
        )


def credential(owner, *, acct: Account | None = None, api_url: str = "", login: str = "", secret: str = "", **fields):
    """An active API token credential; `secret` is encrypted (needs BBDASH_ENCRYPTION_KEYS)."""
    cred = Credential(
        owner=owner,
        kind=fields.pop("kind", Credential.Kind.API_TOKEN),
        login=login or f"{owner.username}@example.com",
        account=acct,
        status=fields.pop("status", Credential.Status.VALID),
        **fields,
    )
    if api_url:
        cred.api_url = api_url
    cred.set_secret(secret or "not-a-real-token-0000")
    cred.save()
    return cred


def webhook_subscription(ws: Workspace, *, secret: str, **fields) -> WebhookSubscription:
    """Live updates turned on for `ws`, signed with `secret` (needs an encryption key in settings)."""
    fields = {
        "enabled": True,
        "status": WebhookSubscription.Status.ACTIVE,
        "hook_uuid": "{hook}",
        "url": "https://dash.example.com/hooks/",
        "enabled_at": timezone.now(),
        **fields,
    }
    sub = WebhookSubscription(workspace=ws, **fields)
    sub.set_secret(secret)
    sub.save()
    return sub


def sync_run(ws: Workspace, **fields) -> SyncRun:
    defaults = {"kind": SyncRun.Kind.INCREMENTAL, "status": SyncRun.Status.SUCCEEDED}
    return SyncRun.objects.create(workspace=ws, **(defaults | fields))


def hold_lock(ws: Workspace, run: SyncRun, *, until) -> None:
    """The run holds the workspace's sync lock until `until`, as a live worker's heartbeat leaves it."""
    Workspace.objects.filter(pk=ws.pk).update(sync_locked_by_run=run.pk, sync_lock_expires_at=until)
    ws.refresh_from_db()


# --- bulk helpers for the benchmark -------------------------------------------------------------------------------


def bulk_world(*, repositories: int, accounts: int, viewer, slug: str = "bench", batch: int = 2000) -> Workspace:
    """A workspace with `repositories` repositories and `accounts` members, all visible to `viewer`."""
    now = timezone.now()
    ws = workspace(slug)
    people = Account.objects.bulk_create(
        [
            Account(
                bitbucket_uuid=_uuid(),
                account_id=f"557058:{slug}-{i}",
                display_name=f"Bench Person {i}",
                nickname=f"{slug}{i}",
            )
            for i in range(accounts)
        ],
        batch_size=batch,
    )
    people = list(Account.objects.filter(account_id__startswith=f"557058:{slug}-").order_by("pk"))
    WorkspaceMembership.objects.bulk_create(
        [WorkspaceMembership(workspace=ws, account=a, permission="member", synced_at=now) for a in people],
        batch_size=batch,
    )
    languages = ["python", "javascript", "go", "java", "rust", ""]
    Repository.objects.bulk_create(
        [
            Repository(
                workspace=ws,
                bitbucket_uuid=_uuid(),
                slug=f"repo-{i:05d}",
                name=f"repo-{i:05d}",
                full_name=f"{slug}/repo-{i:05d}",
                description=f"Service number {i}",
                language=languages[i % len(languages)],
                main_branch="main",
                updated_on=now - timedelta(minutes=i),
                synced_at=now,
            )
            for i in range(repositories)
        ],
        batch_size=batch,
    )
    repos = list(Repository.objects.filter(workspace=ws).order_by("pk"))
    WorkspaceAccess.objects.create(user=viewer, workspace=ws)
    RepositoryAccess.objects.bulk_create(
        [RepositoryAccess(user=viewer, repository=r, permission="write") for r in repos], batch_size=batch
    )
    return ws


def bulk_pull_requests(ws: Workspace, count: int, *, seed: int = 7, batch: int = 2000) -> None:
    """Add `count` pull requests spread over the workspace's repositories (a quarter open), by its members, with two
    reviewers each (40% approved). Numbers continue after each repository's highest."""
    rnd = random.Random(seed)
    now = timezone.now()
    repos = list(Repository.objects.filter(workspace=ws).order_by("pk").values_list("pk", flat=True))
    people = list(Account.objects.filter(memberships__workspace=ws).order_by("pk").values_list("pk", flat=True))
    numbers = dict(
        PullRequest.objects.filter(workspace=ws)
        .values("repository_id")
        .annotate(top=Max("number"))
        .values_list("repository_id", "top")
    )
    states = ["OPEN", "MERGED", "MERGED", "DECLINED"]
    done = 0
    while done < count:
        size = min(batch, count - done)
        rows, reviews = [], []
        for i in range(done, done + size):
            repo = repos[rnd.randrange(len(repos))]
            numbers[repo] = numbers.get(repo, 0) + 1
            author = rnd.randrange(len(people))
            updated = now - timedelta(minutes=rnd.randrange(60 * 24 * 365))
            rows.append(
                PullRequest(
                    workspace=ws,
                    repository_id=repo,
                    number=numbers[repo],
                    title=f"Change {i} in repository {repo}",
                    description="Some words about the change.",
                    state=states[i % len(states)],
                    author_id=people[author],
                    source_branch=f"feature/{i}",
                    source_commit=_hash(i)[:12],
                    destination_branch="main",
                    destination_commit=_hash(i + 1)[:12],
                    created_on=updated - timedelta(days=1),
                    updated_on=updated,
                    comment_count=rnd.randrange(10),
                    task_count=rnd.randrange(3),
                )
            )
            reviews.append([(p, rnd.random() < 0.4) for p in rnd.sample(range(len(people)), 3) if p != author][:2])
        # Both SQLite (3.35+) and PostgreSQL return the new ids from a bulk insert.
        PullRequest.objects.bulk_create(rows)
        Participant.objects.bulk_create(
            [
                Participant(
                    pull_request_id=row.pk,
                    account_id=people[p],
                    role=Participant.Role.REVIEWER,
                    approved=ok,
                    state="approved" if ok else "",
                )
                for row, review in zip(rows, reviews, strict=True)
                for p, ok in review
            ],
            batch_size=batch,
        )
        done += size
