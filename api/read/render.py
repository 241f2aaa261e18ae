"""JSON and CSV bodies of the read service's answers.

Every CSV the service sends (reports, realtime, exports, job results) is written by
:func:`csv_text`, which neutralises spreadsheet formulas: values anyone can send (page
paths, utm_*, referrer hosts, event names, property values) reach these files, and a
spreadsheet runs a cell such as ``=HYPERLINK("https://evil.example", "click")`` as a
formula. (The CSV that :mod:`api.read.extract` hands to Hyper is not a download: Hyper
loads it into typed columns, and it is left as it is.)
"""

from __future__ import annotations

import csv
import io

import falcon
import orjson

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a cell must not begin with (OWASP, "CSV Injection")."""


def json_response(resp, document, status=falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)


def csv_cell(value: object) -> object:
    """One cell as it is written: null is an empty field; numbers (``int``, ``float``,
    ``bool``) stay numbers, so a negative number in a numeric column is still ``-3``;
    any other value is text, and text that begins with ``=``, ``+``, ``-``, ``@``, a tab or
    a carriage return gets a leading single quote (``'=1+2``, ``'-3``), as OWASP
    recommends, so a spreadsheet shows it instead of evaluating it. Only typed numbers
    are trusted: a string ``"-3"`` is client text and is neutralised like any other."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(columns: list[str], rows: list[dict]) -> str:
    """A header of column ids, then one line per row (cells as :func:`csv_cell`). Lines
    end with CRLF (RFC 4180), which makes the csv module quote a cell holding a CR as it
    quotes one holding a LF: unquoted, a reader starts a new row at the CR, and the text
    after it would begin a cell that nothing neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return out.getvalue()


def csv_response(resp, columns: list[str], rows: list[dict], filename: str) -> None:
    resp.content_type = "text/csv; charset=utf-8"
    resp.downloadable_as = filename
    resp.data = csv_text(columns, rows).encode()
