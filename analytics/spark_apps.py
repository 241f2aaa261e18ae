"""The project's Spark applications, named once: what ``spark-submit`` runs for the speed
layer, the batch layer's recompute and the read API's ad-hoc jobs, under which
``spark.app.name``, and with which arguments.

The launchers (``stack`` for the local run, ``docker/entrypoints/speed-layer.sh``, the
Airflow operator ``sitelens.operators.batch_recompute``, ``api.read.jobs``) take the script
and the name from here and build the arguments with :func:`batch_args` /
:func:`adhoc_args`; the jobs' own parsers (``batch/job.py``, ``batch/adhoc.py``) read the
same flags (tests/unit/analytics/test_spark_apps.py runs one through the other).

Pure Python without imports from the rest of the project: the Airflow plugins import it
while the DAG processor parses the DAG files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class SparkApp:
    """A Python file that ``spark-submit`` runs (``script``, relative to the repository's
    root, ``/``-separated) and its ``spark.app.name`` (``name``: what the Spark UI and
    the logs call it)."""

    name: str
    script: str

    def path(self, root: Path) -> Path:
        """The script in the checkout at ``root`` (``analytics.config.REPO_ROOT``)."""
        return root.joinpath(*self.script.split("/"))


SPEED_LAYER = SparkApp(name="sitelens-speed-layer", script="streaming/job.py")
"""The Spark Structured Streaming job (no arguments: everything comes from config)."""
BATCH_RECOMPUTE = SparkApp(name="sitelens-batch", script="batch/job.py")
"""The batch layer's recompute of site-local days (:func:`batch_args`)."""
ADHOC = SparkApp(name="sitelens-adhoc", script="batch/adhoc.py")
"""One ad-hoc question of the read API (:func:`adhoc_args`)."""
APPS = (SPEED_LAYER, BATCH_RECOMPUTE, ADHOC)


def batch_args(start_day: date, end_day: date, *, sites: Sequence[str] = (),
               run_id: str = "", open_from: date | None = None) -> list[str]:
    """The arguments of :data:`BATCH_RECOMPUTE`: the site-local days ``start_day`` ..
    ``end_day`` (both included), the sites (none: every site), the run id recorded with
    the views, and the first day still going on (computed, not closed), if any."""
    if end_day < start_day:
        raise ValueError(f"end day {end_day} is before start day {start_day}")
    args = ["--start-day", start_day.isoformat(), "--end-day", end_day.isoformat()]
    if sites:
        args += ["--sites", ",".join(sites)]
    if run_id:
        args += ["--run-id", run_id]
    if open_from is not None:
        args += ["--open-from", open_from.isoformat()]
    return args


def adhoc_args(job_id: str) -> list[str]:
    """The arguments of :data:`ADHOC`: the job whose spec (in ``adhoc_jobs``) it answers."""
    return ["--job-id", job_id]
