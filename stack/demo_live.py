"""The demo site's live traffic: after :mod:`stack.demo_data` has posted the past days and
today so far, this goes on posting today's generated visits as their time comes, every few
seconds, so the demo site is live (realtime page, today's numbers).

Why live and not all at once: the speed layer counts an event that reaches it more than
``ANALYTICS_STREAMING_LATE_AFTER_MS`` after its time as *late* (in its ``late`` view, not in
the visitor, page or source views), so only events posted as they happen fill today's
dashboard the way a real tracker's do.

The local run supervises it as the ``demo-traffic`` service when the demo is on
(``ANALYTICS_SERVE_DEMO``). It waits until the demo seed has posted its traffic, then
keeps its own progress in ``<state>/demo-live.json`` (written every round, also while it
waits: its readiness is that file being fresh). A round that fails (the write service
down) is said in its log and tried again; nothing is skipped, since each round posts
everything since the last one that succeeded (up to ``MAX_CATCH_UP_MS`` back: after a long
stop, older visits would only be late events).

    python -m stack.demo_live      # what the service runs (Ctrl-C stops it)

The service's command line ends with the state folder's tag
(:func:`stack.services.title_marker`), by which a run finds it if its supervisor died.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime, timedelta

from analytics.config import Config
from stack.demo_data import Poster, site_domain, state_file
from stack.demo_traffic import SEED, Visit, generate_day, visitor_pool

INTERVAL_S = 5.0
MAX_CATCH_UP_MS = 3_600_000
FRESH_S = 60.0
"""The service is ready while its progress file is younger than this."""


def progress_file(config: Config):
    return config.state_dir / "demo-live.json"


def _seeded_through(config: Config) -> int | None:
    """Until when the demo seed posted today's visits (None until it is done)."""
    try:
        traffic = json.loads(state_file(config).read_text()).get("traffic", {})
    except (FileNotFoundError, ValueError):
        return None
    return traffic.get("through_ms") if traffic.get("done") else None


def _load(config: Config) -> dict:
    try:
        return json.loads(progress_file(config).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _save(config: Config, progress: dict) -> None:
    path = progress_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(progress, indent=2) + "\n")
    temporary.replace(path)  # readers never see half a file


def ready(config: Config, now: float | None = None) -> bool:
    beat = _load(config).get("beat_at")
    return beat is not None and (now or time.time()) - beat < FRESH_S


class LiveTraffic:
    """Posts the visits of (``through``, now] each round."""

    def __init__(self, config: Config, log=print, poster: Poster | None = None,
                 base_url: str = ""):
        self.config, self.log = config, log
        self.poster, self.base = poster, base_url  # made at the first round when not given
        self.pool = visitor_pool(SEED)
        self.days: dict[date, list[Visit]] = {}

    def round(self, progress: dict, now_ms: int) -> int:
        """One round: how many events were accepted (progress updated in place)."""
        through = progress.get("through_ms") or _seeded_through(self.config)
        if through is None:
            return 0  # the seed has not posted the demo traffic yet
        through = max(through, now_ms - MAX_CATCH_UP_MS)
        if self.poster is None:
            self.poster, self.base = Poster(self.config), f"https://{site_domain(self.config)}"
        accepted = 0
        first = datetime.fromtimestamp(through / 1000, UTC).date()
        last = datetime.fromtimestamp(now_ms / 1000, UTC).date()
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            if day not in self.days:
                self.days = {d: v for d, v in self.days.items() if d >= first}
                self.days[day] = generate_day(day, base_url=self.base, pool=self.pool)
            done, refused = self.poster.post(self.days[day], after_ms=through, until_ms=now_ms)
            accepted += done
            if refused:
                self.log(f"refused: {refused}")
        progress["through_ms"] = now_ms
        return accepted


def run(config: Config, log=print, interval_s: float = INTERVAL_S) -> int:
    live, progress = LiveTraffic(config, log), _load(config)
    log(f"posting the demo site's visits as they happen, every {interval_s:g} s")
    try:
        while True:
            now_ms = int(time.time() * 1000)
            try:
                accepted = live.round(progress, now_ms)
                if accepted:
                    log(f"{datetime.now(UTC):%H:%M:%S} {accepted} events")
            except Exception as exc:  # the write service or Cassandra down: next round
                log(f"{datetime.now(UTC):%H:%M:%S} not posted ({exc}); trying again")
            progress["beat_at"] = time.time()
            _save(config, progress)
            time.sleep(interval_s)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    from stack import settings

    argv = sys.argv[1:] if argv is None else argv
    if [a for a in argv if not a.startswith("analytics-stack=")]:
        print("usage: python -m stack.demo_live", file=sys.stderr)
        return 2
    # supervised (tagged): the whole config comes in the supervisor's environment, never
    # from or into the settings file; by hand: the local run's settings
    tagged = any(a.startswith("analytics-stack=") for a in argv)
    config = Config.from_env() if tagged else settings.load(log=None)
    return run(config, log=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
