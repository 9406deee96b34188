"""Who may open the staff pages (credentials, live updates and their deliveries): one guard for all of them.

A member gets the same 404 as for a page that does not exist, so a staff page reveals nothing, not even that it is
there; the guard runs before the method check, so a GET on a staff-only POST answers 404 too.
"""

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse


def is_staff(user) -> bool:
    return bool(user.is_active and user.is_staff)


def staff_only[V: Callable[..., HttpResponse]](view: V) -> V:
    """Answer 404 unless the signed-in user is active staff; tests find staff pages by the `staff_only` mark."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_staff(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    guarded.staff_only = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]
