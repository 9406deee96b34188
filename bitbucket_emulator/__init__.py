"""A Bitbucket Cloud API 2.0 emulator (and a Bitbucket Data Center site beside it) for bbdash's tests, demo and
benchmarks.

It imports nothing of `bitbucket_sync` or `dashboard` (and not Django): an emulator that shares the client's code
repeats its mistakes.

In-process use::

    from bitbucket_emulator import Emulator
    emu = Emulator.start(seed="demo", port=0, controls=True)   # "demo" | "scale" | dict | path to a seed file
    emu.api_url                  # "http://127.0.0.1:<port>/2.0"
    emu.account("alice")         # {"display_name", "uuid", "account_id", "email", "username", "api_token", ...}
    emu.access_tokens            # [{"token", "name", "scope_kind", "scope", "scopes"}]
    emu.datacenter_url           # "http://127.0.0.1:<port>/bitbucket/rest/api/1.0" (None without a site)
    emu.datacenter_credentials   # {"url", "users": [{"name", "password", ...}], "tokens": [{"token", "kind", ...}]}
    emu.world.add_member("acme", "zoe")  # test-facing mutations, see below
    emu.stop()

Control API (only with `controls=True` / `--controls`; otherwise every `/_emulator/` path is 404). JSON in and out:

==========================================  ======================================================================
``GET  /_emulator/``                        current latency, rate limit, faults, "now", app-password switch
``GET  /_emulator/requests``                ``{"total", "by_credential": {cred: {"total", "status": {code: n},
                                            "endpoints": {family: {...}}}}, "by_endpoint": {family: {...}}}``;
                                            credentials are ``api_token:<username>``, ``app_password:<username>``,
                                            ``access_token:<name>``, ``anonymous``, ``invalid``; families are
                                            ``GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests``
``POST /_emulator/requests/reset``          zero the counters
``POST /_emulator/latency``                 ``{"ms": 50, "jitter_ms": 10}`` added to every API request;
                                            ``DELETE`` turns it off
``POST /_emulator/rate-limit``              ``{"limit": 10, "window": 3600, "retry_after": 30 | null,
                                            "resource": "repositories" | "all"}``: at most `limit` requests per
                                            rolling `window` seconds per credential, then ``429`` ``text/plain``
                                            (with ``Retry-After`` only when `retry_after` is set); ``DELETE`` off
``POST /_emulator/faults``                  ``{"every": 3, "kind": "500" | "555" | "409" | "drop" | "slow",
                                            "delay": 2.0, "path": "/2.0/repositories/"}``: every Nth API request
                                            (optionally only under `path`) fails that way; ``DELETE`` off
``GET|POST /_emulator/time``                ``{"shift_seconds": 3600}`` moves "now" (for ``updated_on``)
``POST /_emulator/slow-merges``            ``{"enabled": true}``: a synchronous merge answers 202 + task-status
                                            URL, as Bitbucket does when a merge outlasts its timeout
``POST /_emulator/app-passwords``           ``{"enabled": false}`` refuses app passwords (as after 2026-07-28)
``POST /_emulator/reset``                   back to the seed: repositories, PRs, hooks, time travel (as `emu.reset()`)
``GET  /_emulator/webhooks/deliveries``     every delivery with its attempts and answers (``"dropped": true``: lost)
``POST /_emulator/webhooks/drop``           ``{"count": 2 | null, "events": ["pullrequest:updated"] | null}``: lose
                                            the next `count` webhook deliveries (every one when null), only of those
                                            events when given; logged as dropped, never sent nor retried; ``GET``
                                            shows the rule, ``DELETE`` stops it
``GET  /_emulator/accounts``                the seeded accounts and access tokens (as ``--credentials-out``)
``POST /_emulator/datacenter/rate-limit``   ``{"capacity": 60, "fill_rate": 5}``: the Data Center site's token bucket
                                            per user, then ``429`` with ``Retry-After``; ``DELETE`` off
``POST /_emulator/datacenter/switches``     ``{"newest_by": "created", "reviews_move_updated": true}``: how
                                            ``order=NEWEST`` sorts pull requests, whether a review moves
                                            ``updatedDate``; ``pull_request_page_max`` caps the PR pages (GET shows)
``POST /_emulator/world/<action>``          change the world; the body holds the keyword arguments:
                                            ``rename-repository`` (workspace, repo_slug, new_name),
                                            ``delete-repository`` (workspace, repo_slug),
                                            ``add-member`` / ``remove-member`` (workspace, username[, role]),
                                            ``grant`` (workspace, repo_slug, username, permission) / ``revoke``,
                                            ``commit`` (workspace, repo_slug, branch, username, files
                                            {path: text or null}[, message, parent]),
                                            ``update-pull-request-title`` (workspace, repo_slug, pr_id, username,
                                            title), ``add-watcher`` / ``remove-watcher`` (workspace, repo_slug,
                                            username), ``time-travel`` (seconds)
==========================================  ======================================================================

Layout (dependencies point one way: `world` <- `controls` <- `cloud`; `seeds` build worlds; the top level wires
them together; a second API, such as Bitbucket Data Center's, would sit next to `cloud/` over the same world):

* top level: `server` (the `Emulator` handle, the state-file saver, the `--credentials-out` listings),
  `http_server` (threaded keep-alive WSGI server), `cli` (the command line).
* `world/`: `state` (the `World` and its rules), `objects` (its dataclasses, scopes, webhook event keys), `ids`
  (uuids, hashes, tokens), `merge` (three-way merges, diffs), `persistence` (the state file).
* `cloud/` (API 2.0): `app` (the credential gate, injected latency/limits/faults, `fields=`, ETags), `routes`
  (paths, handlers, scopes), `views_accounts` / `views_repositories` / `views_pullrequests` / `views_reviewers`
  (handlers), `context` (what a handler gets and gives back), `auth` (credentials, scopes, visibility), `query`
  (pagination, `fields=`, BBQL), `serialize` (Bitbucket's JSON shapes), `webhook_payloads`, `avatars` (SVG
  pictures for avatar links).
* `controls/`: `switches` (latency, rate limits, faults, request counts, lost webhook deliveries), `api` (the
  `/_emulator/` HTTP API), `webhooks` (delivery: queue, retries, signatures).
* `seeds/`: `demo.json` with `demo_files` (the `demo` seed, a seed file), `scale` (the `scale` seed, a generator
  with parameters), `build` (a world from any seed document).

The same mutations are methods of `emu.world` (`rename_repository`, `delete_repository`, `add_member`,
`remove_member`, `grant`, `revoke`, `commit_files`, `update_pull_request_title`, `add_watcher`, `remove_watcher`,
`time_travel`), and the controls are methods of `emu.controls` (`set_latency`, `set_rate_limit`, `set_fault`,
`counts`, `reset_counts`, `drop_webhooks`, `stop_dropping_webhooks`).
"""

from .server import Emulator

__all__ = ["Emulator"]
