"""``.hyper`` extracts: every column type, NULLs and awkward strings survive the CSV
round trip into Hyper exactly; the file has Tableau's layout."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from tableauhyperapi import Connection, Date, Nullability, SqlType, TableName, Timestamp

from api.read.extract import hyper_process, write_hyper
from api.read.tables import TABLES, Column, Table

ALL_TYPES = Table("all_types", "All types", "one column of each type", (
    Column("s", "string", ""), Column("i", "int", ""), Column("f", "float", ""),
    Column("d", "date", ""), Column("ts", "datetime", ""),
))

AWKWARD = [
    ("plain", 1, 1.5, date(2026, 3, 29), datetime(2026, 3, 29, 2, 30, 0)),
    ("", 0, 0.0, "2026-01-01", "2026-01-01 00:00:00"),  # empty string, not NULL
    (None, None, None, None, None),
    ('comma, "quotes" and\nnewline', -(2**63), 0.1 + 0.2, "1999-12-31", "1999-12-31 23:59:59"),
    ("\r\n", 2**63 - 1, 1e-300, date(1, 1, 1), datetime(2026, 10, 25, 2, 59, 59, 123456)),
    ("ünïcødé ∑ 日本語 😀", 7, float("inf"), None, "2026-12-31 12:00:00"),
    ('"', 3, -2.5e300, "2026-02-28", None),
    (r"\N", None, 3, "2026-02-28", None),  # an int in a float column (JSON writes 3.0 as 3)
    ("NULL", 1, None, None, None),
    ("  spaces and\ttab  ", 1, -0.0, None, None),
]


@pytest.fixture(scope="module")
def hyper():
    with hyper_process() as process:
        yield process


def read_back(hyper, path: Path, table_id: str) -> list[tuple]:
    """The table's rows sorted by repr (COPY parses in parallel: a table has no order),
    Hyper's Date/Timestamp as Python date/datetime."""
    with Connection(hyper.endpoint, str(path)) as connection:
        rows = connection.execute_list_query(f"SELECT * FROM {TableName('Extract', table_id)}")
    return in_order([tuple(v.to_date() if isinstance(v, Date) else
                           v.to_datetime() if isinstance(v, Timestamp) else v for v in row)
                     for row in rows])


def in_order(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=repr)


def as_python(row: tuple) -> tuple:
    """What a row should read back as: date and datetime strings parsed."""
    s, i, f, d, ts = row
    return (s, i, None if f is None else float(f),
            date.fromisoformat(d) if isinstance(d, str) else d,
            datetime.fromisoformat(ts) if isinstance(ts, str) else ts)


def test_every_type_nulls_and_awkward_strings_round_trip_exactly(tmp_path, hyper):
    path = tmp_path / "x.hyper"
    assert write_hyper(path, [(ALL_TYPES, AWKWARD)]) == {"all_types": len(AWKWARD)}
    assert read_back(hyper, path, "all_types") == in_order([as_python(r) for r in AWKWARD])


def test_dict_rows_are_read_by_column_id_and_tables_follow_tableau_layout(tmp_path, hyper):
    daily, pages, realtime = TABLES["daily_stats"], TABLES["pages"], TABLES["realtime"]
    daily_rows = [{"date": "2026-05-01", "visitors": 3, "pageviews": 9, "events": 1,
                   "sessions": 4, "engaged_sessions": 1, "bounce_rate": 0.75,
                   "visit_duration": 12.5, "views_per_session": 2.25, "bot_events": 0},
                  {"date": "2026-05-02", "visitors": 0, "pageviews": 0, "events": 0,
                   "sessions": 0, "engaged_sessions": 0, "bounce_rate": None,
                   "visit_duration": None, "views_per_session": None, "bot_events": 5}]
    # keys in another order than the columns, as a JSON object may have them
    page_rows = [{"pageviews": 2, "visitors": 1, "page": "/a?b=c,d", "date": "2026-05-01"}]
    realtime_rows = [{"minute": "2026-05-03 10:07:00", "visitors": 1, "pageviews": 1,
                      "events": 0}]
    path = tmp_path / "x.hyper"
    written = write_hyper(path, [(daily, daily_rows), (pages, page_rows),
                                 (realtime, realtime_rows)], process=hyper)
    assert written == {"daily_stats": 2, "pages": 1, "realtime": 1}

    assert read_back(hyper, path, "daily_stats") == [
        (date(2026, 5, 1), 3, 9, 1, 4, 1, 0.75, 12.5, 2.25, 0),
        (date(2026, 5, 2), 0, 0, 0, 0, 0, None, None, None, 5)]
    assert read_back(hyper, path, "pages") == [(date(2026, 5, 1), "/a?b=c,d", 1, 2)]
    assert read_back(hyper, path, "realtime") == [(datetime(2026, 5, 3, 10, 7), 1, 1, 0)]
    with Connection(hyper.endpoint, str(path)) as connection:
        assert sorted(str(t) for t in connection.catalog.get_table_names("Extract")) == [
            '"Extract"."daily_stats"', '"Extract"."pages"', '"Extract"."realtime"']
        columns = connection.catalog.get_table_definition(TableName("Extract", "pages")).columns
        assert [(str(c.name), c.type, c.nullability) for c in columns] == [
            ('"date"', SqlType.date(), Nullability.NULLABLE),
            ('"page"', SqlType.text(), Nullability.NULLABLE),
            ('"visitors"', SqlType.big_int(), Nullability.NULLABLE),
            ('"pageviews"', SqlType.big_int(), Nullability.NULLABLE)]
        ts = connection.catalog.get_table_definition(TableName("Extract", "realtime"))
        assert ts.columns[0].type == SqlType.timestamp()
        daily_def = connection.catalog.get_table_definition(TableName("Extract", "daily_stats"))
        assert [c.type for c in daily_def.columns][6:9] == [SqlType.double()] * 3


