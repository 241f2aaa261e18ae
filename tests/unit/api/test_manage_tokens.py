"""``python -m api.manage token ...`` (issue 16) on an in-memory ``api_tokens`` table: an
optional expiry (``--expires-in Nd|Nh``, ``--expires-at YYYY-MM-DD``) stored with the
token and shown by ``list``; ``--site '*'`` and unknown sites refused with exit code 2, a
token for every site only with ``--all-sites``."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from analytics.config import Config
from analytics.sites import Site
from api import manage
from api.manage import _parser, run_token
from api.read.tokens import TokenError, TokenStore, split
from tests.unit.api.read.fakes import MemorySites, MemoryTokenTable

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def cli():
    table = MemoryTokenTable()
    store = TokenStore(table)
    sites = MemorySites(Site(site_id="shop.example", domain="shop.example"),
                        Site(site_id="blog.example", domain="blog.example"))

    def token(*argv: str, now: datetime = NOW) -> str:
        out = io.StringIO()
        assert run_token(store, sites, _parser().parse_args(["token", *argv]), now=now,
                         out=out) == 0
        return out.getvalue()

    token.table, token.store, token.sites = table, store, sites
    return token


def made(output: str) -> tuple[str, str, str]:
    """(first line, token id, raw token) of ``token create``'s output."""
    first, raw = output.splitlines()
    return first, split(raw)[0], raw


@pytest.mark.parametrize(("argv", "expires_at"), [
    (["--expires-in", "90d"], datetime(2027, 3, 1, 12, 0, tzinfo=UTC)),
    (["--expires-in", "36h"], datetime(2026, 12, 3, 0, 0, tzinfo=UTC)),
    (["--expires-at", "2027-01-15"], datetime(2027, 1, 15, 0, 0, tzinfo=UTC)),
])
def test_a_token_can_expire(cli, argv, expires_at):
    first, token_id, raw = made(cli("create", "--site", "shop.example", *argv))
    assert first == (f"token {token_id} for shop.example, expiry "
                     f"{expires_at:%Y-%m-%d %H:%M} UTC (shown once, store it now):")
    assert cli.table.rows[token_id]["expires_at"] == expires_at
    assert cli.store.verify(raw).expires_at == expires_at


def test_without_an_expiry_a_token_never_expires(cli):
    first, token_id, _raw = made(cli("create", "--site", "blog.example", "--site",
                                     "shop.example", "--label", "tableau"))
    assert first == (f"token {token_id} for blog.example, shop.example, no expiry (shown "
                     "once, store it now):")
    assert cli.table.rows[token_id]["expires_at"] is None


def test_list_shows_state_and_expiry(cli):
    _, lasting, _ = made(cli("create", "--site", "shop.example", "--label", "tableau"))
    _, expiring, _ = made(cli("create", "--site", "blog.example", "--expires-in", "1d",
                              now=datetime(2026, 12, 1, 12, 1, tzinfo=UTC)))
    _, expired, _ = made(cli("create", "--all-sites", "--label", "ops",
                             "--expires-in", "1h", now=datetime(2026, 12, 1, 12, 2,
                                                                tzinfo=UTC)))
    cli.store.revoke(lasting)
    revoked_at = cli.table.rows[lasting]["revoked_at"]
    listed = cli("list", now=datetime(2026, 12, 1, 13, 30, tzinfo=UTC)).splitlines()
    assert listed == [
        f"{lasting:<14}{f'revoked {revoked_at:%Y-%m-%d %H:%M}':<26}{'no expiry':<30}"
        f"{'shop.example':<40}tableau",
        f"{expiring:<14}{'active':<26}{'expiry 2026-12-02 12:01 UTC':<30}"
        f"{'blog.example':<40}",
        f"{expired:<14}{'expired':<26}{'expiry 2026-12-01 13:02 UTC':<30}{'*':<40}ops",
    ]


def test_all_sites_is_said_out_loud(cli):
    first, token_id, raw = made(cli("create", "--all-sites"))
    assert first == f"token {token_id} for every site, no expiry (shown once, store it now):"
    assert cli.store.verify(raw).sites == frozenset({"*"})


@pytest.mark.parametrize(("argv", "message"), [
    (["--site", "*"], "argument --site: '*' is not a site id; a token that reads every site "
                      "is made with --all-sites"),
    (["--site", "shop.example", "--site", " * "], "argument --site: ' * ' is not a site id"),
    (["--site", "shop.example", "--all-sites"], "argument --all-sites: not allowed with "
                                                "argument --site"),
    (["--site", "shop.example", "--expires-in", "90"],
     "argument --expires-in: '90': expected a number of days or hours, like 90d or 12h"),
    (["--site", "shop.example", "--expires-in", "0d"],
     "argument --expires-in: '0d': between 1h and 3650d (leave it out for a token that "
     "does not expire)"),
    (["--site", "shop.example", "--expires-in", "3651d"], "between 1h and 3650d"),
    (["--site", "shop.example", "--expires-in", "2w"], "like 90d or 12h"),
    (["--site", "shop.example", "--expires-at", "2027-02-30"],
     "argument --expires-at: '2027-02-30': expected a date YYYY-MM-DD, like 2027-03-01"),
    (["--site", "shop.example", "--expires-at", "1.3.2027"], "expected a date YYYY-MM-DD"),
    (["--site", "shop.example", "--expires-at", "2027-03-01", "--expires-in", "1d"],
     "argument --expires-in: not allowed with argument --expires-at"),
])
def test_bad_arguments_exit_with_2_and_say_why(capsys, argv, message):
    with pytest.raises(SystemExit) as stopped:
        _parser().parse_args(["token", "create", *argv])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--site", "nope.example", "--site", "shop.example"],
     "no site 'nope.example'; create it first"),
    (["--site", "shop.example", "--expires-at", "2026-12-01"],
     "the expiry 2026-12-01 00:00 UTC has passed"),
])
def test_unknown_sites_and_past_expiries_are_refused(cli, argv, message):
    with pytest.raises(TokenError) as refused:
        cli("create", *argv)
    assert str(refused.value) == message
    assert cli.table.rows == {}


def test_main_exits_with_2_for_a_refused_token(cli, monkeypatch, capsys):
    class Cluster:
        def shutdown(self):
            pass

    monkeypatch.setattr(manage.Config, "load", classmethod(lambda cls: Config()))
    monkeypatch.setattr(manage, "connect", lambda config, keyspace: (Cluster(), cli.table))
    monkeypatch.setattr(manage, "SiteRepository", lambda session: cli.sites)
    assert manage.main(["token", "create", "--site", "nope.example"]) == 2
    assert capsys.readouterr().err == "error: no site 'nope.example'; create it first\n"
    assert cli.table.rows == {}
