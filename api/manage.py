"""Operator CLI: ``python -m api.manage site create|list|update|show``,
``python -m api.manage token create|list|revoke`` and ``python -m api.manage user
create|grant|revoke|list|passwd`` (people's dashboard accounts, :mod:`api.manage_users`).

    python -m api.manage site create example.com --domain example.com \\
        --timezone Europe/Berlin --goal signup --origin https://www.example.com --mp-secret
    python -m api.manage site update example.com \\
        --umami-website-id 3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45 --matomo-idsite 1 \\
        --snowplow-app-id website
    python -m api.manage token create --site example.com --label "Tableau, marketing" \\
        --expires-in 90d
    python -m api.manage token revoke 3f9a0c1d2e4b
    python -m api.manage user create owner@example.com
    python -m api.manage user grant owner@example.com example.com --role admin
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta

from analytics.config import Config
from analytics.sites import Site, SiteError, SiteRepository
from analytics.storage.session import connect
from api import manage_users
from api.read.tokens import EVERY_SITE, TokenError, TokenStore

MAX_EXPIRY = timedelta(days=3650)
_DURATION = re.compile(r"(\d{1,6})([dh])")


def token_site(text: str) -> str:
    """``--site``: a site id; ``*`` is not one (a token for every site needs
    ``--all-sites``)."""
    if text.strip() == EVERY_SITE:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a site id; a token that reads every site is made with "
            "--all-sites")
    return text


def duration(text: str) -> timedelta:
    """``--expires-in``: ``90d`` (days) or ``12h`` (hours), at most ten years."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a number of days or hours, like 90d or 12h")
    number, unit = int(match.group(1)), match.group(2)
    length = timedelta(days=number) if unit == "d" else timedelta(hours=number)
    if not timedelta(0) < length <= MAX_EXPIRY:
        raise argparse.ArgumentTypeError(
            f"{text!r}: between 1h and {MAX_EXPIRY.days}d (leave it out for a token that "
            "does not expire)")
    return length


