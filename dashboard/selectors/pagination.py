"""Pages of a list without a COUNT: `window()` over any ordered queryset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

PAGE_SIZE = 25
# Deep OFFSETs are slow on a large inbox and nobody reads page 4,000; filters are the way there.
MAX_PAGE = 2000


@dataclass
class Window:
    """One page of rows without a COUNT: one row more than the page is read to know whether a next page exists.

    COUNT(*) over a 100,000-row inbox with its joins costs more than the page itself, and a list ordered by "updated"
    needs only "next" and "previous".
    """

    object_list: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __bool__(self) -> bool:
        return bool(self.object_list)


def page_number(raw: Any) -> int:
    """A page number from the query string; anything unreadable is page 1."""
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def window(queryset: QuerySet, *, number: Any = 1, per_page: int = PAGE_SIZE) -> Window:
    number = page_number(number)
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Window(object_list=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page)
