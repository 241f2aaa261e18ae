"""gunicorn settings of the read service, from the one config object."""

from analytics.config import Config
from api.access_log import log_to_stderr

_config = Config.from_env()

bind = f"{_config.read_api_host}:{_config.read_api_port}"
workers = _config.read_api_workers
worker_class = "gthread"  # the Cassandra reads block; each request gets a thread
threads = _config.read_api_threads
backlog = 2048
keepalive = 5
timeout = 120  # a .hyper extract of years of pages takes a while
graceful_timeout = 20
accesslog = None  # the app writes its own (api/access_log.py, on stderr)
errorlog = "-"
loglevel = "info"
# the process title carries the state folder: how `make stop` finds workers left behind
proc_name = f"analytics-read analytics-stack={_config.state_dir}"
control_socket_disable = True  # one per user by default; several services share a machine


def post_fork(server, worker):
    log_to_stderr()
