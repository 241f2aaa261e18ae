"""The read service serves the built dashboard: the app's page for every deep link, its
hashed assets with a long cache and the right types, share pages that may be framed, a
strict Content-Security-Policy, and 404 for anything that is not a built file."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlsplit

import falcon
import falcon.testing
import pytest

from api.read import dashboard as serving

pytestmark = pytest.mark.integration


def assets_of(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/dashboard/assets/[^"]+)"', html)


def test_root_redirects_to_the_dashboard(dashboard):
    host, port = urlsplit(dashboard.base).hostname, urlsplit(dashboard.base).port
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/")
    answer = connection.getresponse()
    assert answer.status == 302 and answer.getheader("Location").endswith("/dashboard/")
    connection.close()


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard", "/dashboard/some.site/realtime",
                                  "/dashboard/some.site/funnel?step=page:/", "/dashboard/~account"])
def test_every_deep_link_is_the_app_page(dashboard, path):
    status, headers, body = dashboard.get(path)
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert '<div id="app">' in body.decode()


def test_share_pages_may_be_embedded(dashboard):
    status, headers, body = dashboard.get("/share/some-secret/realtime")
    assert status == 200 and '<div id="app">' in body.decode()
    assert "frame-ancestors *" in headers["content-security-policy"]
    assert "x-frame-options" not in headers
    assert headers["referrer-policy"] == "no-referrer"


def test_assets_are_hashed_typed_and_cached_for_a_year(dashboard):
    _, _, body = dashboard.get("/dashboard/")
    assets = assets_of(body.decode())
    kinds = {a.rsplit(".", 1)[1] for a in assets}
    assert kinds == {"js", "css", "svg"}
    types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
             "svg": "image/svg+xml"}
    for asset in assets:
        assert re.search(r"-[A-Za-z0-9]{8}\.(js|css|svg)$", asset), asset
        status, headers, data = dashboard.get(asset)
        assert status == 200 and data
        assert headers["content-type"] == types[asset.rsplit(".", 1)[1]]
        assert headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", [
    "/dashboard/assets/app-00000000.js", "/dashboard/assets/", "/dashboard/assets/a/b.js",
    "/dashboard/assets/..%2Findex.html", "/dashboard/assets/%2e%2e%2f..%2fpackage.json",
    "/dashboard/assets/..%2F..%2F..%2Fanalytics%2Fconfig.py"])
def test_unknown_assets_are_404_never_another_file(dashboard, path):
    status, headers, body = dashboard.get(path)
    assert status == 404, (path, body[:200])
    assert b"<html" not in body and b"import" not in body


def test_without_a_build_the_pages_say_to_run_make_setup(tmp_path):
    app = falcon.App()
    serving.add_routes(app, tmp_path / "dist")
    client = falcon.testing.TestClient(app)
    for path in ("/dashboard/", "/share/abc", "/dashboard/assets/app-1.js"):
        answer = client.simulate_get(path)
        assert answer.status_code == 503, path
        assert answer.json["title"] == "dashboard_not_built"
        assert "make setup" in answer.json["description"]
