"""Sign-in forms: Django's own, with failed passwords throttled (dashboard.login_throttle) on the login page and the
admin's alike."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from dashboard import login_throttle


class ThrottledSignIn(forms.Form):
    """Refuses a paused sign-in before the password is checked; counts the attempts whose password was wrong."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username and login_throttle.is_refused(self.request, username):
            raise forms.ValidationError(login_throttle.refusal_message(), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            # No user means the password did not match; a known user refused later (inactive, not staff on the
            # admin) gave the right password, which is not a guess.
            if username and password and self.user_cache is None:
                login_throttle.record_failure(self.request, username)
            raise
        if username:
            login_throttle.record_success(self.request, username)
        return cleaned


class LoginForm(ThrottledSignIn, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledSignIn, AdminAuthenticationForm):
    pass
