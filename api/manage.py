"""Operator CLI: ``python -m api.manage site create|list|update|show``,
``python -m api.manage token create|list|revoke`` and ``python -m api.manage user
create|grant|revoke|list|passwd`` (people's dashboard accounts, :mod:`api.manage_users`).

    python -m api.manage site create example.com --domain example.com \\
        --timezone Europe/Berlin --goal signup --origin https://www.example.com --mp-secret
    python -m api.manage token create --site example.com --label "Tableau, marketing"
    python -m api.manage token revoke 3f9a0c1d2e4b
    python -m api.manage user create owner@example.com
    python -m api.manage user grant owner@example.com example.com --role admin
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace

from analytics.config import Config
from analytics.sites import Site, SiteError, SiteRepository
from analytics.storage.session import connect
from api import manage_users
from api.read.tokens import EVERY_SITE, TokenError, TokenStore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m api.manage")
    sub = parser.add_subparsers(dest="noun", required=True)
    site = sub.add_parser("site", help="manage tracked sites").add_subparsers(
        dest="verb", required=True)
    for verb in ("create", "update"):
        cmd = site.add_parser(verb)
        cmd.add_argument("site_id")
        cmd.add_argument("--domain", required=verb == "create")
        cmd.add_argument("--timezone", help="IANA time zone, e.g. Asia/Kathmandu")
        cmd.add_argument("--goal", action="append", help="custom event name or page path")
        cmd.add_argument("--origin", action="append", help="extra allowed origin")
        cmd.add_argument("--retention-days", type=int)
        cmd.add_argument("--client-id", choices=["on", "off"],
                         help="accept the tracker's opt-in client-kept id")
        cmd.add_argument("--mp-secret", action="store_true",
                         help="make a new Measurement Protocol secret and print it once")
    site.add_parser("list")
    show = site.add_parser("show")
    show.add_argument("site_id")
    token = sub.add_parser("token", help="read API tokens").add_subparsers(
        dest="verb", required=True)
    create = token.add_parser("create", help="make a token and print it once")
    scope = create.add_mutually_exclusive_group(required=True)
    scope.add_argument("--site", action="append", help="a site the token may read")
    scope.add_argument("--all-sites", action="store_true", help="every site (operators)")
    create.add_argument("--label", default="", help="who or what uses it")
    token.add_parser("list")
    revoke = token.add_parser("revoke")
    revoke.add_argument("token_id")
    manage_users.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = Config.load()
    cluster, session = connect(config, config.cassandra_keyspace)
    try:
        repo = SiteRepository(session)
        if args.noun == "token":
            return _token(TokenStore(session), repo, args)
        if args.noun == "user":
            return manage_users.run(manage_users.accounts_of(config, session), repo, args)
        return _site(repo, args)
    except (SiteError, TokenError, *manage_users.ERRORS) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        cluster.shutdown()


def _site(repo: SiteRepository, args) -> int:
    if args.verb == "list":
        for site in repo.all():
            print(f"{site.site_id:<32}{site.domain:<32}{site.timezone}")
        return 0
    existing = repo.get(args.site_id)
    if args.verb == "show":
        if existing is None:
            print(f"error: no site {args.site_id!r}", file=sys.stderr)
            return 1
        print(json.dumps(_public(existing), indent=2))
        return 0
    if args.verb == "create" and existing is not None:
        print(f"error: site {args.site_id!r} exists; use `site update`", file=sys.stderr)
        return 1
    if args.verb == "update" and existing is None:
        print(f"error: no site {args.site_id!r}", file=sys.stderr)
        return 1
    site = existing or Site(site_id=args.site_id, domain=args.domain)
    changes = {}
    if args.domain:
        changes["domain"] = args.domain
    if args.timezone:
        changes["timezone"] = args.timezone
    if args.goal is not None:
        changes["goals"] = frozenset(args.goal)
    if args.origin is not None:
        changes["allowed_origins"] = frozenset(args.origin)
    if args.retention_days is not None:
        changes["retention_days"] = args.retention_days
    if args.client_id:
        changes["client_id_opt_in"] = args.client_id == "on"
    site = replace(site, **changes)
    secret = None
    if args.mp_secret:
        site, secret = site.with_new_secret()
    repo.save(site)
    print(json.dumps(_public(site), indent=2))
    if secret:
        print(f"Measurement Protocol api_secret (shown once): {secret}")
    return 0


def _token(store: TokenStore, sites: SiteRepository, args) -> int:
    if args.verb == "list":
        for token in store.all():
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            print(f"{token.token_id:<14}{state:<24}{','.join(sorted(token.sites)):<40}"
                  f"{token.label}")
        return 0
    if args.verb == "revoke":
        token = store.revoke(args.token_id)
        print(f"revoked {token.token_id} ({','.join(sorted(token.sites))})")
        return 0
    wanted = [EVERY_SITE] if args.all_sites else sorted(set(args.site))
    unknown = [s for s in wanted if s != EVERY_SITE and sites.get(s) is None]
    if unknown:
        raise TokenError(f"no site {', '.join(map(repr, unknown))}; create it first")
    token, secret = store.create(wanted, args.label)
    print(f"token {token.token_id} for {', '.join(wanted)} (shown once, store it now):")
    print(secret)
    return 0


def _public(site: Site) -> dict:
    data = asdict(site)
    data["goals"] = sorted(site.goals)
    data["allowed_origins"] = sorted(site.allowed_origins)
    data["mp_secret"] = "set" if data.pop("mp_secret_hash") else "not set"
    return data


if __name__ == "__main__":
    sys.exit(main())
