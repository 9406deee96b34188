"""Every relative time on a page ("3 hours ago") goes through `reltime`: a `<time>` element whose `datetime` is the
moment in UTC (static/js/timezone.js keeps the text current from it) and whose `title` is the absolute time in the
viewer's time zone (activated by `dashboard.timezones.ViewerTimeZoneMiddleware`), naming that zone.
Labels such as "until 14:05" use `|time:"H:i T"`: the viewer's zone, and its name.
"""

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

register = template.Library()


def _aware(value: datetime) -> datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def _zone_name(local: datetime) -> str:
    return local.tzname() or str(timezone.get_current_timezone())


@register.filter
def reltime(value: object, arg: str = "ago") -> str:
    """`{{ when|reltime }}` → "<time …>3 hours ago</time>"; `{{ when|reltime:"bare" }}` → "…>3 hours</time>"
    (for "waiting for 3 hours"). Anything that is not a datetime renders as nothing."""
    if not isinstance(value, datetime):
        return ""
    moment = _aware(value)
    local = timezone.localtime(moment)
    bare = arg == "bare"
    if (timezone.now() - moment).total_seconds() < 60:  # timesince would say "0 minutes"
        text = "less than a minute" if bare else "just now"
    else:
        text = timesince(moment) if bare else f"{timesince(moment)} ago"
    return format_html(
        '<time datetime="{}" title="{}" data-relative="{}">{}</time>',
        moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        f"{local:%Y-%m-%d %H:%M} {_zone_name(local)}",
        "" if bare else "ago",
        text,
    )
