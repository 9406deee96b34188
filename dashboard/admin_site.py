"""The Django admin as bbdash mounts it: signed-in members get a 404 like every other staff page, and its login form
is throttled like the site's own."""

from functools import update_wrapper

from django.contrib.admin import AdminSite
from django.http import Http404

from dashboard.forms.accounts import AdminLoginForm


class SiteAdmin(AdminSite):
    login_form = AdminLoginForm

    def admin_view(self, view, cacheable=False):
        """Django's check, except that a signed-in member gets 404 instead of the admin's sign-in page (which would
        say the admin is there and ask for a staff account); anonymous visitors still go to the sign-in page."""
        checked = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise Http404
            return checked(request, *args, **kwargs)

        return update_wrapper(inner, checked)
