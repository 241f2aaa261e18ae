"""``python -m api.manage user ...`` on in-memory stores: the first admin of a site can be
made with the CLI alone (create, grant), and list, revoke and passwd do what they say."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher, profiles

from analytics.sites import Site
from api.manage import _parser
from api.manage_users import run
from api.read.accounts import AccountError, Accounts
from api.read.passwords import Passwords, WeakPassword
from api.read.throttle import Throttle
from tests.unit.api.read.fakes import MemoryFailures, MemorySessions, MemorySites, MemoryUsers

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
def cli():
    accounts = Accounts(MemoryUsers(), MemorySessions(),
                        Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST)),
                        Throttle(MemoryFailures(), 900), session_ttl_s=3600, max_failures=5,
                        client_max_failures=20)
    sites = MemorySites(Site(site_id="shop.example", domain="shop.example"))

    def manage(*argv: str, stdin: str = "") -> str:
        out = io.StringIO()
        assert run(accounts, sites, _parser().parse_args(["user", *argv]),
                   stdin=io.StringIO(stdin), out=out) == 0
        return out.getvalue()

    manage.accounts = accounts
    manage.sites = sites
    return manage


def test_the_first_admin_is_made_with_the_cli_alone(cli):
    assert cli("create", "Ada@Example.com", "--password-stdin",
               stdin="correct horse battery\n") == "created ada@example.com\n"
    assert cli("grant", "ada@example.com", "shop.example", "--role", "admin") == \
        "ada@example.com is admin of shop.example\n"
    logged = cli.accounts.login("ada@example.com", "correct horse battery", None, NOW)
    assert cli.accounts.roles(logged.email) == {"shop.example": "admin"}


def test_without_a_terminal_a_password_is_made_up_and_printed_once(cli):
    out = cli("create", "bob@example.com").splitlines()
    assert out[:2] == ["created bob@example.com", "password (shown once, store it now):"]
    assert len(out[2]) == 20
    assert cli.accounts.login("bob@example.com", out[2], None, NOW).email == "bob@example.com"


def test_list_revoke_and_passwd(cli):
    cli("create", "ada@example.com", "--password-stdin", stdin="correct horse battery\n")
    cli("create", "bob@example.com", "--password-stdin", stdin="correct horse battery\n")
    cli("grant", "bob@example.com", "shop.example", "--role", "viewer")
    users = cli.accounts.users.users
    for email in users:  # made "now" by the CLI: fix the day the list shows
        users[email] = replace(users[email], created_at=NOW)
    assert cli("list").splitlines() == [
        f"{'ada@example.com':<40}{'2026-12-01':<12}-",
        f"{'bob@example.com':<40}{'2026-12-01':<12}shop.example:viewer"]
    assert cli("revoke", "bob@example.com", "shop.example") == \
        "bob@example.com has no role on shop.example any more\n"
    session = cli.accounts.login("ada@example.com", "correct horse battery", None, NOW)
    assert cli("passwd", "ada@example.com", "--password-stdin", stdin="another long one\n") \
        == "new password for ada@example.com; its sessions ended\n"
    assert cli.accounts.session(session.secret, NOW) is None
    assert cli.accounts.login("ada@example.com", "another long one", None, NOW)


@pytest.mark.parametrize(("argv", "stdin", "error", "message"), [
    (["grant", "ada@example.com", "nope.example", "--role", "admin"], "", AccountError,
     "no site 'nope.example'; create it with `site create`"),
    (["grant", "zed@example.com", "shop.example", "--role", "admin"], "", AccountError,
     "no user zed@example.com; an operator creates accounts with `python -m api.manage "
     "user create`"),
    (["revoke", "ada@example.com", "shop.example"], "", AccountError,
     "ada@example.com has no role on 'shop.example'"),
    (["create", "ada@example.com", "--password-stdin"], "correct horse battery\n",
     AccountError, "ada@example.com has an account already"),
    (["create", "new@example.com", "--password-stdin"], "short\n", WeakPassword,
     "password: at least 10 characters"),
    (["create", "not-an-address"], "", AccountError,
     "email: 'not-an-address' is not an e-mail address"),
    (["passwd", "zed@example.com", "--password-stdin"], "correct horse battery\n",
     AccountError, "no user zed@example.com"),
])
def test_refusals_say_why(cli, argv, stdin, error, message):
    cli("create", "ada@example.com", "--password-stdin", stdin="correct horse battery\n")
    with pytest.raises(error) as caught:
        cli(*argv, stdin=stdin)
    assert str(caught.value) == message
