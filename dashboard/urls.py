"""URLs. App pages live under /-/; everything after the last block mirrors Bitbucket's own paths, so a Bitbucket
URL's path opens the same thing here. Those Bitbucket-shaped patterns start with a workspace slug and must stay last.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard.views import health, home

urlpatterns = [
    path("", home.home, name="home"),
    path("-/health", health.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # --- credentials: /-/credentials/, /-/me/ ---
    # --- sync status, people: /-/sync/, /-/people/ ---
    # --- audit log and actions: /-/audit/ ---
    # --- webhooks: /hooks/ ---
    # --- Bitbucket-shaped paths: /<workspace>/... (keep last) ---
]
