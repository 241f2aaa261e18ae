"""Replacing a site-day's batch views so that readers never see it half-written
(migration 0005): register the new version, write its rows, switch ``batch_days`` to it
(one row per site-day: an atomic write), then delete every other version of that day.

Running a recompute twice, or after late events arrived, leaves exactly the last run's
rows; a run that dies before the switch leaves invisible rows that the next recompute of
that day deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from analytics.spark_session import write_cassandra

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DAYS, VERSIONS = "batch_days", "batch_versions"
VIEW_TABLES = {"hourly": "batch_hourly", "breakdowns": "batch_breakdowns",
               "goals": "batch_goals"}
"""recompute()'s output name -> the table whose rows are versioned."""
SiteDay = tuple[str, date]


class BatchStore:
    """The batch tables of one keyspace: Spark writes the rows, the Cassandra driver
    (``session``, bound to the keyspace) does the bookkeeping."""

    def __init__(self, session, keyspace: str, concurrency: int = 64):
        self.session = session
        self.keyspace = keyspace
        self.concurrency = concurrency

    def begin(self, site_days: Iterable[SiteDay], version: str, run_id: str,
              started_at: datetime) -> None:
        """Register ``version`` for every site-day before any of its rows is written."""
        insert = self.session.prepare(
            f"INSERT INTO {VERSIONS} (site_id, day, version, run_id, started_at) "
            "VALUES (?, ?, ?, ?, ?)")
        self._run(insert, [(site, day, version, run_id, started_at)
                           for site, day in site_days])

    def write_views(self, frames: Mapping[str, DataFrame], version: str) -> None:
        """The versioned rows; readers do not see them until :meth:`switch`."""
        for name, table in VIEW_TABLES.items():
            rows = frames[name].withColumn("version", F.lit(version))
            write_cassandra(rows, self.keyspace, table, ignore_nulls=True)

    def switch(self, days: DataFrame, version: str, run_id: str, computed_at: datetime,
               ) -> None:
        """Write the site-days' rows of ``batch_days`` naming ``version``: each day is
        replaced at once. Every column is written (a zero day overwrites a busy one)."""
        rows = days.withColumns({"version": F.lit(version), "run_id": F.lit(run_id),
                                 "computed_at": F.lit(computed_at)})
        write_cassandra(rows, self.keyspace, DAYS)

    def superseded(self, site_days: Iterable[SiteDay], version: str) -> list[tuple]:
        """(site_id, day, version) of every other version registered for the site-days."""
        select = self.session.prepare(
            f"SELECT site_id, day, version FROM {VERSIONS} WHERE site_id = ? AND day = ?")
        found = []
        for ok, rows in self._run(select, list(site_days)):
            if not ok:
                raise rows
            found += [(r.site_id, _date(r.day), r.version) for r in rows
                      if r.version != version]
        return found

    def delete_versions(self, versions: list[tuple]) -> None:
        """Remove the rows of the given (site_id, day, version) and their registration."""
        for table in (*VIEW_TABLES.values(), VERSIONS):
            delete = self.session.prepare(
                f"DELETE FROM {table} WHERE site_id = ? AND day = ? AND version = ?")
            self._run(delete, versions)

    def _run(self, statement, params: list[tuple]) -> list:
        from cassandra.concurrent import execute_concurrent_with_args

        return execute_concurrent_with_args(self.session, statement, params,
                                            concurrency=self.concurrency,
                                            raise_on_first_error=True)


def _date(value) -> date:
    """The driver returns ``cassandra.util.Date`` for a date column."""
    return value if isinstance(value, date) else value.date()
