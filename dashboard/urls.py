"""URLs. App pages live under /-/; everything after the last block mirrors Bitbucket's own paths, so a Bitbucket
URL's path opens the same thing here. Those Bitbucket-shaped patterns start with a workspace slug and must stay last.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from dashboard.forms.accounts import LoginForm
from dashboard.views import (
    attention,
    audit,
    branch_cleanup,
    branches,
    changes,
    commits,
    compare,
    credentials,
    datacenter_paths,
    file_edits,
    files,
    health,
    home,
    markdown,
    mentions,
    people,
    pull_request_actions,
    pull_request_comments,
    pull_request_insights,
    pull_requests,
    repositories,
    review_marks,
    reviews,
    suggest,
    sync_status,
    tags,
    theme,
    webhooks,
    workspaces,
)


def datacenter_routes() -> list:
    """Data Center's web paths under `/@<site-label>/`, for a project (`projects/<KEY>`) and a personal project
    (`users/<user>`): each redirects to the dashboard's page for the same thing (dashboard.views.datacenter_paths).
    A Cloud workspace slug never starts with `@`, so none of these can shadow a Cloud path."""
    dc = datacenter_paths
    routes = []
    for owner, suffix in (("projects/<str:project_key>", ""), ("users/<str:user_slug>", "_personal")):
        root = f"@<str:site_label>/{owner}"
        repo = f"{root}/repos/<str:repo_slug>"
        routes += [
            path(root, dc.project_home, name=f"datacenter_project{suffix}"),
            path(f"{root}/", dc.project_home),
            path(repo, dc.repository_home, name=f"datacenter_repository{suffix}"),
            path(f"{repo}/", dc.repository_home),
            path(f"{repo}/browse", dc.browse, name=f"datacenter_browse{suffix}"),
            path(f"{repo}/browse/<path:path>", dc.browse),
            path(f"{repo}/branches", dc.branches, name=f"datacenter_branches{suffix}"),
            path(f"{repo}/commits", dc.commits, name=f"datacenter_commits{suffix}"),
            path(f"{repo}/commits/<str:commit>", dc.commits),
            path(f"{repo}/pull-requests", dc.pull_requests, name=f"datacenter_pull_requests{suffix}"),
            path(f"{repo}/pull-requests/<int:number>", dc.pull_request, name=f"datacenter_pull_request{suffix}"),
            path(f"{repo}/pull-requests/<int:number>/<str:tab>", dc.pull_request),
        ]
    return routes


urlpatterns = [
    path("", home.home, name="home"),
    path("-/health", health.health, name="health"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    # Browsers ask for /favicon.ico on pages without an icon link (Django's admin): the site's icon, not a 404. Lazy,
    # because the hashed name comes from collectstatic's manifest, read at the first request.
    path("favicon.ico", login_not_required(RedirectView.as_view(url=lazy(static, str)("favicon.svg"))), name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("-/theme", theme.choose_theme, name="choose_theme"),
    # --- credentials: /-/credentials/, /-/me/ ---
    path("-/credentials/", credentials.credential_list, name="credential_list"),
    path("-/credentials/users/<int:user_id>/", credentials.credential_user, name="credential_user"),
    path("-/credentials/<int:credential_id>/check", credentials.credential_check, name="credential_check"),
    path("-/credentials/<int:credential_id>/revoke", credentials.credential_revoke, name="credential_revoke"),
    path(
        "-/credentials/workspaces/<int:workspace_id>/sync",
        credentials.workspace_sync_credential,
        name="workspace_sync_credential",
    ),
    path("-/me/", credentials.me_detail, name="me_detail"),
    path("-/me/check", credentials.me_check, name="me_check"),
    # --- sync status, people: /-/sync/, /-/people/ ---
    # Live updates first: "webhooks" would otherwise be taken for a workspace slug.
    path("-/sync/webhooks/", webhooks.webhook_delivery_list, name="webhook_delivery_list"),
    path(
        "-/sync/webhooks/<str:workspace_slug>/",
        webhooks.webhook_subscription_detail,
        name="webhook_subscription_detail",
    ),
    path(
        "-/sync/webhooks/<str:workspace_slug>/toggle",
        webhooks.webhook_subscription_toggle,
        name="webhook_subscription_toggle",
    ),
    path("-/sync/", sync_status.sync_list, name="sync_list"),
    path("-/sync/<str:workspace_slug>/", sync_status.sync_detail, name="sync_detail"),
    path("-/sync/<str:workspace_slug>/run", sync_status.sync_request, name="sync_request"),
    path("-/people/<str:account_id>/", people.person_detail, name="person_detail"),
    # --- Markdown boxes' preview: /-/markdown/<ws>/preview (the workspace names the mentions) ---
    path("-/markdown/<str:workspace_slug>/preview", markdown.markdown_preview, name="markdown_preview"),
    # --- the attention inbox across workspaces: /-/inbox/ ---
    path("-/inbox/", attention.attention_inbox, name="attention_inbox"),
    path("-/inbox/views/", attention.saved_view_create, name="saved_view_create"),
    path("-/inbox/views/<int:view_id>/delete", attention.saved_view_delete, name="saved_view_delete"),
    # --- type-ahead pickers' suggestions: /-/suggest/ ---
    path("-/suggest/people/", suggest.people_suggest, name="people_suggest"),
    path("-/suggest/repositories/", suggest.repository_suggest, name="repository_suggest"),
    path("-/suggest/<str:workspace_slug>/<str:repo_slug>/branches/", suggest.branch_suggest, name="branch_suggest"),
    # --- audit log and actions: /-/audit/ ---
    path("-/audit/", audit.audit_list, name="audit_list"),
    path("-/audit/<int:event_id>/recreate", branch_cleanup.branch_recreate, name="branch_recreate"),
    # --- webhooks: /hooks/ ---
    path("hooks/bitbucket/<uuid:workspace_uuid>/", webhooks.webhook_receive, name="webhook_receive"),
    path(
        "hooks/bitbucket-datacenter/<str:handle>/",
        webhooks.webhook_receive_datacenter,
        name="webhook_receive_datacenter",
    ),
    path("-/changes/", changes.change_poll, name="change_poll"),
    # --- Bitbucket Data Center's own web paths: /@<site-label>/projects/<KEY>/... (before the Cloud-shaped ones) ---
    *datacenter_routes(),
    # --- Bitbucket-shaped paths: /<workspace>/... (keep last) ---
    # Actions (POST routes under /<ws>/<repo>/...) go before the src catch-all, which takes any path after src/.
    path("<str:workspace_slug>/<str:repo_slug>/branches/new", branches.branch_create, name="branch_create"),
    path("<str:workspace_slug>/<str:repo_slug>/branches/delete", branch_cleanup.branch_delete, name="branch_delete"),
    path("<str:workspace_slug>/<str:repo_slug>/branches/cleanup", branch_cleanup.branch_cleanup, name="branch_cleanup"),
    path(
        "<str:workspace_slug>/<str:repo_slug>/branches/cleanup/confirm",
        branch_cleanup.branch_cleanup_confirm,
        name="branch_cleanup_confirm",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/branches/cleanup/result",
        branch_cleanup.branch_cleanup_result,
        name="branch_cleanup_result",
    ),
    path("<str:workspace_slug>/<str:repo_slug>/tags/", tags.tag_list, name="tag_list"),
    path("<str:workspace_slug>/<str:repo_slug>/tags/delete", tags.tag_delete, name="tag_delete"),
    path("<str:workspace_slug>/<str:repo_slug>/edit", file_edits.file_edit, name="file_edit"),
    path("<str:workspace_slug>/<str:repo_slug>/delete", file_edits.file_delete, name="file_delete"),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/new",
        pull_request_actions.pull_request_create,
        name="pull_request_create",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/edit",
        pull_request_actions.pull_request_update,
        name="pull_request_update",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/review",
        pull_request_actions.pull_request_review,
        name="pull_request_review",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comment",
        pull_request_actions.pull_request_comment,
        name="pull_request_comment",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/drafts",
        reviews.pull_request_drafts,
        name="pull_request_drafts",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/my-review",
        reviews.pull_request_review_panel,
        name="pull_request_review_panel",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/my-review/publish",
        reviews.pull_request_review_publish,
        name="pull_request_review_publish",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/my-review/discard",
        reviews.pull_request_review_discard,
        name="pull_request_review_discard",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/merge",
        pull_request_actions.pull_request_merge,
        name="pull_request_merge",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/merge/status/<str:key>",
        pull_request_actions.pull_request_merge_status,
        name="pull_request_merge_status",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/decline",
        pull_request_actions.pull_request_decline,
        name="pull_request_decline",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/tasks/",
        pull_request_insights.pull_request_tasks,
        name="pull_request_tasks",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/tasks/new",
        pull_request_insights.pull_request_task_create,
        name="pull_request_task_create",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/tasks/<int:task_id>/resolve",
        pull_request_insights.pull_request_task_state,
        {"verb": "resolve"},
        name="pull_request_task_resolve",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/tasks/<int:task_id>/reopen",
        pull_request_insights.pull_request_task_state,
        {"verb": "reopen"},
        name="pull_request_task_reopen",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/reports/",
        pull_request_insights.pull_request_reports,
        name="pull_request_reports",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comments/new",
        pull_request_comments.pull_request_comment_new,
        name="pull_request_comment_new",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comments/<int:comment_id>/reply",
        pull_request_comments.pull_request_comment_reply,
        name="pull_request_comment_reply",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comments/<int:comment_id>/edit",
        pull_request_comments.pull_request_comment_edit,
        name="pull_request_comment_edit",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comments/<int:comment_id>/delete",
        pull_request_comments.pull_request_comment_delete,
        name="pull_request_comment_delete",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comments/<int:comment_id>/resolve",
        pull_request_comments.pull_request_comment_state,
        {"verb": "resolve"},
        name="pull_request_comment_resolve",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comments/<int:comment_id>/reopen",
        pull_request_comments.pull_request_comment_state,
        {"verb": "reopen"},
        name="pull_request_comment_reopen",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/comments/<int:comment_id>/task",
        pull_request_comments.pull_request_comment_task,
        name="pull_request_comment_task",
    ),
    path("<str:workspace_slug>/", workspaces.workspace_detail, name="workspace_detail"),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/viewed-files",
        review_marks.pull_request_file_viewed,
        name="pull_request_file_viewed",
    ),
    path("<str:workspace_slug>/pull-requests/", pull_requests.pull_request_list, name="pull_request_list"),
    path("<str:workspace_slug>/members/", people.member_list, name="member_list"),
    path("<str:workspace_slug>/members/suggest", mentions.member_suggest, name="member_suggest"),
    path("<str:workspace_slug>/<str:repo_slug>/", repositories.repository_detail, name="repository_detail"),
    path("<str:workspace_slug>/<str:repo_slug>/branches/", repositories.branch_list, name="branch_list"),
    path(
        "<str:workspace_slug>/<str:repo_slug>/branches/compare/",
        compare.branch_compare_form,
        name="branch_compare_form",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/branches/compare/<path:spec>",
        compare.branch_compare,
        name="branch_compare",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/branches/ahead-behind",
        compare.branch_ahead_behind,
        name="branch_ahead_behind",
    ),
    path("<str:workspace_slug>/<str:repo_slug>/watchers/", repositories.watcher_list, name="watcher_list"),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/",
        pull_requests.repository_pull_request_list,
        name="repository_pull_request_list",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>",
        pull_requests.pull_request_detail,
        name="pull_request_detail",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/<path:rest>",
        pull_requests.pull_request_detail,
        name="pull_request_section",
    ),
    path(
        "<str:workspace_slug>/<str:repo_slug>/pull-requests/<int:number>/",
        pull_requests.pull_request_detail,
        name="pull_request_detail_slash",
    ),
    path("<str:workspace_slug>/<str:repo_slug>/commits/", commits.commit_list, name="commit_list"),
    # A ref (a branch name may hold slashes, or `branch/<name>` as Bitbucket writes it) or a commit hash.
    path("<str:workspace_slug>/<str:repo_slug>/commits/<path:rest>", commits.commit_list, name="commit_list_ref"),
    path("<str:workspace_slug>/<str:repo_slug>/history/<path:rest>", commits.file_history, name="file_history"),
    path("<str:workspace_slug>/<str:repo_slug>/src/", files.source_root, name="source_root"),
    path("<str:workspace_slug>/<str:repo_slug>/src/<path:rest>", files.source_detail, name="source_detail"),
]
