"""Wait until a site-local day is over everywhere it is being recomputed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from sitelens.hooks.analytics_store import AnalyticsStoreHook
from sitelens.utils import run_args
from sitelens.utils.clock import Clock, utc_now

if TYPE_CHECKING:
    from airflow.sdk import Context

    from analytics.config import Config

DEFAULT_SETTLE_MINUTES = 60


def closes_at(day: date, timezones: Iterable[str], settle: timedelta) -> datetime | None:
    """When the local ``day`` has ended in every zone and ``settle`` has passed (None: no
    zone, nothing to wait for)."""
    from analytics.periods import day_closed_at

    instants = [day_closed_at(day, tz, settle) for tz in set(timezones)]
    return max(instants) if instants else None


class DayClosedSensor(BaseSensorOperator):
    """Succeeds once the site-local day ``day`` (default: the data interval's start date)
    has ended in the time zone of every chosen site (default: every site) and the settle
    time has passed (config ``batch_settle_minutes``; events in flight, sessions going on
    after midnight). A nightly run at 00:00 UTC thus waits until 01:00 UTC for UTC sites
    and until 11:00 UTC for a site in Honolulu; a day long past returns at once.

    Deferrable by default: the sensor knows the instant it waits for, so it hands a
    ``DateTimeTrigger`` for it to the triggerer and frees its worker slot; with
    ``deferrable=False`` it pokes (use ``mode="reschedule"``). ``wait=False`` (the DAG's
    ``wait_for_day_end`` param) returns at once, for tests and deliberate early reruns.
    ``clock`` (default: the real one) is what the day's end is compared with.
    """

    template_fields: Sequence[str] = ("day", "site_ids", "wait")
    ui_color = "#dbe8f7"

    def __init__(self, *, day: str = "{{ data_interval_start | ds }}",
                 site_ids: str | Sequence[str] | None = None, wait: bool | str = True,
                 settle_minutes: int | None = None, deferrable: bool = True,
                 config: Config | None = None, clock: Clock = utc_now,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.day = day
        self.site_ids = site_ids
        self.wait = wait
        self.settle_minutes = settle_minutes
        self.deferrable = deferrable
        self._config = config
        self._clock = clock

    def chosen_sites(self) -> list:
        """The sites of the run (an unknown id fails the task, even when not waiting)."""
        hook = AnalyticsStoreHook(self._config)
        with hook.session() as session:
            return hook.sites(session, run_args.site_ids(self.site_ids))

    def target(self) -> datetime | None:
        """The instant the day counts as closed for the chosen sites."""
        settle = self.settle_minutes
        if settle is None:
            config = AnalyticsStoreHook(self._config).config
            settle = getattr(config, "batch_settle_minutes", DEFAULT_SETTLE_MINUTES)
        sites = self.chosen_sites()
        day = run_args.day(self.day)
        moment = closes_at(day, (s.timezone for s in sites), timedelta(minutes=settle))
        if moment is None:
            self.log.info("no sites: nothing to wait for")
        else:
            self.log.info("day %s of %d site(s) closes at %s (settle %d min)", day, len(sites),
                          moment.isoformat(), settle)
        return moment

    def poke(self, context: Context) -> bool:
        if not run_args.flag(self.wait):
            sites = self.chosen_sites()
            self.log.info("not waiting for the end of day %s (wait_for_day_end is off); "
                          "%d site(s)", run_args.day(self.day), len(sites))
            return True
        moment = self.target()
        return moment is None or self._clock() >= moment

    def execute(self, context: Context) -> None:
        if not self.deferrable or not run_args.flag(self.wait):
            super().execute(context)
            return
        moment = self.target()
        if moment is None or self._clock() >= moment:
            return
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        self.defer(trigger=DateTimeTrigger(moment=moment), method_name="execute_complete")

    def execute_complete(self, context: Context, event: Any = None) -> None:
        """Back from the trigger: check again (a site may have joined meanwhile)."""
        self.execute(context)
