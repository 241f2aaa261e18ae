"""Fault drills on the cluster profile. Each runs client load (pageviews with their own
event ids) and the hand-worked story of a fresh site through the fault, with a reader
asking the read API all along, and ends with:

* every event the write service acknowledged in the master dataset, nothing else of
  the load (no write answered other than 202), and each counted exactly once by the read
  API (copies of a record under one event id are counted in the figures as ``twice``);
* the story's exact hand-worked numbers, day D closed by the nightly DAG through Airflow;
* the read API never answering 5xx.

Each drill's figures (what was lost, recovery time, the read API's answers) are printed
at the end of the run and kept in bench/results/cluster-drills.json (README, Cluster).
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from stack import lifecycle
from stack.nodes import nodetool
from stack.spark_standalone import master_status
from tests.cluster.faults import (
    Reader,
    bring_back,
    isr_full,
    kill,
    wait_restarted,
    wait_until,
)
from tests.cluster.pipeline import Load

pytestmark = [pytest.mark.cluster, pytest.mark.integration]


def _settle_and_check(pipeline, drills, name: str, *, story, load: Load, reader: Reader,
                      recovery_s: float, **more) -> None:
    """Record the drill's figures, then check what every drill must end with."""
    pipeline.caught_up()
    found = pipeline.master_ids(load.site_id, *load.window())
    acked = Counter(load.acked)
    drills.append({
        "drill": name, "acknowledged": len(acked),
        "lost": sum(1 for event_id in acked if event_id not in found),
        "twice": sum(1 for n in found.values() if n > 1),
        "unacknowledged_kept": sum(1 for event_id in found if event_id not in acked),
        "write_answers": dict(load.statuses), "recovery_s": round(recovery_s, 1),
        "read_answers": dict(reader.statuses()), **more})
    assert set(load.statuses) == {202}, load.statuses
    assert set(found) == set(acked)  # every acknowledged event kept, nothing else
    # A record can be in Kafka twice under one event id: a produce that timed out while a
    # partition had no leader (the write service then spools and relays it) may have been
    # written after all. Readers count an event id once (docs/metrics.md); the speed
    # layer's view of the load must hold each acknowledged event exactly once.
    realtime = pipeline.get("/api/v1/realtime", {"site_id": load.site_id})
    assert realtime["pageviews"] == len(acked), realtime
    assert reader.errors() == 0, reader.statuses()
    pipeline.expect_story(story)


def _close(pipeline, story) -> None:
    run = pipeline.close_day([story.site_id], story.d)
    assert run["state"] == "success", pipeline.task_states(run)


def _batch_running(config) -> bool:
    status = master_status(config) or {}
    return any(app["name"] == "sitelens-batch" for app in status.get("activeapps", []))


def _repair(config, node: int) -> float:
    """``nodetool repair`` of the keyspace on ``node``, as an operator does after a node
    was down; seconds it took."""
    began = time.monotonic()
    done = nodetool(config, node, "repair", config.cassandra_keyspace)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - began


def test_a_kafka_broker_killed_under_load(pipeline, drills):
    config = pipeline.config
    story, site = pipeline.story_site("kafka"), pipeline.load_site("kafka")
    with Reader(pipeline, story) as reader, Load(pipeline.write_base, site) as load:
        time.sleep(5)
        kill(config, "kafka-2")
        pipeline.post_story(story)
        time.sleep(20)
        back = time.monotonic()
        bring_back(config, "kafka-2")
        wait_until(lambda: isr_full(config))
        time.sleep(3)
    pipeline.caught_up()
    recovered = time.monotonic() - back  # every replica in sync, the speed layer caught up
    _close(pipeline, story)
    _settle_and_check(pipeline, drills, "Kafka broker 2 SIGKILLed under load, back after "
                      "20 s", story=story, load=load, reader=reader, recovery_s=recovered)


