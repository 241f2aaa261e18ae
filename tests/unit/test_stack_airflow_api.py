"""The Airflow REST client tries a GET again after a timeout or a dropped connection (the
API server's one worker also serves every task's heartbeats), never after an HTTP error."""

from __future__ import annotations

import urllib.error

import pytest

from analytics.config import Config
from stack import airflow


def _api(monkeypatch, answers: list) -> tuple[airflow.AirflowApi, list]:
    api = airflow.AirflowApi(Config())
    calls = []
    monkeypatch.setattr(airflow.time, "sleep", lambda s: None)

    def request(method, path, **kwargs):
        calls.append((method, path))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(api, "_request", request)
    return api, calls


def test_a_get_is_tried_again_after_a_timeout(monkeypatch):
    api, calls = _api(monkeypatch, [TimeoutError("timed out"),
                                    ConnectionResetError("reset"), {"dag_runs": []}])
    assert api.dag_runs("sitelens_nightly") == []
    assert len(calls) == 3


def test_three_timeouts_give_up(monkeypatch):
    api, calls = _api(monkeypatch, [TimeoutError("1"), TimeoutError("2"), TimeoutError("3")])
    with pytest.raises(TimeoutError, match="3"):
        api.get("/api/v2/dags")
    assert len(calls) == 3


def test_an_http_error_is_not_tried_again(monkeypatch):
    error = urllib.error.HTTPError("http://x", 404, "Not Found", {}, None)
    api, calls = _api(monkeypatch, [error])
    with pytest.raises(urllib.error.HTTPError):
        api.get("/api/v2/dags/nope")
    assert len(calls) == 1
