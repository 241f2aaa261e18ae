"""Tableau extracts: export tables (``api/read/tables.py``) written into one ``.hyper``
file with the Hyper API (no Falcon in here).

Rows go through a temporary CSV file and one ``COPY ... FROM`` per table: Hyper parses
the file in parallel (1M rows of ``pages`` ≈ 0.4 s here; ``Inserter.add_row`` takes ≈ 4 s),
so most of the time goes to formatting the CSV in Python (≈ 1.5 s per 1M rows). Rows are
streamed: a table of any length needs no more memory than one row.

Each extract starts a private ``hyperd`` by default (≈ 35 ms to start and 20 ms to stop
here). A caller may pass one long-lived process instead (``hyper_process``): Hyper
serves several connections at once and every ``write_hyper`` opens its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path

from tableauhyperapi import (
    Connection,
    CreateMode,
    HyperProcess,
    SqlType,
    TableDefinition,
    TableName,
    Telemetry,
    escape_string_literal,
)

from api.read.tables import Table

SCHEMA = "Extract"
"""Tableau's own extracts keep their tables in this schema."""

SQL_TYPES: dict[str, Callable[[], SqlType]] = {
    "string": SqlType.text, "int": SqlType.big_int, "float": SqlType.double,
    "date": SqlType.date, "datetime": SqlType.timestamp,
}

LOG_FILES_KEPT = 20
"""hyperd writes ≈ 65 KB of log per start; with one process per extract this bounds the
log folder to the last extracts' logs."""

Row = Mapping[str, object] | Sequence[object]


def table_definition(table: Table) -> TableDefinition:
    return TableDefinition(TableName(SCHEMA, table.id), [
        TableDefinition.Column(c.id, SQL_TYPES[c.type]()) for c in table.columns])


@contextmanager
def hyper_process(log_dir: Path | None = None) -> Iterator[HyperProcess]:
    """A private Hyper server, telemetry off; its log goes to ``log_dir`` (kept, rotated)
    or to a temporary folder removed with the process."""
    with (nullcontext(str(log_dir)) if log_dir else tempfile.TemporaryDirectory()) as logs:
        Path(logs).mkdir(parents=True, exist_ok=True)
        # hyperd reads dates month first by default: "01/02/2026" would pass as 2 January
        parameters = {"log_dir": str(logs), "log_file_max_count": str(LOG_FILES_KEPT),
                      "log_file_size_limit": "10M", "date_style": "YMD"}
        with HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                          parameters=parameters) as process:
            yield process


def write_hyper(path: Path, tables: Iterable[tuple[Table, Iterable[Row]]], *,
                log_dir: Path | None = None,
                process: HyperProcess | None = None) -> dict[str, int]:
    """Write each table's rows into a new ``.hyper`` file at ``path`` (replaced if it
    exists) as table ``"Extract"."<table id>"``; rows are dicts keyed by column id (as the
    JSON export gives them) or sequences in column order. Dates may be ``date`` objects
    or "YYYY-MM-DD", datetimes naive ``datetime`` objects or "YYYY-MM-DD HH:MM:SS"
    (wall-clock time, as Tableau shows it). Returns the rows written per table id; on
    an error no file is left at ``path``."""
    written: dict[str, int] = {}
    try:
        with (
            nullcontext(process) if process else hyper_process(log_dir) as hyper,
            Connection(hyper.endpoint, str(path), CreateMode.CREATE_AND_REPLACE) as connection,
            tempfile.TemporaryDirectory(prefix="sitelens-extract-") as scratch,
        ):
            connection.catalog.create_schema(SCHEMA)
            for table, rows in tables:
                definition = table_definition(table)
                connection.catalog.create_table(definition)
                csv_path = Path(scratch) / f"{table.id}.csv"
                _write_csv(csv_path, table, rows)
                written[table.id] = connection.execute_command(
                    f"COPY {definition.table_name} FROM {escape_string_literal(str(csv_path))}"
                    " WITH (FORMAT csv, NULL '', DELIMITER ',', QUOTE '\"', ESCAPE '\"', "
                    "HEADER false)")
                csv_path.unlink()
    except BaseException:
        path.unlink(missing_ok=True)  # never leave half an extract behind
        raise
    return written


def _write_csv(csv_path: Path, table: Table, rows: Iterable[Row]) -> None:
    ids = table.column_ids
    by_id = itemgetter(*ids) if len(ids) > 1 else (lambda row: (row[ids[0]],))
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        for row in rows:
            if isinstance(row, Mapping):
                values = by_id(row)
            elif len(row) == len(ids):
                values = row
            else:
                raise ValueError(f"{table.id}: {len(row)} values for {len(ids)} columns: "
                                 f"{row!r}")
            out.write(",".join([_csv_field(v) for v in values]))
            out.write("\n")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        raise ValueError(f"datetimes are wall-clock times without a zone: {value!r}")
    return value.isoformat(" ")


# Strings are always quoted, so "" stays an empty string and NULL is the unquoted empty
# field; the csv module cannot tell the two apart before Python 3.12 (QUOTE_NOTNULL).
_FIELD: dict[type, Callable[[object], str]] = {
    str: _quote, int: str, float: repr, date: date.isoformat, datetime: _datetime,
}


def _csv_field(value: object) -> str:
    if value is None:
        return ""
    field = _FIELD.get(type(value))
    if field is None:
        raise TypeError(f"cannot write {type(value).__name__} {value!r} to an extract")
    return field(value)
