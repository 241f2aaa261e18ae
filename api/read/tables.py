"""The tables the read API exports for Tableau: one definition used by the web data
connector's schema (``GET /api/v1/export/tables``), the JSON and CSV exports and the
``.hyper`` extract (no Falcon in here).

Day tables carry closed days only (the days the batch layer has recomputed), so an
incremental refresh on ``date`` never appends a half-counted day that would later change;
today is in ``realtime``, which is always refreshed whole.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPES = ("string", "int", "float", "date", "datetime")
"""Column types, named as Tableau's WDC ``dataTypeEnum`` names them."""


@dataclass(frozen=True)
class Column:
    id: str
    type: str
    description: str

    def as_json(self) -> dict:
        return {"id": self.id, "type": self.type, "description": self.description}


@dataclass(frozen=True)
class Table:
    id: str
    alias: str
    description: str
    columns: tuple[Column, ...]
    incremental_column: str | None = None

    @property
    def column_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.columns)

    def as_json(self) -> dict:
        return {"id": self.id, "alias": self.alias, "description": self.description,
                "incremental_column": self.incremental_column,
                "columns": [c.as_json() for c in self.columns]}


_DATE = Column("date", "date", "day in the site's time zone")
_VISITORS = Column("visitors", "int", "distinct visitors of the day (exact)")
_PAGEVIEWS = Column("pageviews", "int", "pageviews")

TABLES: dict[str, Table] = {t.id: t for t in (
    Table("daily_stats", "Daily stats", "One row per closed day: the site's totals.", (
        _DATE, _VISITORS, _PAGEVIEWS,
        Column("events", "int", "custom events"),
        Column("sessions", "int", "sessions that started on the day"),
        Column("engaged_sessions", "int", "sessions of >= 10 s, >= 2 pageviews or a goal"),
        Column("bounce_rate", "float", "1 - engaged_sessions / sessions"),
        Column("visit_duration", "float", "average session duration, seconds"),
        Column("views_per_session", "float", "pageviews of the sessions / sessions"),
        Column("bot_events", "int", "events from bots, excluded from every other number"),
    ), incremental_column="date"),
    Table("pages", "Pages", "One row per closed day and page path.", (
        _DATE, Column("page", "string", "page path"), _VISITORS, _PAGEVIEWS,
    ), incremental_column="date"),
    Table("sources", "Sources", "One row per closed day and session source.", (
        _DATE, Column("source", "string", "utm_source, else the referrer's host, else "
                                          "(direct)"),
        _VISITORS,
        Column("sessions", "int", "sessions from the source"),
        Column("bounce_rate", "float", "1 - engaged sessions / sessions"),
        Column("visit_duration", "float", "average session duration, seconds"),
    ), incremental_column="date"),
    Table("events", "Events", "One row per closed day and custom event name.", (
        _DATE, Column("event", "string", "custom event name"), _VISITORS,
        Column("events", "int", "custom events of that name"),
    ), incremental_column="date"),
    Table("realtime", "Realtime", "The last 30 minutes, one row per minute (site time).", (
        Column("minute", "datetime", "the minute, wall-clock time in the site's zone"),
        Column("visitors", "int", "distinct visitors in the minute"),
        _PAGEVIEWS,
        Column("events", "int", "custom events"),
    )),
)}