def test_a_cassandra_node_killed_during_speed_writes_and_during_a_recompute(pipeline,
                                                                            drills):
    config = pipeline.config
    story, site = pipeline.story_site("cass"), pipeline.load_site("cass")
    with Reader(pipeline, story) as reader, Load(pipeline.write_base, site) as load:
        time.sleep(5)
        kill(config, "cassandra-3")
        pipeline.post_story(story)
        time.sleep(20)
        pipeline.caught_up()  # written at LOCAL_QUORUM by 2 of 3 replicas
        back = time.monotonic()
        bring_back(config, "cassandra-3")
        repair_3 = _repair(config, 3)
    recovered = time.monotonic() - back
    run = pipeline.start_close_day([story.site_id], story.d)
    wait_until(lambda: _batch_running(config), timeout=600)
    time.sleep(10)
    kill(config, "cassandra-2")
    run = pipeline.wait_run(run)
    bring_back(config, "cassandra-2")
    repair_2 = _repair(config, 2)
    assert run["state"] == "success", pipeline.task_states(run)
    _settle_and_check(pipeline, drills, "Cassandra node 3 SIGKILLed during the speed "
                      "layer's writes, node 2 during a recompute; repaired", story=story,
                      load=load, reader=reader, recovery_s=recovered,
                      repair_s=[round(repair_3, 1), round(repair_2, 1)])


def test_a_spark_worker_killed_during_streaming_and_the_batch_job(pipeline, drills):
    config = pipeline.config
    story, site = pipeline.story_site("worker"), pipeline.load_site("worker")
    with Reader(pipeline, story) as reader, Load(pipeline.write_base, site) as load:
        time.sleep(5)
        kill(config, "spark-worker-1")  # with the speed layer's executor on it
        pipeline.post_story(story)
        time.sleep(20)
        pipeline.caught_up()  # on the executor of worker 2 alone
        back = time.monotonic()
        bring_back(config, "spark-worker-1")
    pipeline.caught_up()
    recovered = time.monotonic() - back
    run = pipeline.start_close_day([story.site_id], story.d)
    wait_until(lambda: _batch_running(config), timeout=600)
    time.sleep(15)
    kill(config, "spark-worker-2")  # with an executor of the batch job on it
    run = pipeline.wait_run(run)
    bring_back(config, "spark-worker-2")
    assert run["state"] == "success", pipeline.task_states(run)
    _settle_and_check(pipeline, drills, "Spark worker 1 SIGKILLed during streaming, worker "
                      "2 during the batch job", story=story, load=load, reader=reader,
                      recovery_s=recovered)


def test_the_speed_layer_driver_killed_and_restarted_from_its_checkpoint(pipeline, drills):
    config = pipeline.config
    story, site = pipeline.story_site("driver"), pipeline.load_site("driver")
    with Reader(pipeline, story) as reader, Load(pipeline.write_base, site) as load:
        time.sleep(5)
        old = kill(config, "speed-layer")
        killed = time.monotonic()
        pipeline.post_story(story)
        wait_restarted(config, "speed-layer", old)
        time.sleep(5)
    pipeline.caught_up()
    recovered = time.monotonic() - killed
    _close(pipeline, story)
    _settle_and_check(pipeline, drills, "speed-layer driver SIGKILLed, restarted by the "
                      "supervisor from its checkpoint", story=story, load=load,
                      reader=reader, recovery_s=recovered)


def test_a_rolling_restart_of_cassandra_with_the_read_api_serving(pipeline, drills):
    config = pipeline.config
    story, site = pipeline.story_site("rolling"), pipeline.load_site("rolling")
    pipeline.post_story(story)
    pipeline.caught_up()
    _close(pipeline, story)
    down = {}
    with Reader(pipeline, story) as reader, Load(pipeline.write_base, site) as load:
        began = time.monotonic()
        for node in (1, 2, 3):
            drained = nodetool(config, node, "drain")
            assert drained.returncode == 0, drained.stderr
            name = f"cassandra-{node}"
            lifecycle.stop(config, [name], log=lambda _: None)
            start = time.monotonic()
            time.sleep(10)
            bring_back(config, name)
            down[name] = dict(reader.statuses((start, time.monotonic())))
        recovered = time.monotonic() - began
    _settle_and_check(pipeline, drills, "rolling restart of the 3 Cassandra nodes (drain, "
                      "stop, start)", story=story, load=load, reader=reader,
                      recovery_s=recovered, read_while_down=down)
