"""The batch layer's recompute of site-local days: ``batch/job.py`` under spark-submit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowNotFoundException

from analytics.spark_apps import BATCH_RECOMPUTE, batch_args
from sitelens import SPARK_CONN_ID
from sitelens.hooks.analytics_store import AnalyticsStoreHook
from sitelens.utils import run_args
from sitelens.utils.clock import Clock, utc_now

if TYPE_CHECKING:
    from airflow.sdk import Connection, Context

    from analytics.config import Config


class BatchRecomputeOperator(SparkSubmitOperator):
    """Recompute the site-local days ``start_day``..``end_day`` (both included) of the
    chosen sites (default: every site) and replace their batch views. With ``keep_open``
    (the trigger form's named days), days that have not ended in every chosen site's zone
    (plus the settle time) are computed and reported but not written: they stay open and
    the speed layer keeps serving them. Without it every day is closed, ended or not
    (the nightly run waits for the end; ``wait_for_day_end`` off closes a day early on
    purpose).

    The Spark provider's ``SparkSubmitOperator``, fed from the project's config when the
    task runs: every ``--conf`` from ``analytics.spark_session.spark_conf`` (connector jars,
    Cassandra, memory, shuffle partitions), the environment from
    ``analytics.spark_submit.submit_env`` (``ANALYTICS_*``, this venv's Python for the driver
    and workers, the repo on ``PYTHONPATH``) and pyspark's own ``spark-submit`` (its jars
    match the connectors). The master comes from the ``sitelens_spark`` connection, which
    the stack makes from ``ANALYTICS_SPARK_MASTER``; a mismatch with the config is logged.
    The job, its name and its arguments are ``analytics.spark_apps.BATCH_RECOMPUTE``;
    ``clock`` (default: the real one) says which days have ended.

    The job (``batch/job.py``) exits non-zero when anything fails, leaving the previous
    version of every day in place, so a retry is safe; so is running a day twice.
    """

    template_fields: Sequence[str] = (*SparkSubmitOperator.template_fields,
                                      "start_day", "end_day", "site_ids", "batch_run_id",
                                      "keep_open")
    ui_color = "#fde7c6"

    def __init__(self, *, start_day: str = "{{ data_interval_start | ds }}",
                 end_day: str | None = None, site_ids: str | Sequence[str] | None = None,
                 batch_run_id: str = "{{ run_id }}", conn_id: str = SPARK_CONN_ID,
                 keep_open: bool | str = False, config: Config | None = None,
                 clock: Clock = utc_now, **kwargs: Any) -> None:
        kwargs.setdefault("name", BATCH_RECOMPUTE.name)
        super().__init__(conn_id=conn_id, **kwargs)
        self.start_day = start_day
        self.end_day = end_day if end_day is not None else start_day
        self.site_ids = site_ids
        self.batch_run_id = batch_run_id
        self.keep_open = keep_open
        self._config = config
        self._clock = clock

    def job_args(self, open_from: date | None = None) -> list[str]:
        """The command-line arguments of ``batch/job.py`` for the rendered fields (days
        from ``open_from`` on have not ended: computed, not closed)."""
        return batch_args(run_args.day(self.start_day), run_args.day(self.end_day),
                          sites=run_args.site_ids(self.site_ids) or (),
                          run_id=str(self.batch_run_id or ""), open_from=open_from)

    def open_from(self, config: Config, now: datetime) -> date | None:
        """The first requested day that has not ended (plus the settle time) in every
        chosen site's zone; such days are recomputed but stay open."""
        from analytics.periods import first_open_day

        hook = AnalyticsStoreHook(config)
        with hook.session() as session:
            zones = [site.timezone for site in hook.sites(
                session, run_args.site_ids(self.site_ids))]
        return first_open_day(run_args.day(self.start_day), run_args.day(self.end_day), zones,
                              timedelta(minutes=config.batch_settle_minutes), now)

    def prepare_submit(self, config: Config, open_from: date | None = None) -> str:
        """Fill the provider's fields from config; returns the config's Spark master."""
        from analytics.config import REPO_ROOT
        from analytics.spark_session import spark_conf
        from analytics.spark_submit import spark_submit_binary, submit_env

        conf = spark_conf(config.for_batch(), self.name)
        master = conf.pop("spark.master")
        self.name = conf.pop("spark.app.name")
        self.conf = {**conf, **(self.conf or {})}
        self.env_vars = {**submit_env(config), **(self.env_vars or {})}
        self._spark_binary = self._spark_binary or spark_submit_binary()
        self.application = self.application or str(BATCH_RECOMPUTE.path(REPO_ROOT))
        self.application_args = self.job_args(open_from)
        return master

    def execute(self, context: Context) -> None:
        from analytics.config import Config

        config = self._config or Config.from_env()
        open_from = (self.open_from(config, self._clock())
                     if run_args.flag(self.keep_open) else None)
        if open_from is not None:
            self.log.info("days from %s on have not ended in every chosen site's zone: they "
                          "are recomputed but stay open (the speed layer serves them)",
                          open_from)
        master = self.prepare_submit(config, open_from)
        self._hook = self._get_hook()
        try:
            used = connection_master(self._hook.get_connection(self._conn_id))
        except AirflowNotFoundException:  # the provider falls back to its default master
            self.log.warning("no connection %s: the Spark provider uses its default master",
                             self._conn_id)
        else:
            if used != master:
                self.log.warning("connection %s says master %s, the config "
                                 "(ANALYTICS_SPARK_MASTER) says %s: running on %s",
                                 self._conn_id, used, master, used)
        self.log.info("recomputing %s", " ".join(self.application_args))
        super().execute(context)


def connection_master(conn: Connection) -> str:
    """The Spark master a connection (the hook's public ``get_connection``) names, read as
    the provider's ``SparkSubmitHook`` reads it (5.6.0, ``_resolve_connection``; the tests
    compare the two): a ``spark`` connection whose host is a whole master URL (it has
    ``://``, or no port is set: ``local[2]``, ``spark://host:7077``) is that URL;
    otherwise the connection type is the URL's scheme (``spark://`` + host); a port is
    appended."""
    if conn.conn_type == "spark" and conn.host and ("://" in conn.host or not conn.port):
        master = conn.host
    else:
        master = f"{conn.conn_type}://{conn.host or ''}"
    return f"{master}:{conn.port}" if conn.port else master
