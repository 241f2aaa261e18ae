"""The site owner's dashboard (``dashboard/``, a single-page app built into
``dashboard/dist`` by ``make setup``), served by the read service next to the API it reads.

- ``GET /`` redirects to ``/dashboard/``;
- ``/dashboard/`` and every deep link under it (``/dashboard/{site}/realtime``...) answer
  the app's ``index.html`` (``Cache-Control: no-cache``: it names the current assets);
- ``/dashboard/assets/{file}``: the built, content-hashed files, cached for a year;
  unknown names are 404, and only plain file names of that folder are served;
- ``/share/{secret}`` (and deep links under it): the same page, in share mode. Only these
  pages may be framed by other sites (``frame-ancestors *``), so a shared link can be
  embedded; every other page says ``frame-ancestors 'none'``.

Every page has a strict Content-Security-Policy: scripts, styles, images and API calls
from this origin only. Without a build (no ``dist/index.html``) the routes answer 503
saying to run ``make setup``.
"""

from __future__ import annotations

import re
from pathlib import Path

import falcon

from analytics.config import REPO_ROOT

DIST = REPO_ROOT / "dashboard" / "dist"
BASE = "/dashboard"
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
ASSET_CACHE = "public, max-age=31536000, immutable"
_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
           "form-action 'self'; frame-ancestors {ancestors}")
CSP_APP = _POLICY.format(ancestors="'none'")
CSP_SHARE = _POLICY.format(ancestors="*")
NOT_BUILT = ("the dashboard is not built (no {path}): run `make setup`, which runs "
             "`npm ci` and `npm run build` in dashboard/")


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


class Dist:
    """The built app: ``index.html`` (re-read when it changes) and ``assets/``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.assets = self.root / "assets"
        self._index: tuple[float, bytes] | None = None

    def index(self) -> bytes:
        path = self.root / "index.html"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            raise falcon.HTTPServiceUnavailable(
                title="dashboard_not_built", description=NOT_BUILT.format(path=path),
                retry_after=60) from None
        if self._index is None or self._index[0] != mtime:
            self._index = (mtime, path.read_bytes())
        return self._index[1]

    def asset(self, name: str) -> Path | None:
        """The file of that name in ``assets/`` (None: not one of its plain files)."""
        if not ASSET_NAME.match(name) or ".." in name:
            return None
        if not self.assets.is_dir():
            raise falcon.HTTPServiceUnavailable(
                title="dashboard_not_built", description=NOT_BUILT.format(path=self.assets),
                retry_after=60)
        path = self.assets / name
        if path.parent != self.assets or not path.is_file():
            return None
        return path


def _security_headers(resp, share: bool) -> None:
    resp.set_header("Content-Security-Policy", CSP_SHARE if share else CSP_APP)
    resp.set_header("X-Content-Type-Options", "nosniff")
    # a share link's secret is in its URL: never send it on as a referrer
    resp.set_header("Referrer-Policy", "no-referrer" if share else "same-origin")
    if not share:
        resp.set_header("X-Frame-Options", "DENY")


class IndexPage:
    """The app's page for ``/dashboard``, its deep links, and ``/share/{secret}``."""

    def __init__(self, dist: Dist, share: bool):
        self.dist = dist
        self.share = share

    def on_get(self, req, resp, path: str = "", **params):
        if path == "assets" or path.startswith("assets/"):
            # a name that is not one of the built files: never the page in its place
            raise falcon.HTTPNotFound(title="unknown_asset", description=f"no asset {path!r}")
        resp.data = self.dist.index()
        resp.content_type = "text/html; charset=utf-8"
        resp.cache_control = ["no-cache"]
        _security_headers(resp, self.share)

    on_head = on_get


class AssetFile:
    def __init__(self, dist: Dist):
        self.dist = dist

    def on_get(self, req, resp, name):
        path = self.dist.asset(name)
        if path is None:
            raise falcon.HTTPNotFound(title="unknown_asset", description=f"no asset {name!r}")
        resp.data = path.read_bytes()
        resp.content_type = content_type(name)
        resp.cache_control = [ASSET_CACHE]
        resp.set_header("X-Content-Type-Options", "nosniff")

    on_head = on_get


class RootRedirect:
    def on_get(self, req, resp):
        raise falcon.HTTPFound(f"{BASE}/")

    on_head = on_get


def add_routes(app: falcon.App, dist_dir: Path = DIST) -> None:
    """Serve the built dashboard from ``dist_dir`` on ``app``."""
    dist = Dist(dist_dir)
    app_page, share_page = IndexPage(dist, share=False), IndexPage(dist, share=True)
    app.add_route("/", RootRedirect())
    app.add_route(BASE, app_page)
    app.add_route(f"{BASE}/assets/{{name}}", AssetFile(dist))
    app.add_route(f"{BASE}/{{path:path}}", app_page)
    app.add_route("/share/{secret}", share_page)
    app.add_route("/share/{secret}/{path:path}", share_page)
