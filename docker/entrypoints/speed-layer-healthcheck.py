"""Container health check of the speed layer: the job's status file (written by
streaming.progress every few seconds) is fresh and every streaming query in it is active.
Exit status 0 healthy, 1 not."""

import sys

from analytics.config import Config
from streaming.progress import read_status

status = read_status(Config.from_env())
healthy = bool(status and status["queries"]
               and all(query["active"] for query in status["queries"].values()))
sys.exit(0 if healthy else 1)
