"""JSON and CSV bodies of the read service's answers."""

from __future__ import annotations

import csv
import io

import falcon
import orjson


def json_response(resp, document, status=falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)


def csv_text(columns: list[str], rows: list[dict]) -> str:
    """A header of column ids, then one line per row; null is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return out.getvalue()


def csv_response(resp, columns: list[str], rows: list[dict], filename: str) -> None:
    resp.content_type = "text/csv; charset=utf-8"
    resp.downloadable_as = filename
    resp.data = csv_text(columns, rows).encode()
