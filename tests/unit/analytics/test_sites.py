"""Choosing sites by id: every site by default, unknown ids named."""

import pytest

from analytics.sites import Site, UnknownSitesError, choose_sites

SITES = [Site(site_id="b", domain="b.example"), Site(site_id="a", domain="a.example")]


def test_no_ids_means_every_site_sorted():
    assert [s.site_id for s in choose_sites(SITES, [])] == ["a", "b"]
    assert [s.site_id for s in choose_sites(SITES, None)] == ["a", "b"]


def test_ids_choose_those_sites_once_each():
    assert [s.site_id for s in choose_sites(SITES, ["b", "b"])] == ["b"]


def test_unknown_ids_are_refused_by_name():
    with pytest.raises(UnknownSitesError) as raised:
        choose_sites(SITES, ["c", "a", "d"])
    assert str(raised.value) == "unknown site(s): c, d; known: a, b"
    with pytest.raises(UnknownSitesError, match=r"known: \(no sites yet\)"):
        choose_sites([], ["x"])
