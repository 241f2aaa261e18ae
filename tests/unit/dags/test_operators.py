"""The plugins' operators and sensor, without the services: what they pass to Spark, to
``analytics.quality`` / ``analytics.retention``, and when the sensor lets a run go on."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from sitelens.hooks.analytics_store import AnalyticsStoreHook
from sitelens.operators.batch_recompute import BatchRecomputeOperator, connection_master
from sitelens.operators.layer_check import LayerCheckOperator
from sitelens.operators.raw_retention import PurgeRawEventsOperator
from sitelens.sensors.day_closed import DayClosedSensor, closes_at

from analytics.config import REPO_ROOT, Config
from analytics.sites import Site
from analytics.spark_submit import spark_submit_binary, submit_command

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
"""The operators' clock: 09:30 UTC, when Honolulu's 11-30 (until 10:00 UTC, + 60 minutes
of settle time) has not ended, while UTC's and Kathmandu's have."""
TODAY = NOW.date()


def at(instant: datetime):
    return lambda: instant


@pytest.fixture
def config(tmp_path) -> Config:
    jars = tmp_path / "jars" / "spark-connectors"
    jars.mkdir(parents=True)
    (jars / "connector.jar").write_bytes(b"")
    return Config(jars_dir=tmp_path / "jars", state_dir=tmp_path / "state",
                  cassandra_keyspace="ks_ops")


# -- batch recompute -------------------------------------------------------------------
def test_recompute_passes_the_days_sites_and_run_id_to_the_job():
    op = BatchRecomputeOperator(task_id="r", start_day="2026-11-24", site_ids="shop, blog",
                                batch_run_id="scheduled__2026-11-24")
    assert op.job_args() == ["--start-day", "2026-11-24", "--end-day", "2026-11-24",
                             "--sites", "shop,blog", "--run-id", "scheduled__2026-11-24"]
    every = BatchRecomputeOperator(task_id="r", start_day="2026-11-20", end_day="2026-11-22",
                                   site_ids="", batch_run_id="")
    assert every.job_args() == ["--start-day", "2026-11-20", "--end-day", "2026-11-22"]
    backwards = BatchRecomputeOperator(task_id="r", start_day="2026-11-22",
                                       end_day="2026-11-20")
    with pytest.raises(ValueError, match="before start day"):
        backwards.job_args()


def test_recompute_runs_the_same_spark_submit_as_the_rest_of_the_project(config):
    """The provider's hook builds pyspark's spark-submit with every --conf of the config,
    the master of the sitelens_spark connection, and our environment; the driver gets the
    batch layer's memory."""
    op = BatchRecomputeOperator(task_id="r", start_day="2026-11-24", site_ids="shop",
                                batch_run_id="run-1")
    assert op.prepare_submit(config) == "local[2]"
    hook = op._get_hook()
    built = hook._build_spark_submit_command(op.application)
    ours = submit_command(config.for_batch(), REPO_ROOT / "batch" / "job.py",
                          "sitelens-batch", op.job_args())
    assert built[:3] == [spark_submit_binary(), "--master", "local[2]"] == ours[:3]
    assert built[-len(op.job_args()) - 1:] == ours[-len(op.job_args()) - 1:]
    assert _confs(built) == _confs(ours)
    assert _confs(built)["spark.driver.memory"] == config.batch_driver_memory
    assert "spark.master" not in op.conf and "spark.app.name" not in op.conf
    assert built[built.index("--name") + 1] == "sitelens-batch"
    assert hook._env["PYTHONPATH"] == str(REPO_ROOT)
    assert hook._env["ANALYTICS_CASSANDRA_KEYSPACE"] == "ks_ops"
    assert hook._env["PYSPARK_PYTHON"] == sys.executable


