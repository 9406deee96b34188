"""Sign-in forms: Django's own, with failed passwords throttled (dashboard.login_throttle) on the login page and the
admin's alike."""

from typing import Any, cast

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from dashboard import login_throttle


class ThrottledSignIn(forms.Form):
    """Refuses a paused sign-in before the password is checked; counts the attempts whose password was wrong."""

    # Set by Django's sign-in forms this is mixed into.
    request: HttpRequest | None
    user_cache: Any

    def clean(self):
        request = cast(HttpRequest, self.request)  # the login and admin sign-in views always pass it
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username and login_throttle.is_refused(request, username):
            raise forms.ValidationError(login_throttle.refusal_message(), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            # No user means the password did not match; a known user refused later (inactive, not staff on the
            # admin) gave the right password, which is not a guess.
            if username and password and self.user_cache is None:
                login_throttle.record_failure(request, username)
            raise
        if username:
            login_throttle.record_success(request, username)
        return cleaned


class LoginForm(ThrottledSignIn, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledSignIn, AdminAuthenticationForm):
    pass
