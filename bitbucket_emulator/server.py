"""The `Emulator` handle: builds the world, serves it over HTTP (http_server.py), stops it; the state-file saver and
the credential listings (`--credentials-out`)."""

from __future__ import annotations

import logging
import os
import threading
from typing import cast

from . import seeds
from .cloud import webhook_payloads
from .cloud.app import EmulatorApp
from .controls.switches import Controls
from .controls.webhooks import WebhookDispatcher
from .datacenter.app import DataCenterApp
from .datacenter.routes import ROUTES as DATACENTER_ROUTES
from .datacenter.webhooks import DcWebhookDispatcher
from .http_server import Handler, Server
from .world import persistence
from .world.state import World

log = logging.getLogger("bitbucket_emulator")


class Sites:
    """The HTTP entry: requests under the Data Center site's context path go to its app, the rest to Cloud's."""

    def __init__(self, cloud: EmulatorApp, datacenter: DataCenterApp):
        self.cloud, self.datacenter = cloud, datacenter

    def __call__(self, environ, start_response):
        if self.datacenter.handles(environ.get("PATH_INFO", "")):
            return self.datacenter(environ, start_response)
        return self.cloud(environ, start_response)


class Emulator:
    """A running emulator. Start it with `Emulator.start(...)`; stop it with `stop()`."""

    _seed: tuple[str | dict | None, dict[str, int]]  # set by start(), read by reset()

    def __init__(self, world: World, server: Server, app: EmulatorApp, state_file: str | None):
        self.world = world
        self.app = app
        self.controls: Controls = app.controls
        self._server = server
        self.state_file = state_file
        # An AF_INET server's address is (str, int); the stubs also allow bytes and AF_UNIX strings.
        host, port = cast(tuple[str, int], server.server_address[:2])
        self.host, self.port = host, port
        self.base_url = f"http://{host}:{port}"
        self.api_url = self.base_url + "/2.0"
        world.base_url = self.base_url
        self.webhooks = WebhookDispatcher(world, webhook_payloads.payload, controls=self.controls)
        # The Data Center site's webhook sender (its hooks and event keys are its own).
        self.datacenter_webhooks = DcWebhookDispatcher(world, controls=self.controls)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator-http", daemon=True
        )
        self._saver: threading.Thread | None = None
        self._saved_version = -1

    @classmethod
    def start(
        cls,
        seed: str | dict | None = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
        controls: bool = True,
        app_passwords: bool = True,
        state_file: str | None = None,
        verbose: bool = False,
        **scale_params: int,
    ) -> Emulator:
        """Build the world (from `state_file` if it exists, else from `seed`), listen, return once listening."""
        if state_file and os.path.exists(state_file):
            world = persistence.load(state_file)
            # The state file keeps the Cloud world only; the Data Center site comes back from the seed.
            if seed != "scale":  # the scale seed has no Data Center site (and is slow to build)
                world.datacenter = seeds.load_seed(seed, **scale_params).datacenter
        else:
            world = seeds.load_seed(seed, **scale_params)
        world.app_passwords_enabled = app_passwords
        app = EmulatorApp(world, controls_enabled=controls)
        handler = type("Handler", (Handler,), {"verbose": verbose})
        server = Server(host, port, Sites(app, DataCenterApp(world, app.controls, DATACENTER_ROUTES)), handler=handler)
        emu = cls(world, server, app, state_file)
        emu._seed = (seed, scale_params)
        app.emulator = emu
        emu._thread.start()
        if state_file:
            emu._saved_version = world.version if os.path.exists(state_file) else -1
            emu._save()
            emu._saver = threading.Thread(target=emu._save_loop, name="emulator-state", daemon=True)
            emu._saver.start()
        return emu

    # ---- accounts --------------------------------------------------------------------------------------------
    @property
    def datacenter_url(self) -> str | None:
        """`<base>/<context>/rest/api/1.0` of the Data Center site, when the world has one."""
        site = self.world.datacenter
        return None if site is None else f"{self.base_url}{site.context_path}/rest/api/1.0"

    @property
    def accounts(self) -> list[dict]:
        with self.world.lock:
            return _accounts(self.world)

    @property
    def access_tokens(self) -> list[dict]:
        with self.world.lock:
            return _access_tokens(self.world)

    @property
    def datacenter_credentials(self) -> dict | None:
        """The Data Center site's users (Basic name:password) and HTTP access tokens, as `--credentials-out`
        writes them; None without a site."""
        with self.world.lock:
            site = self.world.datacenter
            if site is None:
                return None
            users = [
                {"name": u.name, "slug": u.slug, "display_name": u.display_name, "password": u.password}
                for u in site.users.values()
            ]
            tokens = [
                {
                    "name": t.name,
                    "kind": t.kind,
                    "scope": t.owner_slug
                    if t.kind == "personal"
                    else "/".join(filter(None, [t.project_key, t.repo_slug])),
                    "permissions": list(t.permissions),
                    "token": t.token,
                }
                for t in site.tokens.values()
            ]
        return {"url": self.datacenter_url, "users": users, "tokens": tokens}

    def account(self, username: str) -> dict:
        for a in self.accounts:
            if a["username"] == username:
                return a
        raise KeyError(username)

    def access_token(self, name: str) -> dict:
        for t in self.access_tokens:
            if t["name"] == name:
                return t
        raise KeyError(name)

    def reset(self) -> None:
        """Put the world back to its seed (not the state file): accounts, repositories and pull requests as at
        start; webhook subscriptions and time travel are gone too. Controls and request counts are left alone."""
        seed, scale_params = self._seed
        self.world.replace_with(seeds.load_seed(seed, **scale_params))

    # ---- state file ------------------------------------------------------------------------------------------
    def _save(self) -> None:
        if not self.state_file:
            return
        with self.world.lock:
            version = self.world.version
            if version == self._saved_version:
                return
            persistence.save(self.world, self.state_file)
            self._saved_version = version

    def _save_loop(self) -> None:
        while not self._stopped.wait(1.0):
            try:
                self._save()
            except OSError as exc:
                log.warning("could not write the state file: %s", exc)

    def serve_forever(self) -> None:
        """Block until interrupted (used by the command line)."""
        try:
            self._stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._stopped.set()
        self.webhooks.stop()
        self.datacenter_webhooks.stop()
        self._save()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _accounts(world: World) -> list[dict]:
    """The seeded people as `--credentials-out` writes them."""
    out = []
    for u in world.users.values():
        out.append(
            {
                "display_name": u.display_name,
                "uuid": u.uuid,
                "account_id": u.account_id,
                "email": u.email,
                "username": u.username,
                "api_token": u.api_token,
                "app_password": u.app_password,
                "workspaces": sorted(ws.slug for ws in world.workspaces.values() if u.uuid in ws.members),
            }
        )
    return out


def _access_tokens(world: World) -> list[dict]:
    """The access tokens as `--credentials-out` writes them (`scope`: workspace, workspace/KEY or workspace/repo)."""
    out = []
    for t in world.access_tokens.values():
        ws = world.workspaces[t.workspace_uuid]
        if t.scope_kind == "workspace":
            scope = ws.slug
        elif t.scope_kind == "project":
            scope = f"{ws.slug}/{t.project_key}"
        else:
            repo = world.repositories.get(t.repository_uuid or "")
            scope = world.full_name(repo) if repo else f"{ws.slug}/?"
        out.append(
            {"token": t.token, "name": t.name, "scope_kind": t.scope_kind, "scope": scope, "scopes": list(t.scopes)}
        )
    return out
