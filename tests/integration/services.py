"""Services the integration tests start themselves (``stack.launch``: the write service
under gunicorn and the speed layer under spark-submit, each for a config of the test's
own), and HTTP helpers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from stack.launch import ReadService, SpeedLayerJob, WriteService

__all__ = ["CHROME_UA", "ReadService", "SpeedLayerJob", "WriteService", "http",
           "post_json"]

CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/141.0.0.0 Safari/537.36")


def http(method: str, url: str, body: bytes | str | None = None, headers: dict | None = None):
    """(status, headers with lower-case names, body bytes); 4xx/5xx do not raise."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"User-Agent": CHROME_UA, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def post_json(url: str, payload, headers: dict | None = None):
    status, resp_headers, body = http("POST", url, json.dumps(payload),
                                      {"Content-Type": "text/plain", **(headers or {})})
    return status, resp_headers, json.loads(body) if body else None
