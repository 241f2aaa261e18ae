#!/bin/sh
# The speed layer in the Spark image: `spark-submit streaming/job.py` (the application
# analytics.spark_apps.SPEED_LAYER) to the master in ANALYTICS_SPARK_MASTER. The command
# line (master, connector jars, Cassandra contact points, driver host, ...) and the job's
# environment come from the same ANALYTICS_* config as the local run, through
# analytics.spark_submit. Both exec calls replace the process, so SIGTERM/SIGINT reach
# spark-submit (the job stops its queries between micro-batches).
set -eu
cd /opt/sitelens
exec python - "$@" <<'PY'
import os
import sys

from analytics.config import REPO_ROOT, Config
from analytics.spark_apps import SPEED_LAYER
from analytics.spark_submit import submit_command, submit_env

config = Config.from_env()
argv = submit_command(config, SPEED_LAYER.path(REPO_ROOT), SPEED_LAYER.name, sys.argv[1:])
env = {**os.environ, **submit_env(config)}
print("speed layer:", " ".join(argv), flush=True)
os.execve(argv[0], argv, env)
PY
