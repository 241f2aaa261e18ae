"""Data quality: after the batch layer closed days, do batch and speed layer agree?"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from sitelens.hooks.analytics_store import AnalyticsStoreHook
from sitelens.utils import run_args
from sitelens.utils.clock import Clock, utc_now

if TYPE_CHECKING:
    from airflow.sdk import Context

    from analytics.config import Config


class LayerCheckOperator(BaseOperator):
    """Compare batch and speed-layer totals of the site-local days ``start_day``..``end_day``
    for the chosen sites (default: every site) with ``analytics.quality.check_days``; log
    every site-day and fail, listing the mismatches, when late events do not explain a
    difference.

    A mismatch fails without retries (reading the same numbers again does not change
    them); errors reaching Cassandra are retried as usual. Returns ``{"checked": n}``.
    ``clock`` (default: the real one) says which days are still open.
    """

    template_fields: Sequence[str] = ("start_day", "end_day", "site_ids", "keep_open")
    ui_color = "#d7ecd9"

    def __init__(self, *, start_day: str = "{{ data_interval_start | ds }}",
                 end_day: str | None = None, site_ids: str | Sequence[str] | None = None,
                 keep_open: bool | str = False, config: Config | None = None,
                 clock: Clock = utc_now, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_day = start_day
        self.end_day = end_day if end_day is not None else start_day
        self.site_ids = site_ids
        self.keep_open = keep_open
        self._config = config
        self._clock = clock

    def execute(self, context: Context) -> dict[str, int]:
        from analytics.periods import first_open_day
        from analytics.quality import check_days

        start, end = run_args.day(self.start_day), run_args.day(self.end_day)
        sites = run_args.site_ids(self.site_ids)
        hook = AnalyticsStoreHook(self._config)
        now = self._clock()
        with hook.session() as session:
            zones = [site.timezone for site in hook.sites(session, sites)]
            open_from = first_open_day(start, end, zones, timedelta(
                minutes=hook.config.batch_settle_minutes), now) if run_args.flag(
                self.keep_open) else None
            if open_from is not None:
                self.log.info("days from %s on are still open (not closed by the batch "
                              "layer): not checked", open_from)
                end = open_from - timedelta(days=1)
            checks = [] if end < start else check_days(
                hook.config, session, start_day=start, end_day=end, site_ids=sites, now=now)
        for check in checks:
            self.log.info("%s", check.describe())
        failed = [check for check in checks if not check.ok]
        if failed:
            raise AirflowFailException(
                f"{len(failed)} of {len(checks)} site-days disagree between the batch and "
                "the speed layer:\n" + "\n".join(check.describe() for check in failed))
        if not checks:
            self.log.info("no sites to check")
        return {"checked": len(checks)}
