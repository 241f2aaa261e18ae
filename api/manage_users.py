"""``python -m api.manage user ...``: people's dashboard accounts and their roles.

    python -m api.manage user create owner@example.com        # prompts, or prints one
    python -m api.manage user grant owner@example.com example.com --role admin
    python -m api.manage user revoke someone@example.com example.com
    python -m api.manage user list
    python -m api.manage user passwd owner@example.com --password-stdin < file

Enough to make the first admin of a site; admins add further members in the dashboard.
"""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime
from getpass import getpass

from analytics.config import Config
from analytics.sites import SiteRepository
from analytics.storage.accounts import ROLES, AccountStore
from analytics.storage.browser_sessions import BrowserSessionStore
from analytics.storage.login_failures import LoginFailureStore
from api.read.accounts import AccountError, Accounts, check_email
from api.read.passwords import Passwords, WeakPassword
from api.read.throttle import Throttle

ERRORS = (AccountError, WeakPassword)


def add_parser(sub) -> None:
    user = sub.add_parser("user", help="people's dashboard accounts").add_subparsers(
        dest="verb", required=True)
    for verb, text in (("create", "make an account"), ("passwd", "set a new password "
                                                                 "(ends its sessions)")):
        cmd = user.add_parser(verb, help=text)
        cmd.add_argument("email")
        cmd.add_argument("--password-stdin", action="store_true",
                         help="read the password from the first line of stdin")
    grant = user.add_parser("grant", help="give a role on a site")
    grant.add_argument("email")
    grant.add_argument("site_id")
    grant.add_argument("--role", choices=ROLES, required=True)
    revoke = user.add_parser("revoke", help="take every role on a site away")
    revoke.add_argument("email")
    revoke.add_argument("site_id")
    user.add_parser("list")


def accounts_of(config: Config, session) -> Accounts:
    return Accounts(AccountStore(session), BrowserSessionStore(session), Passwords(),
                    Throttle(LoginFailureStore(session), config.login_window_s),
                    session_ttl_s=config.session_ttl_s,
                    max_failures=config.login_max_failures,
                    client_max_failures=config.login_client_max_failures)


def run(accounts: Accounts, sites: SiteRepository, args, stdin=None, out=None) -> int:
    stdin, out = stdin or sys.stdin, out or sys.stdout
    now = datetime.now(UTC)
    if args.verb == "list":
        for user in accounts.all_users():
            roles = accounts.roles(user.email)
            made = f"{user.created_at:%Y-%m-%d}" if user.created_at else "-"
            print(f"{user.email:<40}{made:<12}"
                  f"{','.join(f'{s}:{r}' for s, r in sorted(roles.items())) or '-'}", file=out)
        return 0
    if args.verb in ("create", "passwd"):
        email = check_email(args.email)
        password, generated = new_password(args.password_stdin, stdin)
        if args.verb == "create":
            accounts.create_user(email, password, now)
            print(f"created {email}", file=out)
        else:
            accounts.set_password(email, password, now)
            print(f"new password for {email}; its sessions ended", file=out)
        if generated:
            print("password (shown once, store it now):", file=out)
            print(password, file=out)
        return 0
    if sites.get(args.site_id) is None:
        raise AccountError(f"no site {args.site_id!r}; create it with `site create`")
    if args.verb == "grant":
        member, new = accounts.grant(args.email, args.site_id, args.role, now)
        print(f"{member.email} is {member.role} of {member.site_id}"
              f"{'' if new else ' (role changed)'}", file=out)
        return 0
    if not accounts.revoke(args.email, args.site_id):
        raise AccountError(f"{args.email} has no role on {args.site_id!r}")
    print(f"{args.email} has no role on {args.site_id} any more", file=out)
    return 0


def new_password(from_stdin: bool, stdin) -> tuple[str, bool]:
    """(password, generated): the first line of stdin, or typed twice at a terminal, or
    (no terminal, or nothing typed) a random one to print."""
    if from_stdin:
        return stdin.readline().rstrip("\r\n"), False
    if stdin.isatty():
        first = getpass("password (empty: make one up for me): ")
        if first:
            if getpass("the same again: ") != first:
                raise AccountError("the two passwords differ")
            return first, False
    return secrets.token_urlsafe(15), True
