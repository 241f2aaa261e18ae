"""The OpenAPI description of people's accounts, site administration and shared links
(merged into :func:`api.read.openapi.document`)."""

from __future__ import annotations

from api.read.passwords import MIN_LENGTH
from api.read.site_settings import EDITABLE

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "an API token (python -m api.manage token create)"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "sl_session",
               "description": "a person's session (POST /api/v1/auth/login); requests that "
                              "change something also send X-CSRF-Token"},
    "share": {"type": "apiKey", "in": "header", "name": "X-Share-Token",
              "description": "a shared link's secret (read-only, one site; a link with a "
                             "password also needs the cookie POST .../unlock sets)"},
}
EVERYONE = [{"bearer": []}, {"cookie": []}, {"share": []}]
PEOPLE = [{"cookie": []}]
ADMINS = [{"cookie": []}]

ERROR_SCHEMA = {"type": "object", "required": ["title", "request_id"], "properties": {
    "title": {"type": "string", "description": "a code (invalid_query, forbidden, ...)"},
    "description": {"type": "string", "description": "the reason"},
    "request_id": {"type": "string", "description": "the request's id (X-Request-Id), "
                                                    "also in the access log line"}}}
"""The body of every error of both services (``api/access_log.py``), as the document's
``#/components/schemas/Error``."""
_ERROR = {"description": "title (a code) and description (the reason)", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _errors(*codes: str) -> dict:
    reasons = {"400": "invalid body (invalid_json, invalid_request, ...)",
               "401": "no or wrong credentials", "403": "forbidden, or csrf_failed",
               "404": "unknown site, member or link", "409": "last_admin",
               "413": "body_too_large", "429": "too_many_attempts (Retry-After)"}
    return {code: {**_ERROR, "description": reasons[code]} for code in codes}


def _json(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"content": {"application/json": {"schema": schema}}}


_S = {"type": "string"}
_NULLABLE_S = {"type": ["string", "null"]}
_SITE = {"type": "object", "properties": {
    "site_id": _S, "domain": _S, "timezone": _S, "goals": {"type": "array", "items": _S},
    "role": {"enum": ["admin", "viewer", None]}}}
_SETTINGS = {"site_id": _S, "domain": _S, "allowed_origins": {"type": "array", "items": _S},
             "timezone": _S, "goals": {"type": "array", "items": _S},
             "retention_days": {"type": ["integer", "null"], "minimum": 1}}
_MEMBER = {"email": _S, "role": {"enum": ["admin", "viewer"]}, "granted_at": _S}
_LINK = {"link_id": _S, "label": _S, "password_protected": {"type": "boolean"},
         "created_at": _S, "revoked_at": _NULLABLE_S}
_SITE_ID = {"name": "site_id", "in": "path", "required": True, "schema": _S}
_SECRET = {"name": "secret", "in": "path", "required": True, "schema": _S}
_NO_CONTENT = {"204": {"description": "done"}}


def _op(op_id: str, summary: str, security: list, responses: dict, **more) -> dict:
    return {"operationId": op_id, "summary": summary, "security": security,
            "responses": responses, **more}


PATHS = {
    "/api/v1/auth/login": {"post": _op(
        "login", "Log in: sets the HttpOnly sl_session cookie (Secure over https)", [],
        {"200": {"description": "the person and the session's CSRF token", **_json(
            {"user": {"type": "object", "properties": {"email": _S}}, "csrf_token": _S})},
         **_errors("400", "401", "413", "429")},
        requestBody={"required": True, **_json({"email": _S, "password": _S},
                                               ["email", "password"])})},
    "/api/v1/auth/logout": {"post": _op(
        "logout", "End the session and clear its cookie", [], {
            **_NO_CONTENT, **_errors("403")})},
    "/api/v1/auth/me": {"get": _op(
        "me", "Who is asking: user + csrf_token, share, or token; and the sites they may "
              "read, each with its role", EVERYONE,
        {"200": {"description": "the principal", **_json({
            "user": {"type": "object"}, "share": {"type": "object"},
            "token": {"type": "object"}, "csrf_token": _S,
            "sites": {"type": "array", "items": _SITE}})}, **_errors("401")})},
    "/api/v1/auth/password": {"post": _op(
        "changePassword", f"Change the password (at least {MIN_LENGTH} characters); the "
                          "person's other sessions end", PEOPLE,
        {**_NO_CONTENT, **_errors("400", "401", "403", "413", "429")},
        requestBody={"required": True, **_json({"current_password": _S, "new_password": _S},
                                               ["current_password", "new_password"])})},
    "/api/v1/sites/{site_id}/settings": {
        "parameters": [_SITE_ID],
        "get": _op("siteSettings", "A site's settings (viewers too)", EVERYONE,
                   {"200": {"description": "settings", **_json(_SETTINGS)},
                    **_errors("401", "403", "404")}),
        "patch": _op("changeSiteSettings", "Change any of " + ", ".join(EDITABLE)
                     + " (admins)", ADMINS,
                     {"200": {"description": "the new settings", **_json(_SETTINGS)},
                      **_errors("400", "401", "403", "404", "413")},
                     requestBody={"required": True, **_json(
                         {k: v for k, v in _SETTINGS.items() if k != "site_id"})})},
    "/api/v1/sites/{site_id}/members": {
        "parameters": [_SITE_ID],
        "get": _op("members", "People with a role on the site (admins)", ADMINS,
                   {"200": {"description": "members", **_json(
                       {"members": {"type": "array", "items": {
                           "type": "object", "properties": _MEMBER}}})},
                    **_errors("401", "403", "404")}),
        "post": _op("addMember", "Give a person who has an account a role (201 new, 200 "
                                 "changed)", ADMINS,
                    {"201": {"description": "member", **_json(_MEMBER)},
                     "200": {"description": "member", **_json(_MEMBER)},
                     **_errors("400", "401", "403", "404", "409", "413")},
                    requestBody={"required": True, **_json(
                        {"email": _S, "role": {"enum": ["admin", "viewer"]}},
                        ["email", "role"])})},
    "/api/v1/sites/{site_id}/members/{email}": {
        "parameters": [_SITE_ID, {"name": "email", "in": "path", "required": True,
                                  "schema": _S}],
        "delete": _op("removeMember", "Take a person's role away (admins)", ADMINS,
                      {**_NO_CONTENT, **_errors("401", "403", "404", "409")})},
    "/api/v1/sites/{site_id}/shared-links": {
        "parameters": [_SITE_ID],
        "get": _op("sharedLinks", "The site's shared links, revoked ones too (admins)",
                   ADMINS, {"200": {"description": "links", **_json(
                       {"links": {"type": "array", "items": {
                           "type": "object", "properties": _LINK}}})},
                       **_errors("401", "403", "404")}),
        "post": _op("createSharedLink", "A new read-only link; url holds its secret, shown "
                                        "only now (admins)", ADMINS,
                    {"201": {"description": "the link", **_json(
                        {**{k: v for k, v in _LINK.items() if k != "revoked_at"},
                         "url": _S})}, **_errors("400", "401", "403", "404", "413")},
                    requestBody={"required": True, **_json(
                        {"label": _S, "password": _S}, ["label"])})},
    "/api/v1/sites/{site_id}/shared-links/{link_id}": {
        "parameters": [_SITE_ID, {"name": "link_id", "in": "path", "required": True,
                                  "schema": _S}],
        "delete": _op("revokeSharedLink", "Revoke a link: its calls answer 404 "
                                          "unknown_link after (admins)", ADMINS,
                      {**_NO_CONTENT, **_errors("401", "403", "404")})},
    "/api/v1/share/{secret}": {
        "parameters": [_SECRET],
        "get": _op("share", "What a shared link shows and whether it needs its password",
                   [], {"200": {"description": "the link's site", **_json({
                       "site": {"type": "object"}, "password_required": {"type": "boolean"},
                       "unlocked": {"type": "boolean"}})}, **_errors("404")})},
    "/api/v1/share/{secret}/unlock": {
        "parameters": [_SECRET],
        "post": _op("unlockShare", "The link's password: sets an HttpOnly cookie that "
                                   "unlocks the link in this browser", [],
                    {**_NO_CONTENT, "401": {**_ERROR, "description": "invalid_password"},
                     **_errors("400", "404", "413", "429")},
                    requestBody={"required": True, **_json({"password": _S},
                                                           ["password"])})},
}
