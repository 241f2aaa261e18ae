"""The published ``matomo-tracker`` client (npm) run by Node against the write service
under gunicorn, with the real Kafka behind it: a pageview and a custom event by
``track()`` (GET to ``matomo.php``) and a bulk of two by ``trackBulk()`` (POST of JSON)
arrive enriched on the raw-events topic with the site its idsite names, and the bulk is
answered with Matomo's counts.

The client is pinned in ``compat_clients/package-lock.json`` and installed with
``npm ci`` when it is missing (npm's public registry).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest

from analytics.sites import Site, SiteRepository
from tests.integration.write.conftest import WriteService, compat_clients, read_topic

pytestmark = pytest.mark.integration

IDSITE = 4242
SITE_ID = "matomo.test"


@pytest.fixture
def matomo_service(write_config, test_sites, cql):
    """The write service (no rate limit, client addresses as they connect); the site
    ``matomo.test`` (a domain of its own: the compat tests find theirs by domain) takes
    Matomo's requests for its idsite."""
    compat_clients()
    config = write_config.replace(write_api_port=18410, rate_limit_per_s=0.0,
                                  trust_forwarded_for=False)
    SiteRepository(cql).save(Site(site_id=SITE_ID, domain=SITE_ID, matomo_idsite=IDSITE))
    service = WriteService(config).start()
    yield service
    service.stop()


def test_matomo_trackers_track_and_bulk(matomo_service):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (bash stack/install_system.sh installs it)")
    config = matomo_service.config
    run = uuid.uuid4().hex
    tracker_url = f"http://127.0.0.1:{config.write_api_port}{config.matomo_path}"
    done = subprocess.run([node, "matomo_send.mjs", tracker_url, str(IDSITE), run],
                          cwd=compat_clients(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"bulk": {"status": "success", "tracked": 2, "invalid": 0,
                               "invalid_indices": []}, "errors": []}

    records = read_topic(config, config.topic_raw_events,
                         lambda r: r.get("site_id") == SITE_ID and run in json.dumps(r),
                         expected=4)
    page = f"https://matomo.test/matomo/{run}"
    records.sort(key=lambda r: (r["url"], r["kind"] != "pageview"))
    assert [(r["kind"], r["name"], r["url"], r["title"], r["referrer_host"], r["props"])
            for r in records] == [
        ("custom", "Videos", page, None, None,
         {"event_action": "Play", "event_name": run, "event_value": "3"}),
        ("pageview", None, f"{page}/bulk", "Bulk page", None, None),
        ("custom", "Buy", f"{page}/bulk", None, None,
         {"event_action": "rightButton", "event_value": "2"}),
        ("pageview", None, f"{page}?utm_source=server", "From Matomo", "referrer.example",
         None)]
    by_url = {(r["url"], r["kind"]): r for r in records}
    first = by_url[(f"{page}?utm_source=server", "pageview")]
    assert (first["host"], first["path"], first["utm_source"], first["screen_width"]) == (
        "matomo.test", f"/matomo/{run}", "server", 1280)
    stated = by_url[(f"{page}/bulk", "custom")]  # cdt: a minute before it was sent
    assert 55_000 <= stated["received_at"] - stated["event_time"] <= 65_000
    # matomo-tracker sends no User-Agent header: the visitor's comes as `ua` (Matomo's
    # rule), and the requests sent without one are flagged as bots
    assert {(r["url"], r["kind"]): r["is_bot"] for r in records} == {
        (f"{page}?utm_source=server", "pageview"): False, (page, "custom"): True,
        (f"{page}/bulk", "pageview"): False, (f"{page}/bulk", "custom"): True}
    assert {r["browser"] for r in records if not r["is_bot"]} == {"Firefox"}
    assert {r["source_channel"] for r in records} == {"tracker"}
