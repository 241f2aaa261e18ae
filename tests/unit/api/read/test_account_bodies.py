"""Every endpoint of accounts, site administration and shared links answers a malformed
or oversized body with a 4xx and a reason, never a 5xx."""

from __future__ import annotations

import orjson
import pytest

from tests.unit.api.errors import error_body
from tests.unit.api.read.conftest import ADMIN

SHARE = "/api/v1/share/{secret}/unlock"
ENDPOINTS = [("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/password"),
             ("PATCH", "/api/v1/sites/shop.example/settings"),
             ("POST", "/api/v1/sites/shop.example/members"),
             ("POST", "/api/v1/sites/shop.example/shared-links"), ("POST", SHARE)]


def call(world, method, path, body: bytes):
    admin = world.signed_in(ADMIN)
    if path == SHARE:
        made = admin.post("/api/v1/sites/shop.example/shared-links",
                          {"label": "x", "password": "open sesame!"})
        path = path.format(secret=made.json["url"].removeprefix("/share/"))
    return admin.request(method, path, body=body,
                         headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(("body", "answer"), [
    (b"{", (400, "invalid_json",
             "body: not JSON (unexpected end of data: line 1 column 2 (char 1))")),
    (b"", (400, "invalid_json", "body: not JSON (Input is a zero-length, empty document: "
                                "line 1 column 1 (char 0))")),
    (b"[1, 2]", (400, "invalid_json", "body: must be a JSON object")),
    (b'"text"', (400, "invalid_json", "body: must be a JSON object")),
    (b"\xff\xfe", (400, "invalid_json", "body: not JSON (str is not valid UTF-8: "
                                        "surrogates not allowed: line 1 column 1 (char 0))")),
    (b"{" + b" " * 70_000 + b"}", (413, "body_too_large", "70002 bytes; at most 65536")),
])
def test_bad_bodies_get_a_4xx_with_the_reason(world, method, path, body, answer):
    status, title, description = answer
    result = call(world, method, path, body)
    assert (result.status_code, error_body(result)) == (status, {"title": title,
                                                          "description": description})


@pytest.mark.parametrize(("path", "body", "description"), [
    ("/api/v1/auth/login", {"email": 1, "password": "x"}, "email: required, a string"),
    ("/api/v1/auth/login", {"email": None}, "email, password: required, a string"),
    ("/api/v1/auth/login", {"email": "a@b.c", "password": ["x"]},
     "password: required, a string"),
    (SHARE, {"password": None}, "password: required, a string"),
])
def test_fields_of_the_wrong_type_are_400(world, path, body, description):
    result = call(world, "POST", path, orjson.dumps(body))
    assert (result.status_code, error_body(result)) == (400, {"title": "invalid_request",
                                                        "description": description})