def test_an_empty_table_is_created_with_no_rows(tmp_path, hyper):
    path = tmp_path / "x.hyper"
    assert write_hyper(path, [(TABLES["events"], []), (TABLES["pages"], iter(()))]) == {
        "events": 0, "pages": 0}
    assert read_back(hyper, path, "events") == []
    assert read_back(hyper, path, "pages") == []


def test_100k_rows_streamed_from_a_generator(tmp_path, hyper):
    def rows():
        for n in range(100_000):
            yield (date(2026, 1, 1) + timedelta(days=n % 365)).isoformat(), f"/p/{n}", n, n * 2

    path = tmp_path / "x.hyper"
    started = time.perf_counter()
    assert write_hyper(path, [(TABLES["pages"], rows())], process=hyper) == {"pages": 100_000}
    elapsed = time.perf_counter() - started
    expected = in_order([(date.fromisoformat(d), p, v, pv) for d, p, v, pv in rows()])
    assert read_back(hyper, path, "pages") == expected
    assert elapsed < 5, f"100k rows took {elapsed:.2f} s"


def test_an_existing_file_is_replaced(tmp_path, hyper):
    path = tmp_path / "x.hyper"
    write_hyper(path, [(TABLES["pages"], [("2026-01-01", "/old", 1, 1)])], process=hyper)
    write_hyper(path, [(TABLES["pages"], [("2026-01-02", "/new", 2, 2)])], process=hyper)
    assert read_back(hyper, path, "pages") == [(date(2026, 1, 2), "/new", 2, 2)]


@pytest.mark.parametrize(("row", "error", "message"), [
    (("2026-01-01", "/a", 1), ValueError, "pages: 3 values for 4 columns"),
    ({"date": "2026-01-01", "page": "/a", "visitors": 1}, KeyError, "pageviews"),
    (("2026-01-01", "/a", True, 1), TypeError, "cannot write bool True"),
    (("2026-01-01", "/a", 1.5, 1), Exception, "invalid input syntax for integer"),
    (("01/02/2026", "/a", 1, 1), Exception, "'01/02/2026'.*date style YMD"),
    (("2026-01-01", "/a", "many", 1), Exception, "invalid input syntax for integer"),
])
def test_a_bad_row_fails_and_leaves_no_file(tmp_path, hyper, row, error, message):
    path = tmp_path / "x.hyper"
    good = ("2026-01-01", "/ok", 1, 1)
    with pytest.raises(error, match=message):
        write_hyper(path, [(TABLES["pages"], [good, row])], process=hyper)
    assert not path.exists()


def test_an_aware_datetime_is_refused(tmp_path):
    from datetime import UTC

    row = (datetime(2026, 1, 1, 12, tzinfo=UTC), 1, 1, 0)
    with pytest.raises(ValueError, match="wall-clock times without a zone"):
        write_hyper(tmp_path / "x.hyper", [(TABLES["realtime"], [row])])


def test_threads_share_one_hyper_process(tmp_path, hyper):
    results: dict[int, list] = {}

    def extract(n: int) -> None:
        rows = [("2026-01-01", f"/thread/{n}/{i}", i, n) for i in range(5_000)]
        path = tmp_path / f"{n}.hyper"
        write_hyper(path, [(TABLES["pages"], rows)], process=hyper)
        results[n] = read_back(hyper, path, "pages") == in_order([
            (date(2026, 1, 1), p, i, pv) for _, p, i, pv in rows])

    threads = [threading.Thread(target=extract, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: True, 1: True, 2: True, 3: True}


def test_hyper_logs_go_to_the_given_folder(tmp_path):
    logs = tmp_path / "logs"
    write_hyper(tmp_path / "x.hyper", [(TABLES["pages"], [])], log_dir=logs)
    assert [p.suffix for p in logs.iterdir()] == [".log"]
