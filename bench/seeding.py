"""Pull requests for the page benchmark at a million rows, written at COPY speed.

`pull_requests(ws, count)` adds pull requests spread over the workspace's repositories (a quarter open, some drafts),
by its members, with two reviewers each, build states, conflicts and tasks. Whose turn it is and which reviewers are
due come from `bitbucket_sync.turns.whose_turn`, as the sync would store them, computed here per row instead of
through `refresh_turns` (which reads the rows back: hours at this size). Ids are given here so the participants can
name their pull request without reading the ids back; the sequences are moved past them afterwards.

PostgreSQL: COPY (a million pull requests and two million reviewers in about a minute). SQLite: executemany.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

from django.db import connections, router
from django.db.models import Max
from django.utils import timezone

from bitbucket_sync import turns
from bitbucket_sync.models import Account, Participant, PullRequest, Repository, Workspace

BATCH = 50_000
BUILDS = ["SUCCESSFUL"] * 6 + ["FAILED", "INPROGRESS", "STOPPED", ""]
CONFLICTS = ["clean"] * 6 + ["conflicted", ""]


def _columns(model, values: dict) -> tuple[list[str], list]:
    """Every concrete column of `model`, in order, with `values` or the field's default."""
    names, defaults = [], []
    for field in model._meta.concrete_fields:
        names.append(field.column)
        if field.attname in values:
            defaults.append(None)
        else:
            # "" for a text field without a default, None for a nullable one.
            default = field.get_default()
            defaults.append(json.dumps(default) if field.get_internal_type() == "JSONField" else default)
    return names, defaults


def _write(model, rows: list[dict]) -> None:
    if not rows:
        return
    names, defaults = _columns(model, rows[0])
    attnames = [f.attname for f in model._meta.concrete_fields]
    json_fields = {f.attname for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"}
    tuples = []
    for row in rows:
        values = []
        for attname, default in zip(attnames, defaults, strict=True):
            if attname in row:
                value = row[attname]
                values.append(json.dumps(value) if attname in json_fields else value)
            else:
                values.append(default)
        tuples.append(values)
    table = model._meta.db_table
    connection = connections[router.db_for_write(model)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = ", ".join(f'"{n}"' for n in names)
            with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                for values in tuples:
                    copy.write_row(values)
        else:
            fields = model._meta.concrete_fields
            tuples = [
                [
                    f.get_db_prep_save(v, connection) if attname not in json_fields else v
                    for f, attname, v in zip(fields, attnames, values, strict=True)
                ]
                for values in tuples
            ]
            columns = ", ".join(f'"{n}"' for n in names)
            marks = ", ".join("%s" for _ in names)
            insert = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'  # noqa: S608 - the model's own table
            cursor.executemany(insert, tuples)


def _move_sequence(model) -> None:
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        sql = f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))"  # noqa: S608
        cursor.execute(sql)


def pull_requests(ws: Workspace, count: int, *, seed: int = 7, involve: int | None = None) -> None:
    """`involve`: an account pk that authors half of the first 200 pull requests and reviews the other half, all open
    and in the first repository, so that person's inbox and that repository's list have full pages at any size (the
    rest are spread over everyone and every repository)."""
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
    next_pr = (PullRequest.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    next_participant = (Participant.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    states = ["OPEN", "MERGED", "MERGED", "DECLINED"]
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        prs, participants = [], []
        for i in range(done, done + size):
            repo = repos[rnd.randrange(len(repos))]
            author = people[rnd.randrange(len(people))]
            updated = now - timedelta(minutes=rnd.randrange(60 * 24 * 365))
            state = states[i % len(states)]
            involved = involve is not None and i < 200
            if involved:
                # In the first repository: its filtered inbox shows a full page at any size, like the others.
                repo = repos[0]
                state = "OPEN"
                if i % 2 == 0:
                    author = involve
            numbers[repo] = numbers.get(repo, 0) + 1
            draft = state == "OPEN" and rnd.random() < 0.05
            source = f"{rnd.getrandbits(48):012x}"
            build = rnd.choice(BUILDS)
            conflict = rnd.choice(CONFLICTS)
            tasks = rnd.choice((0, 0, 0, 1, 2))
            reviewers = []
            candidates = rnd.sample(people, 3)
            if involved and i % 2 and author != involve:
                candidates = [involve, *candidates]
            for account in candidates:
                if account == author or len(reviewers) == 2 or any(a == account for a, _, _ in reviewers):
                    continue
                roll = rnd.random()
                review = "approved" if roll < 0.4 else "changes_requested" if roll < 0.45 else ""
                # One review in ten was given on an older commit: a re-review is due.
                on = "" if not review else source if rnd.random() < 0.9 else f"{rnd.getrandbits(48):012x}"
                reviewers.append((account, review, on))
            turn = turns.whose_turn(
                turns.Facts(
                    state=state,
                    draft=draft,
                    author=author,
                    source_commit=source,
                    reviews=tuple(turns.Review(a, state=r, reviewed_commit=on) for a, r, on in reviewers),
                    builds=(build,) if build else None,
                    task_count=tasks,
                    conflict_state=conflict,
                )
            )
            pk = next_pr
            next_pr += 1
            prs.append(
                {
                    "id": pk,
                    "workspace_id": ws.pk,
                    "repository_id": repo,
                    "number": numbers[repo],
                    "title": f"Change {i} in repository {repo}",
                    "description": "Some words about the change.",
                    "state": state,
                    "draft": draft,
                    "author_id": author,
                    "source_branch": f"feature/{i}",
                    "source_commit": source,
                    "destination_branch": "main",
                    "destination_commit": f"{rnd.getrandbits(48):012x}",
                    "created_on": updated - timedelta(days=1),
                    "updated_on": updated,
                    "synced_at": updated,
                    "comment_count": rnd.randrange(10),
                    "task_count": tasks,
                    "build_state": build,
                    "statuses_synced_for": source if build else "",
                    "conflict_state": conflict,
                    "turn": turn.holder,
                    "turn_since": updated,
                    "turn_reasons": list(turn.reasons),
                }
            )
            for account, review, on in reviewers:
                participants.append(
                    {
                        "id": next_participant,
                        "pull_request_id": pk,
                        "account_id": account,
                        "role": Participant.Role.REVIEWER,
                        "approved": review == "approved",
                        "state": review,
                        "reviewed_commit": on,
                        "needs_review": account in turn.reviewers_due,
                        "attention": turns.reviewer_attention(turn, turns.Review(account), author),
                        "pull_request_updated_on": updated,
                    }
                )
                next_participant += 1
        _write(PullRequest, prs)
        _write(Participant, participants)
        done += size
    _move_sequence(PullRequest)
    _move_sequence(Participant)
    turns.refresh_open_counts(repos)
