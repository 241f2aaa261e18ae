"""The OpenAPI document describes the account, site-admin and share routes with their
security schemes, and the app serves the same document."""

from __future__ import annotations

import re

from api.read.openapi import document

PUBLIC = {("/api/v1/auth/login", "post"), ("/api/v1/auth/logout", "post"),
          ("/api/v1/share/{secret}", "get"), ("/api/v1/share/{secret}/unlock", "post")}
ADMIN_ONLY = {("/api/v1/sites/{site_id}/settings", "patch"),
              ("/api/v1/sites/{site_id}/members", "get"),
              ("/api/v1/sites/{site_id}/members", "post"),
              ("/api/v1/sites/{site_id}/members/{email}", "delete"),
              ("/api/v1/sites/{site_id}/shared-links", "get"),
              ("/api/v1/sites/{site_id}/shared-links", "post"),
              ("/api/v1/sites/{site_id}/shared-links/{link_id}", "delete")}


def test_the_new_routes_and_their_security_are_described(world):
    found = document("1.0.0")
    assert world.client.simulate_get("/api/v1/openapi.json").json == found
    assert found["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "an API token (python -m api.manage token create)"},
        "cookie": {"type": "apiKey", "in": "cookie", "name": "sl_session", "description":
                   "a person's session (POST /api/v1/auth/login); requests that change "
                   "something also send X-CSRF-Token"},
        "share": {"type": "apiKey", "in": "header", "name": "X-Share-Token", "description":
                  "a shared link's secret (read-only, one site; a link with a password "
                  "also needs the cookie POST .../unlock sets)"}}
    assert found["security"] == [{"bearer": []}, {"cookie": []}, {"share": []}]
    operations = {(path, method): op for path, item in found["paths"].items()
                  for method, op in item.items() if method != "parameters"}
    assert PUBLIC | ADMIN_ONLY | {("/api/v1/auth/me", "get"),
                                  ("/api/v1/auth/password", "post"),
                                  ("/api/v1/sites/{site_id}/settings", "get")} <= set(operations)
    for key in PUBLIC:
        assert operations[key]["security"] == [], key
    for key in ADMIN_ONLY:
        assert operations[key]["security"] == [{"cookie": []}], key
    for path, item in found["paths"].items():
        declared = {p["name"] for op in [item, *item.values()] if isinstance(op, dict)
                    for p in op.get("parameters", []) if p.get("in") == "path"}
        assert set(re.findall(r"{(\w+)}", path)) <= declared, path


def test_the_document_is_self_contained_with_the_query_and_job_schemas():
    from api.read.jobs import schema as job_schema
    from api.read.query import schema as query_schema

    found = document("1.0.0")
    assert found["components"]["schemas"]["Query"] == query_schema()
    assert found["components"]["schemas"]["Job"] == job_schema()
    body = found["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/Job"}
    references = re.findall(r"'\$ref': '([^']*)'", str(found))
    assert references and all(ref.startswith("#/components/") for ref in references)
