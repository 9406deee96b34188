"""Live updates through Bitbucket webhooks: registration, signature checks, applying deliveries, and health.

One workspace-level webhook per workspace (Bitbucket: `POST /workspaces/{ws}/hooks`, owners only, every repository
of the workspace). Each delivery is signed with the subscription's secret (`X-Hub-Signature: sha256=<HMAC-SHA256 of
the raw body>`), recorded once per `X-Request-UUID` and applied by a task: a pull request event upserts that pull
request, a push updates the branches it names when it starts at the mirror's tip (else the branch is read from
Bitbucket, so a replayed or late body never moves a branch back or deletes it), a build status event updates the
statuses of the open pull requests whose source tip it is on (an older `updated_on` never wins). Polling stays
the safety net: while deliveries flow, the scheduler polls at the slower `BBDASH_WEBHOOK_POLL_MINUTES`; when they
stop or a gap shows, `live_status` says so and polling returns to normal.

On Bitbucket Data Center a project plays the workspace: one project-level webhook (`POST {P}/webhooks`, PROJECT_ADMIN)
with Data Center's event keys (`pr:*`, `repo:refs_changed`), delivered to `/hooks/bitbucket-datacenter/<handle>/`,
named by `X-Request-Id`, signed the same way. A Data Center delivery is never applied as it stands: the pull request
it names is read again (`GET {PR}`, with its participants) and the branches a push names are read one by one; the
repository's branches and tags are re-listed by its next sync. Deliveries reach only workspaces of their own site.

* ``subscriptions``: the webhook on Bitbucket, turned on and off, checked and re-created.
* ``receiving``: signature checks, each delivery recorded once, the delivery log.
* ``applying``: a recorded delivery applied to the mirror.
* ``health``: whether deliveries keep a workspace fresh, and so how often it is polled.
* ``tasks``: the Celery tasks that apply deliveries and check subscriptions (registered by ``bitbucket_sync.tasks``).

Nothing here trusts a payload for who may see what: a delivery only touches repositories the mirror already has in
the subscription's workspace, and access rows come from each user's own credential as always.
"""

from bitbucket_sync.webhooks.applying import apply_delivery
from bitbucket_sync.webhooks.health import LiveState, LiveStatus, live_status, note_gap, poll_due, poll_minutes
from bitbucket_sync.webhooks.receiving import (
    MAX_BODY_BYTES,
    log_size,
    prune_deliveries,
    record_delivery,
    sign,
    stale_deliveries,
    verified_subscription,
    verify_signature,
)
from bitbucket_sync.webhooks.subscriptions import (
    EVENTS,
    WebhookError,
    check_subscription,
    disable_live_updates,
    enable_live_updates,
)

__all__ = [
    "EVENTS",
    "MAX_BODY_BYTES",
    "LiveState",
    "LiveStatus",
    "WebhookError",
    "apply_delivery",
    "check_subscription",
    "disable_live_updates",
    "enable_live_updates",
    "live_status",
    "log_size",
    "note_gap",
    "poll_due",
    "poll_minutes",
    "prune_deliveries",
    "record_delivery",
    "sign",
    "stale_deliveries",
    "verified_subscription",
    "verify_signature",
]
