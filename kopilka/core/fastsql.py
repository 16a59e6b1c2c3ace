"""Hand-compiled SQL for the few statements on the purchase hot path.

Building and compiling a query costs Django's ORM about half a millisecond of CPU; a purchase makes a
dozen small statements, so the ORM alone was two thirds of its cost (docs/benchmarks.md). These helpers
build each statement once from the model's ``_meta``, keep it, and move values the way the ORM does —
``pre_save`` and ``get_db_prep_save`` on the way in, the backend's and the field's converters on the way
out — so callers keep working with model instances and both SQLite and PostgreSQL behave as with the ORM.
They send no signals (like ``bulk_create`` and ``QuerySet.update``); use them only where none are needed.

``where`` and ``order_by`` are SQL over the model's column names with ``%s`` placeholders; callers write
them as literals (never from input).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Field, Model, signals
from django.db.models.base import ModelState

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


def _run(sql: str, params: Sequence[Any], *, rows: bool = True) -> list[Any]:
    """Execute on the default connection; the rows it returns (``rows=False``: it returns none).

    On PostgreSQL through a cursor that binds parameters on the server and prepares each statement,
    kept on the connection: Django's psycopg cursors interpolate parameters into the SQL text, so
    PostgreSQL parses and plans every statement again (0.8 ms for the card lookup's joins); these
    helpers send a few fixed texts, each parsed and planned once per connection. As with Django's own
    cursors, errors become ``django.db`` errors and queries are logged when Django logs them.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        with conn.cursor() as django_cursor:
            django_cursor.execute(sql, params)
            return django_cursor.fetchall() if rows else []
    raw = _preparing(conn)
    kept = getattr(conn, "_kopilka_server_cursor", None)
    if kept is None or kept[0] is not raw or kept[1].closed:
        kept = (raw, psycopg.Cursor(raw))  # server-side binding (Django's connections make client-side ones)
        conn._kopilka_server_cursor = kept  # type: ignore[attr-defined]  # one per connection (and thread)
    cursor = kept[1]
    start = time.monotonic() if conn.queries_logged else 0.0
    with conn.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)
        found = cursor.fetchall() if rows else []
    if start:
        conn.queries_log.append({"sql": sql, "time": f"{time.monotonic() - start:.3f}"})
    return found


def _preparing(conn: Any) -> Any:
    """The open psycopg connection behind Django's, ready to prepare the statements we ask it to."""
    conn.close_if_health_check_failed()  # as Django's cursors do (CONN_HEALTH_CHECKS), once per request
    conn.ensure_connection()
    conn.validate_no_broken_transaction()
    raw = conn.connection
    if raw.prepare_threshold is None:  # Django's default: psycopg prepares nothing, not even when asked
        raw.prepare_threshold = 2**31  # so: only when asked (we ask; Django's cursors never prepare)
    return raw


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _columns(model: type[Model], vendor: str) -> tuple[str, list[tuple[int, list[Converter], Any]]]:
    """The quoted column list of every concrete field, and the converters per column that has any."""
    fields = model._meta.concrete_fields
    table = model._meta.db_table
    converters = []
    for i, field in enumerate(fields):
        col = field.get_col(table)
        found = list(connection.ops.get_db_converters(col)) + list(col.get_db_converters(connection))
        if found:
            converters.append((i, found, col))
    return ", ".join(f"{_q(table)}.{_q(f.column)}" for f in fields), converters


@cache
def _select_sql(model: type[Model], vendor: str, where: str, order_by: str, limit: int | None, for_update: bool) -> str:
    columns, _conv = _columns(model, vendor)
    sql = f"SELECT {columns} FROM {_q(model._meta.db_table)} WHERE {where}"  # noqa: S608 - names from _meta, literals
    if order_by:
        sql += f" ORDER BY {order_by}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return sql


