"""Retention of the master dataset: raw events older than each site's setting go."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sitelens.hooks.analytics_store import AnalyticsStoreHook
from sitelens.utils import run_args

if TYPE_CHECKING:
    from airflow.sdk import Context

    from analytics.config import Config


class PurgeRawEventsOperator(BaseOperator):
    """Delete the raw-event hours that expired by ``until`` (default: the end of the data
    interval) for the chosen sites (default: every site), looking back ``lookback_days``
    before each site's cutoff (``analytics.retention.purge_raw_events``). Sites without
    ``retention_days`` keep their raw events forever. Deleting is idempotent, so a retry
    or a rerun is safe. Returns site id -> hours deleted."""

    template_fields: Sequence[str] = ("until", "lookback_days", "site_ids")
    ui_color = "#f4d4d4"

    def __init__(self, *, until: str = "{{ data_interval_end | ts }}",
                 lookback_days: int | str = 1, site_ids: str | Sequence[str] | None = None,
                 config: Config | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.until = until
        self.lookback_days = lookback_days
        self.site_ids = site_ids
        self._config = config

    def execute(self, context: Context) -> dict[str, int]:
        from analytics.retention import purge_raw_events

        until = run_args.instant(self.until)
        lookback = int(self.lookback_days)
        if lookback < 1:
            raise ValueError(f"lookback_days must be at least 1, not {lookback}")
        hook = AnalyticsStoreHook(self._config)
        with hook.session() as session:
            sites = hook.sites(session, run_args.site_ids(self.site_ids))
            deleted = purge_raw_events(session, sites, until=until, lookback_days=lookback)
        for site in sites:
            if site.retention_days is None:
                self.log.info("%s: no retention set, raw events kept", site.site_id)
            else:
                self.log.info("%s: %d raw hours deleted (retention %d days, until %s)",
                              site.site_id, deleted.get(site.site_id, 0), site.retention_days,
                              until.isoformat())
        return deleted
