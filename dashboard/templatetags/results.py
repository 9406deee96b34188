"""What a filtered list says to a screen reader once a filter or a page link has swapped it in.

A list region carries the words in `data-announce` and static/js/busy.js reads them into a polite live region:
`<section id="pr-table" data-announce="{% results_summary page 'pull request' 'pull requests' %}">`. The words come
with the fragment, so announcing costs no second request. Most lists are a `selectors.Window`, which reads no COUNT:
then a page that is not the only one says how many rows it shows and whether more follow, not a total.
"""

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def results_summary(page: Any, one: str, many: str, empty: str = "") -> str:
    """The words for one page of a list: "12 pull requests", "1 branch", "No members match" (or `empty`), "25 pull
    requests on page 2, more on the next page"; `page` is a `selectors.Window` or a Django `Page` (whose paginator
    knows the total)."""
    shown = len(page)
    if not shown:
        return empty or f"No {many} match"
    paginator = getattr(page, "paginator", None)
    if paginator is not None:
        total = paginator.count
        counted = f"{total} {one if total == 1 else many}"
        return counted if paginator.num_pages == 1 else f"{counted}, page {page.number} of {paginator.num_pages}"
    counted = f"{shown} {one if shown == 1 else many}"
    if page.number == 1 and not page.has_next:
        return counted
    more = ", more on the next page" if page.has_next else ""
    return f"{counted} on page {page.number}{more}"
