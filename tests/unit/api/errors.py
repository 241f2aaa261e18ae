"""The error body both services answer every 4xx and 5xx with (``api/access_log.py``):
``{"title": <code>, "description": <reason>, "request_id": <id>}``."""

from __future__ import annotations


def error_body(result) -> dict:
    """An error answer's body without its ``request_id``, once that is checked to be the
    request's id (the ``X-Request-Id`` the answer carries)."""
    body = dict(result.json)
    assert body.pop("request_id") == result.headers["X-Request-Id"]
    return body
