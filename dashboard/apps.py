from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "bbdash"


class AdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with bbdash's admin site (dashboard.admin_site) as `admin.site`."""

    default_site = "dashboard.admin_site.SiteAdmin"
    # Django's AdminConfig is its app's default; this one must not be taken for the dashboard app's.
    default = False
