"""`{% icon "git-branch" %}`: an icon of the sprite (dashboard.icons), decorative (`aria-hidden`) where the words next
to it already say what it means; `{% icon "lock" label="Read-only" %}` for one that stands alone, which screen readers
then read as an image with that name. The name may be a variable, such as a state through one of the filters here:
`{% icon pull_request|pr_state_icon %}`; an empty name renders nothing. A builtin (settings.TEMPLATES)."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard import icons

register = template.Library()

register.filter("pr_state_icon", icons.pr_state_icon)
register.filter("pr_state_label", icons.pr_state_label)
register.filter("build_icon", icons.build_icon)
register.filter("status_icon", icons.status_icon)
register.filter("review_icon", icons.review_icon)


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """The icon's `<svg>`; its width and height attributes keep it text-sized should the stylesheet not load."""
    if not name:
        return SafeString("")
    if name not in icons.NAMES:
        raise ValueError(f"no icon {name!r} in the sprite (dashboard.icons.NAMES)")
    href = f"{static(icons.SPRITE_STATIC_NAME)}#{name}"
    if label:
        return format_html(
            '<svg class="icon icon-{}" width="16" height="16" role="img" aria-label="{}"><use href="{}"></use></svg>',
            name,
            label,
            href,
        )
    return format_html(
        '<svg class="icon icon-{}" width="16" height="16" aria-hidden="true"><use href="{}"></use></svg>', name, href
    )