def select(
    model: type[M], where: str, params: Sequence[Any], *, order_by: str = "", limit: int | None = None,
    for_update: bool = False,
) -> list[M]:  # fmt: skip
    """Instances of ``model`` (every concrete field loaded) for the rows matching ``where``."""
    vendor = connection.vendor
    rows = _run(_select_sql(model, vendor, where, order_by, limit, for_update), _where_params(params))
    converters = _columns(model, vendor)[1]
    return [_instance(model, list(row), converters) for row in rows]


def select_together(queries: Sequence[tuple[type[Model], str, Sequence[Any], dict[str, Any]]]) -> list[list[Any]]:
    """Several ``select(model, where, params, **options)`` in one round trip on PostgreSQL.

    psycopg's pipeline mode sends them (and the transaction's BEGIN) without waiting; PostgreSQL still
    runs them one after another, each with its own snapshot, so a read after a ``for_update`` lock sees
    what the lock waited for. Elsewhere they run one by one.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        return [select(model, where, params, **options) for model, where, params, options in queries]
    raw = _preparing(conn)
    statements = [
        (model, _select_sql(model, conn.vendor, where, options.get("order_by", ""), options.get("limit"),
                            options.get("for_update", False)), _where_params(params))
        for model, where, params, options in queries
    ]  # fmt: skip
    start = time.monotonic() if conn.queries_logged else 0.0
    with conn.wrap_database_errors, raw.pipeline():
        cursors = []
        for _model, sql, params in statements:
            cursor = psycopg.Cursor(raw)
            cursor.execute(sql, params, prepare=True)
            cursors.append(cursor)
        rows = [cursor.fetchall() for cursor in cursors]
    if start:
        elapsed = f"{time.monotonic() - start:.3f}"
        conn.queries_log.extend({"sql": sql, "time": elapsed} for _model, sql, _params in statements)
    return [
        [_instance(model, list(row), _columns(model, conn.vendor)[1]) for row in found]
        for (model, _sql, _params), found in zip(statements, rows, strict=True)
    ]


def _where_params(params: Sequence[Any]) -> list[Any]:
    """Datetimes as the ORM sends them in lookups (SQLite stores naive UTC text); other values as given."""
    ops = connection.ops
    return [ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p for p in params]


def _instance(model: type[M], values: list[Any], converters: list[tuple[int, list[Converter], Any]]) -> M:
    if converters:
        conn = connections[DEFAULT_DB_ALIAS]
        for i, funcs, col in converters:
            value = values[i]
            for func in funcs:
                value = func(value, col, conn)
            values[i] = value
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model.from_db(DEFAULT_DB_ALIAS, None, values)  # type: ignore[arg-type]  # every field: no names needed
    # What Model.__init__ does with a full row when nobody listens to its signals, without the call:
    # a tenth of a purchase's model-building time.
    obj = model.__new__(model)
    obj.__dict__.update(zip(_attnames(model), values, strict=True))
    state = obj._state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    return obj


@cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


@cache
def _joined(
    model: type[Model], vendor: str, related: tuple[str, ...], where: str, limit: int | None
) -> tuple[str, list[Any]]:
    """``SELECT`` of the model and its ``related`` (``select_related`` paths) with LEFT JOINs.

    Returns the SQL and, per model in column order, (path, model, the FK field that leads to it, its first
    column, its primary key's column).
    """
    parts: list[tuple[str, Any, Any, str]] = [("", model, None, _q(model._meta.db_table))]
    for path in related:
        parent_path, _sep, name = path.rpartition("__")
        parent = next(p for p in parts if p[0] == parent_path)
        field = parent[1]._meta.get_field(name)
        parts.append((path, field.related_model, field, f"T{len(parts)}"))
    columns: list[str] = []
    joins: list[str] = []
    plan: list[Any] = []
    start = 0
    for path, part_model, field, alias in parts:
        fields = part_model._meta.concrete_fields
        columns += [f"{alias}.{_q(f.column)}" for f in fields]
        if field is not None:
            parent_alias = next(p[3] for p in parts if p[0] == path.rpartition("__")[0])
            joins.append(
                f" LEFT OUTER JOIN {_q(part_model._meta.db_table)} {alias}"
                f" ON {parent_alias}.{_q(field.column)} = {alias}.{_q(part_model._meta.pk.column)}"
            )
        plan.append((path, part_model, field, start, start + fields.index(part_model._meta.pk)))
        start += len(fields)
    sql = f"SELECT {', '.join(columns)} FROM {_q(model._meta.db_table)}{''.join(joins)} WHERE {where}"  # noqa: S608
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, plan


def select_related(model: type[M], related: Sequence[str], where: str, params: Sequence[Any], *,
                   limit: int | None = None) -> list[M]:  # fmt: skip
    """``select`` with the related rows joined in and cached on the instances, like ``select_related``.

    ``where`` names the model's columns qualified by its table (``"cards_card"."number" = %s``).
    """
    vendor = connection.vendor
    sql, plan = _joined(model, vendor, tuple(related), where, limit)
    rows = _run(sql, _where_params(params))
    result = []
    for row in rows:
        made: dict[str, Any] = {}
        for path, part_model, field, start, pk_at in plan:
            obj = None
            if row[pk_at] is not None:  # None: no related row (a null or outer-joined FK)
                values = list(row[start : start + len(part_model._meta.concrete_fields)])
                obj = _instance(part_model, values, _columns(part_model, vendor)[1])
            made[path] = obj
            if field is not None:
                parent = made[path.rpartition("__")[0]]
                if parent is not None:
                    field.set_cached_value(parent, obj)
        result.append(made[""])
    return result


_PLAIN_PRE_SAVE = {models.Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save}


def _ready_types(field: Field[Any, Any], vendor: str) -> tuple[type, ...]:
    """Python types this field would send to the database unchanged; () if its ``pre_save`` does work.

    ``get_db_prep_save`` costs a few microseconds a field and a purchase writes about eighty; for a str in a
    CharField, a bool, a Decimal in a DecimalField, an int on SQLite (and, on PostgreSQL, an aware datetime
    or a date, which psycopg adapts itself) it returns the value as it is, so ``_params`` skips it.
    """
    if type(field).pre_save not in _PLAIN_PRE_SAVE or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return ()
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    if isinstance(target, models.BooleanField):
        return (bool,)
    if isinstance(target, models.DecimalField):
        return (Decimal,)
    if isinstance(target, models.CharField | models.TextField) and not field.is_relation:
        return (str,)
    if isinstance(target, models.IntegerField | models.AutoField) and vendor != "postgresql":
        return (int,)  # (on PostgreSQL Django gives psycopg the column's exact integer type: keep that)
    if vendor == "postgresql" and isinstance(target, models.DateTimeField):
        return (datetime,)
    if vendor == "postgresql" and type(target) is models.DateField:
        return (date,)
    return ()


Plan = list[tuple[Field[Any, Any], str, tuple[type, ...]]]


@cache
def _plan(model: type[Model], vendor: str, names: tuple[str, ...] | None, with_pk: bool = False) -> Plan:
    """(field, attname, ready types) of the fields an INSERT (``names=None``) or an UPDATE writes."""
    meta = model._meta
    if names is None:
        fields = [f for f in meta.concrete_fields if with_pk or not f.primary_key]
    else:
        fields = [meta.get_field(name) for name in names]  # type: ignore[misc]
    return [(f, f.attname, _ready_types(f, vendor)) for f in fields]


def _params(plan: Plan, obj: Model, add: bool, conn: Any, into: list[Any]) -> None:
    """Append ``field.get_db_prep_save(field.pre_save(obj, add), conn)`` per field, skipping the calls
    where they would change nothing."""
    for field, attname, ready in plan:
        if ready:
            value = getattr(obj, attname)
            if value is None or (type(value) in ready and not (type(value) is datetime and value.tzinfo is None)):
                into.append(value)
                continue
        into.append(field.get_db_prep_save(field.pre_save(obj, add), conn))


@cache
def _insert_sql(model: type[Model], vendor: str, with_pk: bool, rows: int, returning: bool, skip_conflict: bool) -> str:
    fields = [field for field, _attname, _ready in _plan(model, vendor, None, with_pk)]
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {_q(model._meta.db_table)} ({', '.join(_q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([one] * rows)}"
    )
    if skip_conflict:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += f" RETURNING {_q(model._meta.pk.column)}"
    return sql


def insert(objs: Sequence[Model], *, batch: Batch | None = None, skip_conflict: bool = False) -> int:
    """INSERT the unsaved instances (one model) in one statement; sets their primary keys in order.

    With ``batch`` the statement waits in it and the ids are not read back (the instances keep ``pk=None``).
    ``skip_conflict`` (one instance): if a unique constraint already holds such a row, insert nothing
    (``ON CONFLICT DO NOTHING``) and return 0. Returns the number of rows inserted (or batched).
    """
    if not objs:
        return 0
    model = type(objs[0])
    conn = connections[DEFAULT_DB_ALIAS]
    if not conn.features.can_return_rows_from_bulk_insert:  # pragma: no cover - SQLite < 3.35
        model._default_manager.bulk_create(objs, ignore_conflicts=skip_conflict)
        return len(objs)
    assert not skip_conflict or (len(objs) == 1 and batch is None), "skip_conflict: one row, not batched"
    with_pk = objs[0].pk is not None
    returning = batch is None and not with_pk
    plan = _plan(model, conn.vendor, None, with_pk)
    params: list[Any] = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]  # FK ids from related objects saved since
        _params(plan, obj, True, conn, params)
    sql = _insert_sql(model, conn.vendor, with_pk, len(objs), returning or skip_conflict, skip_conflict)
    if batch is not None:
        batch.add(sql, params)
        return len(objs)
    ids = _run(sql, params, rows=returning or skip_conflict)
    if skip_conflict and not ids:
        return 0
    for i, obj in enumerate(objs):
        if returning:
            obj.pk = ids[i][0]
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
    return len(objs)


@cache
def _update_sql(model: type[Model], vendor: str, fields: tuple[str, ...]) -> str:
    meta = model._meta
    sets = ", ".join(f"{_q(meta.get_field(name).column)} = %s" for name in fields)  # type: ignore[union-attr,arg-type]
    return f"UPDATE {_q(meta.db_table)} SET {sets} WHERE {_q(meta.pk.column)} = %s"  # noqa: S608


def update(obj: Model, fields: Sequence[str], *, batch: Batch | None = None) -> None:
    """UPDATE these fields of a saved instance by its primary key (like ``save(update_fields=...)``)."""
    conn = connections[DEFAULT_DB_ALIAS]
    params: list[Any] = []
    _params(_plan(type(obj), conn.vendor, tuple(fields)), obj, False, conn, params)
    params.append(obj.pk)
    sql = _update_sql(type(obj), conn.vendor, tuple(fields))
    if batch is not None:
        batch.add(sql, params)
    else:
        _run(sql, params, rows=False)


class Batch:
    """Writes that return nothing, kept until ``send()`` and then sent together.

    On PostgreSQL they go as one multi-statement query through Django's cursor (client-side binding:
    the simple protocol runs several statements from one message, inside the caller's transaction), so
    the last writes of a purchase cost one round trip instead of one each. SQLite runs them one by one.
    Send it before anything reads what it writes; an error in any statement aborts the transaction.
    """

    def __init__(self) -> None:
        self._statements: list[tuple[str, list[Any]]] = []

    def add(self, sql: str, params: list[Any]) -> None:
        self._statements.append((sql, params))

    def send(self) -> None:
        statements, self._statements = self._statements, []
        if not statements:
            return
        conn = connections[DEFAULT_DB_ALIAS]
        if conn.vendor != "postgresql" or getattr(conn.features, "uses_server_side_binding", False) or len(statements) == 1:
            for sql, params in statements:
                _run(sql, params, rows=False)
            return
        with conn.cursor() as cursor:
            cursor.execute(";\n".join(sql for sql, _params in statements), [p for _sql, ps in statements for p in ps])
