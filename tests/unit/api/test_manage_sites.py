"""``python -m api.manage site update <site> --umami-website-id <uuid>``,
``--matomo-idsite <n>`` and ``--snowplow-app-id <app id>`` (issue 19): the website id
Umami's clients send, the idsite Matomo's send and the app id Snowplow's send name the
site; a website id is stored in lower case, an idsite is a whole number from 1, an app id
is kept as given (case too), '' removes each, and one belongs to one site only (exit code
2 otherwise)."""

from __future__ import annotations

import pytest

from analytics.config import Config
from analytics.sites import Site
from api import manage
from tests.unit.api.read.fakes import MemorySites

UMAMI_ID = "3f2c5a8e-4b7d-4c1e-9a0f-6d8e2b1c7a45"


@pytest.fixture
def sites(monkeypatch):
    class Cluster:
        def shutdown(self):
            pass

    sites = MemorySites(Site(site_id="shop.example", domain="shop.example"),
                        Site(site_id="blog.example", domain="blog.example"))
    monkeypatch.setattr(manage.Config, "load", classmethod(lambda cls: Config()))
    monkeypatch.setattr(manage, "connect", lambda config, keyspace: (Cluster(), None))
    monkeypatch.setattr(manage, "SiteRepository", lambda session: sites)
    return sites


def test_the_website_id_is_stored_in_lower_case_and_removed_with_nothing(sites, capsys):
    argv = ["site", "update", "shop.example", "--umami-website-id"]
    assert manage.main([*argv, UMAMI_ID.upper()]) == 0
    assert sites.get("shop.example").umami_website_id == UMAMI_ID
    assert f'"umami_website_id": "{UMAMI_ID}"' in capsys.readouterr().out
    assert manage.main([*argv, ""]) == 0
    assert sites.get("shop.example").umami_website_id is None


def test_one_website_id_names_one_site(sites, capsys):
    assert manage.main(["site", "update", "shop.example", "--umami-website-id", UMAMI_ID]) == 0
    capsys.readouterr()
    assert manage.main(["site", "update", "blog.example", "--umami-website-id", UMAMI_ID]) == 2
    assert capsys.readouterr().err == (f"error: Umami website id {UMAMI_ID} belongs to site "
                                       "'shop.example'; remove it there first\n")
    assert manage.main(["site", "update", "blog.example", "--umami-website-id", "nope"]) == 2
    assert "must be a UUID" in capsys.readouterr().err
    assert sites.get("blog.example").umami_website_id is None


def test_the_matomo_idsite_is_a_number_of_one_site_and_removed_with_nothing(sites, capsys):
    argv = ["site", "update", "shop.example", "--matomo-idsite"]
    assert manage.main([*argv, " 7 "]) == 0
    assert sites.get("shop.example").matomo_idsite == 7
    assert '"matomo_idsite": 7' in capsys.readouterr().out
    assert manage.main(["site", "update", "blog.example", "--matomo-idsite", "7"]) == 2
    assert capsys.readouterr().err == ("error: Matomo idsite 7 belongs to site "
                                       "'shop.example'; remove it there first\n")
    for bad in ("seven", "0", "-1"):
        assert manage.main(["site", "update", "blog.example", "--matomo-idsite", bad]) == 2
        assert "Matomo idsite" in capsys.readouterr().err
    assert manage.main([*argv, ""]) == 0
    assert sites.get("shop.example").matomo_idsite is None
    assert manage.main(["site", "update", "blog.example", "--matomo-idsite", "7"]) == 0


def test_the_snowplow_app_id_is_kept_as_given_for_one_site(sites, capsys):
    argv = ["site", "update", "shop.example", "--snowplow-app-id"]
    assert manage.main([*argv, " Web-Shop "]) == 0
    assert sites.get("shop.example").snowplow_app_id == "Web-Shop"
    assert '"snowplow_app_id": "Web-Shop"' in capsys.readouterr().out
    assert manage.main(["site", "update", "blog.example", "--snowplow-app-id",
                        "Web-Shop"]) == 2
    assert capsys.readouterr().err == ("error: Snowplow app id 'Web-Shop' belongs to site "
                                       "'shop.example'; remove it there first\n")
    assert manage.main(["site", "update", "blog.example", "--snowplow-app-id", "web-shop"]) == 0
    assert manage.main(["site", "update", "blog.example", "--snowplow-app-id", "a\tb"]) == 2
    assert "Snowplow app id 'a\\tb' must be text of 1 to 255 printable characters" in (
        capsys.readouterr().err)
    assert manage.main([*argv, ""]) == 0
    assert sites.get("shop.example").snowplow_app_id is None
    assert sites.get("blog.example").snowplow_app_id == "web-shop"
