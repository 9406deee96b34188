"""Tags into the mirror: listed with the branches (same cadence, same rule: prune only after a complete listing)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import batched

from django.utils import timezone

from bitbucket_sync.client import BitbucketClient, records
from bitbucket_sync.models import Repository, Tag

from .upserts import Counts

BATCH = 100


def _values(record: records.Tag) -> dict:
    return {
        "target_hash": record.target.hash[:40],
        "target_date": record.target.date,
        "message": record.message,
        "tagged_on": record.date,
        "tagger_raw": (record.tagger.raw if record.tagger else "")[:500],
        "removed_at": None,
    }


def upsert_tags_page(*, repository: Repository, tag_records: Sequence[records.Tag]) -> tuple[dict[str, Tag], Counts]:
    """Tag rows for a page of a tag listing, by name (a removed tag made again is live again)."""
    counts = Counts()
    names = [r.name[:255] for r in tag_records]
    existing = {t.name: t for t in Tag.objects.filter(repository=repository, name__in=names)}
    now = timezone.now()
    to_create, to_update = [], []
    for record in tag_records:
        values = _values(record)
        row = existing.get(record.name)
        if row is None:
            row = Tag(repository=repository, name=record.name[:255], synced_at=now, **values)
            existing[record.name] = row
            to_create.append(row)
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.synced_at = now
            to_update.append(row)
    if to_create:
        Tag.objects.bulk_create(to_create, ignore_conflicts=True)
        existing.update({t.name: t for t in Tag.objects.filter(repository=repository, name__in=names)})
    if to_update:
        Tag.objects.bulk_update(to_update, [*_values(tag_records[0]), "synced_at"])
    counts.created, counts.updated = len(to_create), len(to_update)
    return existing, counts


def upsert_tag(*, repository: Repository, record: records.Tag) -> Tag:
    rows, _ = upsert_tags_page(repository=repository, tag_records=[record])
    return rows[record.name]


def mark_tag_removed(*, repository: Repository, name: str) -> None:
    Tag.objects.live().filter(repository=repository, name=name).update(removed_at=timezone.now())


def mark_tags_removed(*, repository: Repository, seen_names: Iterable[str]) -> int:
    """After a complete tag listing: every live tag it did not name is removed."""
    return (
        Tag.objects.live()
        .filter(repository=repository)
        .exclude(name__in=set(seen_names))
        .update(removed_at=timezone.now())
    )


def sync_tags(*, repository: Repository, client: BitbucketClient, counts: Counts, heartbeat=lambda: None) -> None:
    """Every tag of the repository; those the completed listing did not name are marked removed."""
    seen: set[str] = set()
    for page in batched(client.iter_tags(repository.workspace.key, repository.slug), BATCH):
        _, page_counts = upsert_tags_page(repository=repository, tag_records=page)
        counts.add(page_counts)
        seen.update(r.name for r in page)
        heartbeat()
    counts.removed += mark_tags_removed(repository=repository, seen_names=seen)