def day(text: str) -> date:
    """``--expires-at``: a date ``YYYY-MM-DD`` (the token stops working at 00:00 UTC)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        try:
            return date.fromisoformat(text.strip())
        except ValueError:  # 2027-02-30
            pass
    raise argparse.ArgumentTypeError(f"{text!r}: expected a date YYYY-MM-DD, like 2027-03-01")


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
        cmd.add_argument("--umami-website-id", metavar="UUID",
                         help="take Umami's events sent for this website id (the "
                              "data-website-id of an Umami script); '' takes none")
        cmd.add_argument("--matomo-idsite", metavar="N",
                         help="take Matomo's requests sent for this idsite (the setSiteId of "
                              "matomo.js, the site id of matomo-tracker); '' takes none")
        cmd.add_argument("--snowplow-app-id", metavar="APP_ID",
                         help="take Snowplow's events sent for this app id (the appId of "
                              "a Snowplow tracker, its aid); '' takes none")
    site.add_parser("list")
    show = site.add_parser("show")
    show.add_argument("site_id")
    token = sub.add_parser("token", help="read API tokens").add_subparsers(
        dest="verb", required=True)
    create = token.add_parser("create", help="make a token and print it once")
    scope = create.add_mutually_exclusive_group(required=True)
    scope.add_argument("--site", action="append", type=token_site,
                       help="a site the token may read (repeatable)")
    scope.add_argument("--all-sites", action="store_true", help="every site (operators)")
    create.add_argument("--label", default="", help="who or what uses it")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", type=duration, metavar="Nd|Nh",
                        help="it stops working this long from now (90d, 12h); default: never")
    expiry.add_argument("--expires-at", type=day, metavar="YYYY-MM-DD",
                        help="it stops working at 00:00 UTC of this day")
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
            return run_token(TokenStore(session), repo, args)
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
    if args.umami_website_id is not None:
        changes["umami_website_id"] = _umami_website_id(repo, args.site_id,
                                                        args.umami_website_id)
    if args.matomo_idsite is not None:
        changes["matomo_idsite"] = _matomo_idsite(repo, args.site_id, args.matomo_idsite)
    if args.snowplow_app_id is not None:
        changes["snowplow_app_id"] = _snowplow_app_id(repo, args.site_id,
                                                      args.snowplow_app_id)
    site = replace(site, **changes)
    secret = None
    if args.mp_secret:
        site, secret = site.with_new_secret()
    repo.save(site)
    print(json.dumps(_public(site), indent=2))
    if secret:
        print(f"Measurement Protocol api_secret (shown once): {secret}")
    return 0


def _umami_website_id(repo: SiteRepository, site_id: str, text: str) -> str | None:
    """``--umami-website-id``: lower case; :class:`SiteError` when another site has it
    (the write service would refuse its events as ambiguous)."""
    wanted = text.strip().lower() or None
    others = [s.site_id for s in repo.all()
              if wanted and s.umami_website_id == wanted and s.site_id != site_id]
    if others:
        raise SiteError(f"Umami website id {wanted} belongs to site {others[0]!r}; "
                        "remove it there first")
    return wanted


def _matomo_idsite(repo: SiteRepository, site_id: str, text: str) -> int | None:
    """``--matomo-idsite``: a whole number from 1 ('' removes it); :class:`SiteError` when
    it is not one or another site has it (the write service would refuse its requests as
    ambiguous)."""
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise SiteError(f"Matomo idsite {text[:40]!r} must be a whole number, like 1")
    wanted = int(text)
    others = [s.site_id for s in repo.all()
              if s.matomo_idsite == wanted and s.site_id != site_id]
    if others:
        raise SiteError(f"Matomo idsite {wanted} belongs to site {others[0]!r}; remove it "
                        "there first")
    return wanted


def _snowplow_app_id(repo: SiteRepository, site_id: str, text: str) -> str | None:
    """``--snowplow-app-id``: the app id without spaces around it ('' removes it; its case
    is kept, as Snowplow compares app ids); :class:`SiteError` when another site has it
    (the write service would refuse its events as ambiguous)."""
    wanted = text.strip() or None
    others = [s.site_id for s in repo.all()
              if wanted and s.snowplow_app_id == wanted and s.site_id != site_id]
    if others:
        raise SiteError(f"Snowplow app id {wanted[:60]!r} belongs to site {others[0]!r}; "
                        "remove it there first")
    return wanted


def run_token(store: TokenStore, sites: SiteRepository, args, now: datetime | None = None,
              out=None) -> int:
    """``token create|list|revoke``; :class:`TokenError` says why one is refused."""
    now, out = now or datetime.now(UTC), out or sys.stdout
    if args.verb == "list":
        for token in store.all():
            state = (f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at
                     else "expired" if token.expired(now) else "active")
            print(f"{token.token_id:<14}{state:<26}{_expiry(token.expires_at):<30}"
                  f"{','.join(sorted(token.sites)):<40}{token.label}", file=out)
        return 0
    if args.verb == "revoke":
        token = store.revoke(args.token_id)
        print(f"revoked {token.token_id} ({','.join(sorted(token.sites))})", file=out)
        return 0
    wanted = [EVERY_SITE] if args.all_sites else sorted(set(args.site))
    unknown = [] if args.all_sites else [s for s in wanted if sites.get(s) is None]
    if unknown:
        raise TokenError(f"no site {', '.join(map(repr, unknown))}; create it first")
    expires_at = None
    if args.expires_in is not None:
        expires_at = now + args.expires_in
    elif args.expires_at is not None:
        expires_at = datetime.combine(args.expires_at, time(0), UTC)
    token, secret = store.create(wanted, args.label, expires_at, now=now)
    scope = "every site" if args.all_sites else ", ".join(wanted)
    print(f"token {token.token_id} for {scope}, {_expiry(expires_at)} (shown once, store it "
          "now):", file=out)
    print(secret, file=out)
    return 0


def _expiry(expires_at: datetime | None) -> str:
    return f"expiry {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "no expiry"


def _public(site: Site) -> dict:
    data = asdict(site)
    data["goals"] = sorted(site.goals)
    data["allowed_origins"] = sorted(site.allowed_origins)
    data["mp_secret"] = "set" if data.pop("mp_secret_hash") else "not set"
    return data


if __name__ == "__main__":
    sys.exit(main())
