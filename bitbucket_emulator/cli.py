"""`bbdash-emulator` / `python manage.py bitbucket_emulator`: run the emulator from the command line."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from .server import Emulator


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bbdash-emulator",
        description="A Bitbucket Cloud API 2.0 emulator for bbdash's tests, demo and benchmarks.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7990, help="port to listen on (default 7990; 0 picks a free one)")
    p.add_argument("--seed", default="demo", help="demo | scale | PATH.json (see the seed format in the README)")
    p.add_argument("--state-file", help="load the world from this file if it exists, and keep saving it there")
    p.add_argument("--credentials-out", help="write the seeded accounts and access tokens to this JSON file")
    p.add_argument("--controls", action="store_true", help="enable the /_emulator/ control API (tests, benchmarks)")
    p.add_argument(
        "--no-app-passwords",
        action="store_true",
        help="refuse app passwords with 401, as Bitbucket does since 2026-07-28",
    )
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    scale = p.add_argument_group("scale seed")
    scale.add_argument("--repos", type=int, help="repositories (default 20)")
    scale.add_argument("--pull-requests", type=int, help="pull requests per repository (default 50)")
    scale.add_argument("--members", type=int, help="workspace members (default 50)")
    scale.add_argument("--branches", type=int, help="extra branches per repository (default 10)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    scale = {
        "repos": args.repos,
        "pull_requests": args.pull_requests,
        "members": args.members,
        "branches": args.branches,
    }
    try:
        emu = Emulator.start(
            seed=args.seed,
            host=args.host,
            port=args.port,
            controls=args.controls,
            app_passwords=not args.no_app_passwords,
            state_file=args.state_file,
            verbose=args.verbose,
            **{k: v for k, v in scale.items() if v is not None},
        )
    except (OSError, ValueError) as exc:
        print(f"bbdash-emulator: {exc}", file=sys.stderr)
        return 2
    accounts, tokens = emu.accounts, emu.access_tokens
    if args.credentials_out:
        with open(args.credentials_out, "w", encoding="utf-8") as fh:
            data: dict = {"accounts": accounts, "access_tokens": tokens}
            if emu.datacenter_credentials is not None:
                data["datacenter"] = emu.datacenter_credentials
            json.dump(data, fh, indent=2)
    print(f"Bitbucket emulator listening on {emu.api_url}", flush=True)
    print(
        f"  controls: {'on at ' + emu.base_url + '/_emulator/' if args.controls else 'off'}; "
        f"app passwords: {'off' if args.no_app_passwords else 'on'}"
    )
    if len(accounts) <= 20:
        print("  accounts (API token: Basic email:token; app password: Basic username:password):")
        for a in accounts:
            print(
                f"    {a['username']:<8} {a['display_name']:<16} {a['email']:<20} "
                f"workspaces={','.join(a['workspaces'])}"
            )
            print(f"             api_token={a['api_token']}")
            print(f"             app_password={a['app_password']}")
        for t in tokens:
            print(f"  access token {t['name']} ({t['scope_kind']} {t['scope']}; {' '.join(t['scopes'])}):")
            print(f"             Bearer {t['token']}")
    else:
        print(f"  {len(accounts)} accounts, {len(tokens)} access tokens (use --credentials-out to get them)")
    if emu.datacenter_url:
        print(f"  Data Center site at {emu.datacenter_url} (users and tokens: --credentials-out)")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, lambda *_: emu._stopped.set())
    emu.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
