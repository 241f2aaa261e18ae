"""Container health check of the read service: GET /healthz on the port from config
(200 when Cassandra answers). Exit status 0 healthy, 1 not."""

import sys
import urllib.request

from analytics.config import Config

config = Config.from_env()
try:
    with urllib.request.urlopen(
            f"http://127.0.0.1:{config.read_api_port}/healthz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # connection refused, 503 (HTTPError), timeout
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
