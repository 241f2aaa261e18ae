"""gunicorn settings of the write service, from the one config object."""

import os
import shutil

from analytics.config import Config
from api.access_log import log_to_stderr

_config = Config.from_env()

bind = f"{_config.write_api_host}:{_config.write_api_port}"
workers = _config.write_api_workers
worker_class = "asgi"  # gunicorn's own asyncio worker; the app is falcon.asgi
backlog = 2048
keepalive = 5
timeout = 30
graceful_timeout = 20
accesslog = None  # the app writes its own (api/access_log.py, on stderr)
errorlog = "-"
loglevel = "info"
# the process title carries the state folder: how `make stop` finds workers left behind
proc_name = f"analytics-write analytics-stack={_config.state_dir}"
control_socket_disable = True  # one per user by default; several services share a machine

# prometheus_client's multi-process mode reads this variable when it is imported (in the
# workers, after fork); the folder is emptied at every start.
_metrics_dir = _config.write_metrics_dir
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={_metrics_dir}"]


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    log_to_stderr()
