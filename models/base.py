"""Column types shared by all tables: UTC datetimes and encrypted text."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import DateTime, Integer, Table, Text, any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from models import crypto


def utcnow() -> datetime:
    return datetime.now(UTC)


def column_values(model: type, **values: Any) -> dict[str, Any]:
    """Every column of a new `model` row as `session.add(model(**values))` would write it: the given
    values, else the field's default or default factory (the generated primary key left out).
    For bulk `insert(model)`, which applies no Python-side defaults of its own."""
    static, factories, required = _field_defaults(model)
    row = {**static, **values}
    for name, factory in factories:
        if name not in values:
            row[name] = factory()
    if not required <= row.keys():
        raise TypeError(f"{model.__name__}: no value for {', '.join(sorted(required - row.keys()))}")
    return row


def without_nulls(table: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` for one INSERT, less the columns that are None in every row (removed in place): NULL
    either way (such a column has no server default), and fewer parameters to process."""
    null = [name for name in rows[0] if table.c[name].server_default is None
            and all(row[name] is None for row in rows)] if rows else []
    for row in rows if null else ():
        for name in null:
            del row[name]
    return rows


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (each with the same columns) into `table`, in the session's transaction.

    Straight on the driver's cursor, the statement built once: on PostgreSQL with COPY (psycopg's
    `Cursor.copy`: one stream instead of one statement per row), on SQLite with the driver's own
    executemany — SQLAlchemy's statement execution per row was most of a reminder sweep's time
    (bench/NOTES.md, part 4). The values pass through the columns' own SQLAlchemy bind processing
    first (UTC datetimes, encrypted text, JSON), as they would in an INSERT, a datetime once per
    distinct value of its column (a batch's rows mostly share one moment); a unique or foreign key
    violation raises SQLAlchemy's IntegrityError, as an INSERT does."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name not in ("postgresql", "sqlite"):
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"{table.name}: rows with different columns")
    postgresql = dialect.name == "postgresql"
    if postgresql:
        quote = dialect.identifier_preparer.quote
        statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    else:  # SQLAlchemy's own INSERT for these columns, its placeholders in the compiler's order
        statement, names = _sqlite_insert(table, tuple(names), dialect)
    processors = [_processor(table.c[name].type, dialect) for name in names]
    session.flush()  # what the session still has to write goes first, as with session.execute
    cursor = session.connection().connection.cursor()
    values = ([row[name] if proc is None else proc(row[name]) for name, proc in zip(names, processors, strict=True)]
              for row in rows)
    try:
        if postgresql:
            with cursor.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
        else:
            cursor.executemany(statement, values)
    except dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    finally:
        cursor.close()


@cache
def _sqlite_insert(table: Table, names: tuple[str, ...], dialect: Any) -> tuple[str, list[str]]:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
    return compiled.string, list(compiled.positiontup or ())


def _processor(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column type's bind processor; for UTC datetimes remembered per distinct value (for one
    `insert_rows`: the same moment is converted once). Not for encrypted text: each value is
    encrypted on its own, so equal texts do not show as equal in the database."""
    proc = column_type._cached_bind_processor(dialect)
    if proc is None or not isinstance(column_type, UTCDateTime):
        return proc
    done: dict[Any, Any] = {}

    def once(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            done[value] = result = proc(value)
            return result

    return once


def one_of(session: Session, column: Any, ids: Any) -> ColumnElement[bool]:
    """`column IN ids` for many integer ids. On PostgreSQL as `column = ANY(:ids)`, one array
    parameter: an IN list is a placeholder per id, which the driver parses on every execution
    (bench/NOTES.md, part 4)."""
    ids = list(ids)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


@cache
def _field_defaults(model: type) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...], frozenset[str]]:
    static: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    required: set[str] = set()
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        column = model.__table__.c[name]  # type: ignore[attr-defined]
        if column.primary_key and field.default is None:
            continue  # generated by the database
        if field.default_factory is not None:
            factories.append((name, field.default_factory))
        elif field.default is PydanticUndefined:
            required.add(name)
        else:
            static[name] = field.default
    return static, tuple(factories), frozenset(required)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, also on SQLite (which drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """Free text encrypted with Fernet before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else crypto.decrypt(value)


def error_name(exc: BaseException) -> str:
    """An exception as its type and where it was raised (`KeyError_ at crypto.py:80`), never its
    text: that may hold case content or SQL parameters. What logs and error columns may carry."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    return type(exc).__name__ + (f" at {Path(frame.filename).name}:{frame.lineno}" if frame else "")