def _confs(argv: list[str]) -> dict[str, str]:
    pairs = [argv[i + 1] for i, part in enumerate(argv) if part == "--conf"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_recompute_uses_the_connection_master_and_says_so_when_config_differs(
        config, capsys, monkeypatch):
    _fake_store(monkeypatch)
    op = BatchRecomputeOperator(task_id="r", start_day="2026-11-24")
    cluster = config.replace(spark_master="spark://spark-master:7077")
    submitted = []
    op._hook = None

    class FakeHook:
        def get_connection(self, conn_id):
            assert conn_id == "sitelens_spark"
            return SimpleNamespace(conn_type="spark", host="local[2]", port=None)

        def submit(self, application):
            submitted.append(application)

    op._get_hook = FakeHook
    op._config = cluster
    op.execute({})
    assert submitted == [str(REPO_ROOT / "batch" / "job.py")]
    logged = capsys.readouterr().out  # Airflow's structlog writes to stdout
    assert "spark://spark-master:7077" in logged and "running on local[2]" in logged


@pytest.mark.parametrize(("conn_type", "host", "port", "master"), [
    ("spark", "local[2]", None, "local[2]"),
    ("spark", "spark://spark-master:7077", None, "spark://spark-master:7077"),
    ("spark", "spark-master", 7077, "spark://spark-master:7077"),
    ("spark", "spark://spark-master", 7077, "spark://spark-master:7077"),
    ("yarn", None, None, "yarn://"),
])
def test_the_master_is_read_from_the_connection_as_the_provider_reads_it(
        monkeypatch, conn_type, host, port, master):
    """connection_master (the public Connection's fields) agrees with what the provider's
    hook resolves from the same connection."""
    import json

    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    conn = SimpleNamespace(conn_type=conn_type, host=host, port=port)
    assert connection_master(conn) == master
    uri = {"conn_type": conn_type, "host": host, "port": port}
    monkeypatch.setenv("AIRFLOW_CONN_SITELENS_SPARK",
                       json.dumps({k: v for k, v in uri.items() if v is not None}))
    hook = SparkSubmitHook(conn_id="sitelens_spark", spark_binary="/x/spark-submit")
    assert connection_master(hook.get_connection("sitelens_spark")) == master
    assert hook._build_spark_submit_command("app.py")[1:3] == ["--master", master]


# -- data quality ------------------------------------------------------------------------
@dataclass
class FakeCheck:
    site_id: str
    ok: bool

    def describe(self) -> str:
        return f"{self.site_id}: {'ok' if self.ok else 'MISMATCH'}"


SITES = {"blog": Site("blog", "blog.example", "Pacific/Honolulu"),
         "shop": Site("shop", "shop.example", "Asia/Kathmandu")}


def _fake_store(monkeypatch) -> None:
    monkeypatch.setattr(AnalyticsStoreHook, "session", lambda self, *a, **k: nullcontext("S"))
    monkeypatch.setattr(AnalyticsStoreHook, "sites", lambda self, session, ids=None: [
        SITES[i] for i in (ids or sorted(SITES))])


def test_a_day_still_going_on_is_recomputed_but_left_open(config, monkeypatch):
    """Days whose end (plus the settle time) has not come in every chosen zone are passed
    as ``--open-from``: computed, not closed. Honolulu's 2026-11-30 ends at 10:00 UTC on
    12-01, plus 60 minutes of settle time."""
    _fake_store(monkeypatch)
    op = BatchRecomputeOperator(task_id="r", start_day="2026-11-29", end_day="2026-12-01",
                                site_ids="blog,shop", batch_run_id="")
    at = datetime(2026, 12, 1, 10, 59, tzinfo=UTC)
    assert op.open_from(config, at) == date(2026, 11, 30)
    assert op.open_from(config, at + timedelta(minutes=1)) == date(2026, 12, 1)
    assert op.job_args(date(2026, 11, 30))[-2:] == ["--open-from", "2026-11-30"]
    shop_only = BatchRecomputeOperator(task_id="r", start_day="2026-11-30", site_ids="shop")
    # Kathmandu (+05:45): 11-30 ended at 18:15 UTC on 11-30, closed from 19:15
    assert shop_only.open_from(config, datetime(2026, 11, 30, 19, 14, tzinfo=UTC)) == \
        date(2026, 11, 30)
    assert shop_only.open_from(config, datetime(2026, 11, 30, 19, 15, tzinfo=UTC)) is None


def test_layer_check_logs_every_day_and_fails_listing_the_mismatches(monkeypatch, config,
                                                                       capsys):
    import analytics.quality

    calls = []

    def check_days(cfg, session, *, start_day, end_day, site_ids, now):
        calls.append((cfg, session, start_day, end_day, site_ids, now.tzinfo))
        return [FakeCheck("blog", True), FakeCheck("shop", False)]

    monkeypatch.setattr(analytics.quality, "check_days", check_days)
    _fake_store(monkeypatch)
    op = LayerCheckOperator(task_id="c", start_day="2026-11-24", end_day="2026-11-25",
                            site_ids="blog,shop", config=config)
    with pytest.raises(AirflowFailException) as failed:
        op.execute({})
    assert calls == [(config, "S", date(2026, 11, 24), date(2026, 11, 25), ["blog", "shop"],
                      UTC)]
    assert "1 of 2 site-days disagree" in str(failed.value)  # days long past: all checked
    assert "shop: MISMATCH" in str(failed.value) and "blog" not in str(failed.value)
    assert "blog: ok" in capsys.readouterr().out


def test_layer_check_passes_when_every_day_agrees(monkeypatch, config):
    import analytics.quality

    monkeypatch.setattr(analytics.quality, "check_days",
                        lambda *a, **k: [FakeCheck("blog", True)])
    _fake_store(monkeypatch)
    op = LayerCheckOperator(task_id="c", start_day="2026-11-24", config=config)
    assert op.execute({}) == {"checked": 1}
    assert op.end_day == "2026-11-24"


# -- retention ---------------------------------------------------------------------------
def test_retention_purges_until_the_interval_end_for_the_chosen_sites(monkeypatch, config):
    import analytics.retention

    sites = [Site("blog", "blog.example", retention_days=30), Site("shop", "shop.example")]
    calls = []

    def purge(session, chosen, *, until, lookback_days):
        calls.append((session, [s.site_id for s in chosen], until, lookback_days))
        return {"blog": 24, "shop": 0}

    monkeypatch.setattr(analytics.retention, "purge_raw_events", purge)
    monkeypatch.setattr(AnalyticsStoreHook, "sites", lambda self, session, ids=None: sites)
    _fake_store(monkeypatch)
    op = PurgeRawEventsOperator(task_id="p", until="2026-11-25T01:00:00+00:00",
                                lookback_days="2", config=config)
    assert op.execute({}) == {"blog": 24, "shop": 0}
    assert calls == [("S", ["blog", "shop"], datetime(2026, 11, 25, 1, tzinfo=UTC), 2)]


# -- the day-closed sensor -----------------------------------------------------------------
def test_a_day_closes_when_it_ended_in_the_last_zone_plus_the_settle_time():
    settle = timedelta(minutes=60)
    day = date(2026, 11, 24)
    assert closes_at(day, ["UTC"], settle) == datetime(2026, 11, 25, 1, tzinfo=UTC)
    assert closes_at(day, ["UTC", "Pacific/Honolulu", "Asia/Kathmandu"], settle) == \
        datetime(2026, 11, 25, 11, tzinfo=UTC)  # Honolulu is UTC-10
    assert closes_at(day, ["Pacific/Kiritimati"], settle) == \
        datetime(2026, 11, 24, 11, tzinfo=UTC)  # UTC+14: over before the UTC day is
    assert closes_at(day, [], settle) is None


def _sensor(monkeypatch, config, sites, clock=at(NOW), **kwargs) -> DayClosedSensor:
    monkeypatch.setattr(DayClosedSensor, "chosen_sites", lambda self: sites)
    return DayClosedSensor(task_id="w", config=config, clock=clock, **kwargs)


def test_sensor_waits_for_the_day_to_close(monkeypatch, config):
    """Honolulu's 11-30 closes at 11:00 UTC on 12-01 (10:00 + 60 minutes)."""
    sites = [Site("blog", "blog.example", timezone="Pacific/Honolulu")]
    closes = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    past = _sensor(monkeypatch, config, sites, day="2026-11-27")
    assert past.poke({}) is True
    future = _sensor(monkeypatch, config, sites, day="2026-11-30")
    assert future.target() == closes
    assert future.poke({}) is False
    assert _sensor(monkeypatch, config, sites, at(closes - timedelta(microseconds=1)),
                   day="2026-11-30").poke({}) is False
    assert _sensor(monkeypatch, config, sites, at(closes), day="2026-11-30").poke({}) is True


def test_sensor_defers_to_the_instant_the_day_closes(monkeypatch, config):
    sites = [Site("blog", "blog.example", timezone="UTC")]
    sensor = _sensor(monkeypatch, config, sites, day="2026-12-01", settle_minutes=30)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert deferred.value.trigger.moment == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    assert deferred.value.method_name == "execute_complete"
    done = _sensor(monkeypatch, config, sites, day="2026-11-29")
    assert done.execute({}) is None  # a closed day does not defer
    # back from the trigger at the instant it waited for: done
    back = _sensor(monkeypatch, config, sites, at(datetime(2026, 12, 2, 0, 30, tzinfo=UTC)),
                   day="2026-12-01", settle_minutes=30)
    assert back.execute_complete({}) is None


def test_sensor_does_not_wait_when_asked_not_to(monkeypatch, config):
    sites = [Site("blog", "blog.example")]
    sensor = _sensor(monkeypatch, config, sites, day=str(TODAY), wait="False")
    assert sensor.poke({}) is True
    assert sensor.execute({}) is None


def test_settle_time_comes_from_config(monkeypatch, config):
    sites = [Site("blog", "blog.example")]
    sensor = _sensor(monkeypatch, config.replace(batch_settle_minutes=15), sites,
                     day="2026-11-24")
    assert sensor.target() == datetime(2026, 11, 25, 0, 15, tzinfo=UTC)


def test_layer_check_leaves_out_days_still_open(monkeypatch, config, capsys):
    import analytics.quality

    calls = []

    def check_days(cfg, session, *, start_day, end_day, site_ids, now):
        calls.append((start_day, end_day))
        return [FakeCheck("blog", True)]

    monkeypatch.setattr(analytics.quality, "check_days", check_days)
    _fake_store(monkeypatch)
    op = LayerCheckOperator(task_id="c", start_day="2026-11-26", end_day="2026-12-02",
                            keep_open="True", config=config, clock=at(NOW))
    assert op.execute({}) == {"checked": 1}
    # at 09:30 UTC Honolulu's 11-30 is still open (until 10:00 UTC, + 60 min settle time)
    assert calls == [(date(2026, 11, 26), date(2026, 11, 29))]
    assert "days from 2026-11-30 on are still open" in capsys.readouterr().out
    calls.clear()  # an hour and a half later it has closed
    later = LayerCheckOperator(task_id="c", start_day="2026-11-26", end_day="2026-12-02",
                               keep_open="True", config=config,
                               clock=at(datetime(2026, 12, 1, 11, 0, tzinfo=UTC)))
    assert later.execute({}) == {"checked": 1}
    assert calls == [(date(2026, 11, 26), date(2026, 11, 30))]
    only_open = LayerCheckOperator(task_id="c", start_day="2026-12-01", keep_open=True,
                                   config=config, clock=at(NOW))
    calls.clear()
    assert only_open.execute({}) == {"checked": 0} and calls == []
    # without keep_open (a nightly or early-closing run) every day is checked
    closing = LayerCheckOperator(task_id="c", start_day="2026-12-01", config=config,
                                 clock=at(NOW))
    assert closing.execute({}) == {"checked": 1} and calls == [(TODAY, TODAY)]


def test_recompute_leaves_a_day_open_only_when_the_run_named_it(config, monkeypatch):
    _fake_store(monkeypatch)

    class FakeHook:
        def get_connection(self, conn_id):
            return SimpleNamespace(conn_type="spark", host="local[2]", port=None)

        def submit(self, application):
            pass

    args = {}
    for keep_open in (True, False):
        op = BatchRecomputeOperator(task_id="r", start_day="2026-11-30", site_ids="blog",
                                    batch_run_id="", keep_open=keep_open, config=config,
                                    clock=at(NOW))
        op._get_hook = FakeHook
        op.execute({})
        args[keep_open] = op.application_args
    # at 09:30 UTC on 12-01 Honolulu's 11-30 has not ended (+ settle time)
    assert args[True][-2:] == ["--open-from", "2026-11-30"]
    assert "--open-from" not in args[False]
