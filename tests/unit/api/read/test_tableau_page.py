"""Scripts the Tableau connector page loads from another origin are pinned with
Subresource Integrity: a fixed version (a ``latest`` file changes under its hash), an
``integrity`` hash and ``crossorigin="anonymous"``."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[4] / "api" / "read" / "static" / "tableau" / "index.html"
SRI = re.compile(r"sha(256|384|512)-[A-Za-z0-9+/]+={0,2}")


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.found.append(dict(attrs))


def scripts(html: str) -> list[dict[str, str | None]]:
    parser = _Scripts()
    parser.feed(html)
    return parser.found


def unpinned(html: str) -> list[str]:
    """The cross-origin scripts of ``html`` that are not pinned, each with why."""
    problems = []
    for attrs in scripts(html):
        src = attrs.get("src") or ""
        if not re.match(r"^(https?:)?//", src):
            continue  # same origin: served with the page
        if "latest" in src:
            problems.append(f"{src}: a moving version")
        if not SRI.fullmatch(attrs.get("integrity") or ""):
            problems.append(f"{src}: no integrity hash")
        if attrs.get("crossorigin") != "anonymous":
            problems.append(f"{src}: no crossorigin=anonymous")
    return problems


def test_the_check_itself():
    pinned = ('<script src="https://cdn.example/lib-1.2.3.js" integrity="sha384-'
              'oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC" '
              'crossorigin="anonymous"></script><script src="/own.js"></script>')
    assert unpinned(pinned) == []
    assert unpinned('<script src="https://cdn.example/lib-1.latest.js"></script>') == [
        "https://cdn.example/lib-1.latest.js: a moving version",
        "https://cdn.example/lib-1.latest.js: no integrity hash",
        "https://cdn.example/lib-1.latest.js: no crossorigin=anonymous"]


def test_the_page_loads_its_own_connector():
    assert {"src": "/tableau/connector.js", "defer": None} in scripts(PAGE.read_text())


@pytest.mark.xfail(strict=True, reason=(
    "issue 16 C: the Tableau WDC library (connectors.tableau.com/libs/"
    "tableauwdc-2.3.latest.js) could not be fetched from the development machine and no "
    "reachable registry ships it, so its hash is not known yet; pin a fixed version "
    "(e.g. tableauwdc-2.3.0.js) with its sha384 and remove this mark"))
def test_every_cross_origin_script_of_the_tableau_page_is_pinned():
    assert unpinned(PAGE.read_text()) == []
