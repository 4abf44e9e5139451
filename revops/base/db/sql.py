"""Set-based writes for the bulk pipeline: multi-row inserts and history rows copied in SQL.

``QuerySet.bulk_create`` prepares every value of every row through the compiler's generic machinery and, on SQLite,
splits the rows into statements of at most 999 parameters (18 leads per statement); django-simple-history's
``bulk_create_with_history`` then builds one historical instance per row in Python. For a bulk import through
the whole pipeline those two were half of the time. These helpers write the same rows:

* :func:`bulk_insert` — the instances' column values, prepared by their own model fields exactly as ``save()``
  prepares them (``auto_now``/``auto_now_add`` included), in as few ``INSERT ... VALUES ... RETURNING`` statements
  as the database's parameter limit allows; the primary keys are set on the instances.
* :func:`history_copy` / :func:`history_copy_all` — the history row django-simple-history writes on a save (every
  tracked column, date, reason, user, type), copied from the stored row with ``INSERT ... SELECT``.
* :func:`row_insert_with_history` / :func:`row_update_with_history` — one row's ``save()`` and its history row, for
  the per-object hot paths (a lead, a notification): one statement on PostgreSQL (a data-modifying ``WITH``), two
  on SQLite.

Nothing in Leadflow listens to ``post_save`` of the models written this way apart from the history itself; the
layers announce their changes with their own signals.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from ..automation import history_user_id_or_automation

POSTGRES_MAX_PARAMETERS = 65_535
_TEXT, _INT = (str,), (int,)
_PLAIN: dict[str, tuple[type, ...]] = {
    "CharField": _TEXT, "TextField": _TEXT, "EmailField": _TEXT, "URLField": _TEXT, "SlugField": _TEXT,
    "IntegerField": _INT, "BigIntegerField": _INT, "SmallIntegerField": _INT, "PositiveIntegerField": _INT,
    "PositiveSmallIntegerField": _INT, "PositiveBigIntegerField": _INT, "ForeignKey": _INT, "OneToOneField": _INT,
    "BooleanField": (bool,), "FloatField": (float, int),
}


def _max_parameters() -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return POSTGRES_MAX_PARAMETERS


def _preparer(field):
    """The field's ``get_db_prep_save``; for JSON on SQLite without a custom encoder, the ``json.dumps`` it ends in."""
    if (connection.vendor == "sqlite" and field.get_internal_type() == "JSONField"
            and getattr(field, "encoder", None) is None):
        return lambda value, _connection: json.dumps(value)
    return field.get_db_prep_save


_INSERT_PLANS: dict[tuple[type[Model], str], tuple] = {}


def _insert_plan(model: type[Model]) -> tuple:
    """What inserting rows of ``model`` needs, worked out once per model and database."""
    key = (model, connection.vendor)
    if key not in _INSERT_PLANS:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        rows_per_statement = max(1, min(1000, _max_parameters() // len(fields)))
        # A value that already has its column's plain Python type goes as it is (what the field's preparation
        # would return for it anyway); anything else (dates, JSON, decimals, a number in a text field...) is
        # prepared.
        prepare = [(f.attname, _preparer(f), _PLAIN.get(f.get_internal_type(), ())) for f in fields]
        _INSERT_PLANS[key] = (fields, stamped, columns, rows_per_statement, prepare)
    return _INSERT_PLANS[key]


def _row_params(obj: Model, stamped: list, prepare: list, stamps: dict, stamps_now: dict) -> list[Any]:
    """One row's column values, prepared as ``save()`` prepares them (``auto_now``/``auto_now_add`` set once for the
    whole insert: ``stamps_now``; equal datetimes prepared once: ``stamps``)."""
    for field in stamped:  # one timestamp for the whole insert (pre_save would take one per row)
        if field.attname in stamps_now:
            setattr(obj, field.attname, stamps_now[field.attname])
        else:
            stamps_now[field.attname] = field.pre_save(obj, add=True)
    params: list[Any] = []
    for attname, prep, plain in prepare:
        value = getattr(obj, attname)
        if value is None or type(value) in plain:
            params.append(value)
        elif type(value) is datetime:  # a batch's rows share their timestamps: prepared once each
            key = (attname, value)
            prepared = stamps.get(key)
            if prepared is None:
                prepared = stamps[key] = prep(value, connection)
            params.append(prepared)
        else:
            params.append(prep(value, connection))
    return params


def _values_insert(model: type[Model], rows: int) -> str:
    """``INSERT INTO`` the model's table its columns (all but the primary key) ``VALUES`` ``rows`` rows of
    placeholders, in :func:`_insert_plan`'s column order."""
    fields, _stamped, columns, _rows, _prepare = _insert_plan(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}"


def _mark_stored(obj: Model, pk: Any) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def bulk_insert(objs: Sequence[Model]) -> list[Model]:
    """Insert new instances of one model (auto primary key), set their primary keys, and return them."""
    if not objs:
        return []
    model = type(objs[0])
    meta = model._meta
    _fields, stamped, _columns, rows_per_statement, prepare = _insert_plan(model)
    quote = connection.ops.quote_name
    stamps: dict[tuple[str, datetime], Any] = {}
    stamps_now: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(objs), rows_per_statement):
            chunk = objs[start:start + rows_per_statement]
            params: list[Any] = []
            for obj in chunk:
                params += _row_params(obj, stamped, prepare, stamps, stamps_now)
            cursor.execute(f"{_values_insert(model, len(chunk))} RETURNING {quote(meta.pk.column)}", params)
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                _mark_stored(obj, pk)
    return list(objs)


_COMPILED: dict[tuple, tuple] = {}


def rows_compiled_once(key: Hashable, build: Callable[[], QuerySet], params: Sequence[Any]) -> list[list[Any]]:
    """The rows of the queryset ``build()`` returns (values, or a model's columns in field order), its statement
    compiled once per ``key`` and database (``leads.selectors.lead_locked`` reads the lead it locks this way):
    ``params`` take the place of the parameters it was compiled with (same number, same order), and every value goes
    through the converters Django applies to it."""
    sql, converters = _compiled(key, build, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return [_converted(row, converters) for row in cursor.fetchall()]


def rows_compiled_once_and_branch(key: Hashable, build: Callable[[], QuerySet], params: Sequence[Any], branch: str,
                                  branch_params: Sequence[Any]) -> tuple[list[list[Any]], list[tuple]]:
    """:func:`rows_compiled_once` and, in the same statement, the rows of ``branch``: a ``SELECT`` of as many columns
    whose first is ``NULL`` (so its rows are told apart: the queryset's first column is a primary key), read by
    ``UNION ALL`` (PostgreSQL). Returns the queryset's rows, converted, and the branch's, as they are. One round
    trip where two reads of unrelated tables must both be answered (``leads.selectors``: the duplicate check's
    look-ups and the erasure check of the same e-mail)."""
    sql, converters = _compiled(key, build, params)
    with connection.cursor() as cursor:
        cursor.execute(f"({sql}) UNION ALL ({branch})", [*params, *branch_params])
        rows = cursor.fetchall()
    return ([_converted(row, converters) for row in rows if row[0] is not None],
            [tuple(row) for row in rows if row[0] is None])


def _compiled(key: Hashable, build: Callable[[], QuerySet], params: Sequence[Any]) -> tuple[str, list]:
    """The statement and its converters, compiled once per ``key`` and database; ``params`` must be as many as the
    parameters it was compiled with."""
    cache_key = (key, connection.alias, connection.vendor)
    plan = _COMPILED.get(cache_key)
    if plan is None:
        compiler = build().query.get_compiler(connection.alias)
        sql, compiled_params = compiler.as_sql()
        plan = _COMPILED[cache_key] = (sql, len(compiled_params), _converters(compiler))
    sql, count, converters = plan
    if len(params) != count:
        raise ValueError(f"{key!r}: {len(params)} parameters given, the statement has {count}")
    return sql, converters


def _converters(compiler) -> list:
    """The converters Django applies to the values of a compiled query's rows, by position."""
    return list(compiler.get_converters([column for column, _, _ in compiler.select]).items())


def _converted(row: Sequence[Any], converters: list) -> list[Any]:
    """A row's values through ``converters`` (:func:`_converters`), as Django reads them."""
    values = list(row)
    for position, (functions, expression) in converters:
        for function in functions:
            values[position] = function(values[position], expression, connection)
    return values


@lru_cache(maxsize=256)
def _history_insert(model: type[Model], history_type: str, source: str) -> str:
    """``INSERT INTO`` the model's history table ``SELECT`` every tracked column ``FROM source`` (the table, or on
    PostgreSQL the rows a data-modifying ``WITH`` returns), with the date, reason and user as three parameters.

    Cached: the statement depends on its arguments only, and django-simple-history's ``model.history`` builds a
    new manager class on every access (a third of a millisecond, on the per-lead write paths)."""
    history = model.history.model
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in history.tracked_fields)
    return (f"INSERT INTO {quote(history._meta.db_table)} ({columns}, history_date, history_change_reason, "
            f"history_type, history_user_id) SELECT {columns}, %s, %s, '{history_type}', %s FROM {source}")


def _insert_select(model: type[Model], history_type: str, where: str) -> str:
    return _history_insert(model, history_type, f"{connection.ops.quote_name(model._meta.db_table)} WHERE {where}")


def _one_statement() -> bool:
    """Whether a write and its history row go to the database as one statement (PostgreSQL: a data-modifying
    ``WITH``, one round trip instead of two; each round trip costs both processes CPU). SQLite has no
    data-modifying ``WITH`` and runs in the process: two statements there cost no round trip."""
    return connection.vendor == "postgresql"


def history_copy(model: type[Model], rows: Iterable[tuple[int, str]], *, now: datetime, user_id: int | None = None,
                 history_type: str = "~") -> None:
    """One history row per ``(pk, reason)``: each row as it is now in this transaction (no ``user_id``: the
    automation user)."""
    when = connection.ops.adapt_datetimefield_value(now)
    where = f"{connection.ops.quote_name(model._meta.pk.column)} = %s"
    user_id = history_user_id_or_automation(user_id)
    with connection.cursor() as cursor:
        cursor.executemany(_insert_select(model, history_type, where),
                           [(when, reason[:1000], user_id, pk) for pk, reason in rows])


def history_copy_all(model: type[Model], pks: Sequence[int], *, reason: str, now: datetime,
                     user_id: int | None = None, history_type: str = "~") -> None:
    """One history row per primary key, all with the same reason: one statement per 500 rows."""
    when = connection.ops.adapt_datetimefield_value(now)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    user_id = history_user_id_or_automation(user_id)
    with connection.cursor() as cursor:
        for start in range(0, len(pks), 500):
            chunk = list(pks[start:start + 500])
            if connection.vendor == "postgresql":  # one statement text for any number of rows: prepared
                cursor.execute(_insert_select(model, history_type, f"{pk_column} = ANY(%s)"),
                               [when, reason[:1000], user_id, chunk])
                continue
            where = f"{pk_column} IN ({', '.join(['%s'] * len(chunk))})"
            cursor.execute(_insert_select(model, history_type, where), [when, reason[:1000], user_id, *chunk])


def row_insert_with_history(instance: Model, *, reason: str, user_id: int | None = None,
                            follower: Model | None = None, follower_field: str = "") -> Model:
    """``instance.save()`` of a new row with the history row django-simple-history writes for it (type "+", dated
    as the row's creation when it has a ``created_at``): on PostgreSQL in one statement, else :func:`bulk_insert`
    and :func:`history_copy`.

    ``follower`` (PostgreSQL only: :func:`one_statement_writes`): a new row of another model written in the same
    statement, its JSON field ``follower_field`` the list ``[the new row's id]`` (a pipeline step's pending row whose
    job takes the new row's id: ``revops.base.step_rows.step_row``); its primary key and that field are set."""
    _follower_allowed(follower)
    if not _one_statement():
        bulk_insert([instance])
        when = getattr(instance, "created_at", None) or timezone.now()
        history_copy(type(instance), [(instance.pk, reason)], now=when, user_id=user_id, history_type="+")
        return instance
    _new_rows_stored(_new_with_history(type(instance)), _insert_with_history_params(instance, reason, user_id),
                     instance, follower, follower_field)
    return instance


def one_statement_writes() -> bool:
    """Whether this database writes a row, its history row and a follower in one statement (PostgreSQL)."""
    return _one_statement()


def _new_with_history(model: type[Model]) -> str:
    """``WITH new AS`` (one new row of ``model``) ``, new_history AS`` (its history row): the start of a statement
    whose parameters begin with :func:`_insert_with_history_params`."""
    history = _history_insert(model, "+", "new")
    return f"WITH new AS ({_values_insert(model, 1)} RETURNING *), new_history AS ({history})"


def _follower_allowed(follower: Model | None) -> None:
    if follower is not None and not _one_statement():
        raise ValueError("a follower row is written in the insert's statement on PostgreSQL only")


def _new_rows_stored(head: str, params: list[Any], new: Model, follower: Model | None, follower_field: str) -> None:
    """Run the data-modifying ``WITH`` ``head`` (its ``new`` names the row ``new`` is stored as), with ``follower``'s
    row added to it (:func:`_follower_insert`), and set the stored rows' primary keys (and the follower's field)."""
    pk = connection.ops.quote_name(type(new)._meta.pk.column)
    if follower is None:
        statement = f"{head} SELECT {pk} FROM new"
    else:
        follows, follower_params = _follower_insert(follower, follower_field, f"new.{pk}")
        statement = f"{head}, follower AS ({follows}) SELECT new.{pk}, follower.id FROM new, follower"
        params = [*params, *follower_params]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    _mark_stored(new, row[0])
    if follower is not None:
        _mark_stored(follower, row[1])
        if follower_field:
            setattr(follower, follower._meta.get_field(follower_field).attname, [new.pk])


def _follower_insert(follower: Model, field_name: str, new_id: str) -> tuple[str, list[Any]]:
    """``INSERT`` ``follower``'s row ``SELECT``-ing its values once for the new row of the ``WITH`` (its JSON field
    ``field_name``, if one is named, the list ``[new_id]``), returning its id; and the statement's parameters."""
    fields, stamped, columns, _rows, prepare = _insert_plan(type(follower))
    values = _row_params(follower, stamped, prepare, {}, {})
    select, params = [], []
    for field, value in zip(fields, values, strict=True):
        if field.name == field_name:
            select.append(f"jsonb_build_array({new_id})")
        else:
            select.append("%s")
            params.append(value)
    if field_name and len(params) == len(values):
        raise ValueError(f"{type(follower).__name__} has no field {field_name!r}")
    table = connection.ops.quote_name(follower._meta.db_table)
    pk = connection.ops.quote_name(follower._meta.pk.column)
    return f"INSERT INTO {table} ({columns}) SELECT {', '.join(select)} FROM new RETURNING {pk} AS id", params


def _insert_with_history_params(instance: Model, reason: str, user_id: int | None) -> list[Any]:
    """The new row's values (``auto_now`` fields stamped), then its history row's date, reason and user."""
    _fields, stamped, _columns, _rows, prepare = _insert_plan(type(instance))
    params = _row_params(instance, stamped, prepare, {}, {})
    when = getattr(instance, "created_at", None) or timezone.now()
    return [*params, connection.ops.adapt_datetimefield_value(when), reason[:1000],
            history_user_id_or_automation(user_id)]


def row_insert_and_update_with_history(new: Model, *, reason: str, user_id: int | None, changed: Model,
                                       fields: Iterable[str], changed_reason: str,
                                       changed_user_id: int | None = None, follower: Model | None = None) -> None:
    """:func:`row_insert_with_history` of ``new``, then :func:`row_update_with_history` of ``changed``'s ``fields``
    (a new event and its lead's last interaction): on PostgreSQL one statement for both rows and both history rows
    (one round trip instead of two), on SQLite the two calls. The same rows and history rows either way.

    ``follower`` (PostgreSQL only): a new row of another model, its values as they are (a pipeline step's pending
    row: ``revops.base.step_rows.step_row``), written in the same statement; its primary key is set."""
    _follower_allowed(follower)
    if not _one_statement():
        row_insert_with_history(new, reason=reason, user_id=user_id)
        row_update_with_history(changed, fields, reason=changed_reason, user_id=changed_user_id)
        return
    model, other = type(new), type(changed)
    inserted = _insert_with_history_params(new, reason, user_id)
    now = timezone.now()  # after the new row's stamps, as when the update followed the insert
    update, targets = _update_plan(other, tuple(dict.fromkeys(fields)))
    statement = (f"{_new_with_history(model)}, changed AS ({update} RETURNING *), "
                 f"changed_history AS ({_history_insert(other, '~', 'changed')})")
    params = [*inserted, *_update_values(changed, targets, now),
              connection.ops.adapt_datetimefield_value(now), changed_reason[:1000],
              history_user_id_or_automation(changed_user_id)]
    _new_rows_stored(statement, params, new, follower, "")


def row_update_with_history(instance: Model, fields: Iterable[str], *, reason: str,
                            user_id: int | None = None) -> None:
    """``instance.save(update_fields=fields)`` with its history row (type "~"): one statement on PostgreSQL, two on
    SQLite.

    The values are prepared by their model fields as ``save()`` prepares them; every ``auto_now`` field (an
    ``updated_at``) is set to the current time and written too, as ``save()`` does; the history row is the row as it
    now is, dated now, ``user_id`` or the automation user."""
    rows_update_with_history([instance], fields, reasons=[reason], user_id=user_id)


def rows_update_with_history(instances: Sequence[Model], fields: Iterable[str], *, reasons: Sequence[str],
                             user_id: int | None = None) -> None:
    """:func:`row_update_with_history` for several rows of one model, the same fields each (``reasons``: one per
    row): the update prepared once for all of them (one row: a plain statement), their history rows likewise."""
    if not instances:
        return
    model = type(instances[0])
    now = timezone.now()
    statement, targets = _update_plan(model, tuple(dict.fromkeys(fields)))
    values = [_update_values(instance, targets, now) for instance in instances]
    one_statement = _one_statement()
    if one_statement:  # the update and its history rows in one statement a row
        when = connection.ops.adapt_datetimefield_value(now)
        user = history_user_id_or_automation(user_id)
        history = _history_insert(model, "~", "changed")
        statement = f"WITH changed AS ({statement} RETURNING *) {history}"
        values = [[*row, when, reason[:1000], user] for row, reason in zip(values, reasons, strict=True)]
    with connection.cursor() as cursor:
        if len(values) == 1:
            cursor.execute(statement, values[0])
        else:
            cursor.executemany(statement, values)
    if not one_statement:
        history_copy(model, [(instance.pk, reason) for instance, reason in zip(instances, reasons, strict=True)],
                     now=now, user_id=user_id)


@lru_cache(maxsize=256)
def _update_plan(model: type[Model], fields: tuple[str, ...]) -> tuple[str, list]:
    """The ``UPDATE`` of these fields (and every ``auto_now`` field) by primary key, and the fields it sets."""
    names = list(fields) + [f.name for f in model._meta.concrete_fields
                            if getattr(f, "auto_now", False) and f.name not in fields]
    targets = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in targets)
    return (f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s",
            targets)


def _update_values(instance: Model, targets: list, now: datetime) -> list[Any]:
    for field in targets:
        if getattr(field, "auto_now", False):
            setattr(instance, field.attname, now)
    return [*(field.get_db_prep_save(getattr(instance, field.attname), connection) for field in targets), instance.pk]


def row_get_or_insert_with_history(model: type[Model], column: str, value: Any, build: Callable[[], Model], *,
                                   reason: str, user_id: int | None = None) -> tuple[Model, bool]:
    """``model.objects.get_or_create`` by a unique ``column`` for the per-form paths: the stored row, else
    ``build()`` inserted with its history row, and when another process inserted the same value meanwhile, that row.
    PostgreSQL: one statement, the insert skipping a taken value (``ON CONFLICT DO NOTHING``) and the stored row read
    in it (``build()`` is called either way); SQLite: the row read by a statement compiled once, else the insert in a
    savepoint. Returns (row, created)."""
    if _one_statement():  # the insert and the read in one statement: no savepoint, one round trip either way
        instance = build()
        found, created = _get_or_insert_with_history(instance, column, value, reason=reason, user_id=user_id)
        if found is not None:
            return found, created
        found = instance_compiled_once(model, column, value)  # inserted meanwhile by a transaction we waited for
        if found is None:
            raise IntegrityError(f"{model.__name__}: a unique value of the new row is taken ({column} is not)")
        return found, False
    found = instance_compiled_once(model, column, value)
    if found is not None:
        return found, False
    instance = build()
    try:
        with transaction.atomic():  # a savepoint: the unique column may have been written meanwhile
            return row_insert_with_history(instance, reason=reason, user_id=user_id), True
    except IntegrityError:
        found = instance_compiled_once(model, column, value)
        if found is None:
            raise
        return found, False


def _get_or_insert_with_history(instance: Model, column: str, value: Any, *, reason: str,
                                user_id: int | None) -> tuple[Model | None, bool]:
    """PostgreSQL: ``instance`` inserted with its history row unless a row breaks a unique constraint (``ON
    CONFLICT DO NOTHING``), and in the same statement the row already stored with ``column`` = ``value``: (the new
    instance, True), (the stored row, False), or (None, False) when neither — a transaction that inserted the value
    after this statement's snapshot committed while the insert waited for it (read it again) or another unique
    column is taken. A row that exists costs a sequence number and no write."""
    model = type(instance)
    quote = connection.ops.quote_name
    concrete = model._meta.concrete_fields
    columns = ", ".join(quote(f.column) for f in concrete)
    statement = (f"WITH new AS ({_values_insert(model, 1)} ON CONFLICT DO NOTHING RETURNING *), "
                 f"history AS ({_history_insert(model, '+', 'new')}) "
                 f"SELECT true, {columns} FROM new UNION ALL SELECT false, {columns} FROM "
                 f"{quote(model._meta.db_table)} WHERE {quote(model._meta.get_field(column).column)} = %s")
    with connection.cursor() as cursor:
        cursor.execute(statement, [*_insert_with_history_params(instance, reason, user_id), value])
        row = cursor.fetchone()
    if row is None:
        return None, False
    if row[0]:
        _mark_stored(instance, row[1 + concrete.index(model._meta.pk)])
        return instance, True
    return model.from_db(connection.alias, model_attnames(model), _converted(row[1:], _row_converters(model))), False


def _row_converters(model: type[Model]) -> list:
    """The converters of a row of all ``model``'s columns in field order (a JSON column's text parsed...)."""
    key = ("row converters", model, connection.alias, connection.vendor)
    if key not in _COMPILED:
        compiler = model._base_manager.all().query.get_compiler(connection.alias)
        compiler.setup_query()
        _COMPILED[key] = _converters(compiler)
    return _COMPILED[key]


def instance_compiled_once(model: type[Model], column: str, value: Any) -> Model | None:
    """The row of ``model`` whose unique ``column`` (``"pk"`` or a unique field) is ``value``, as an instance, or
    ``None``: ``model.objects.filter(**{column: value}).first()`` with the statement compiled once per model and
    column (:func:`rows_compiled_once`), for the reads every form repeats."""
    placeholder = 0 if column == "pk" or model._meta.get_field(column).get_internal_type().endswith(
        ("IntegerField", "AutoField")) else "?"
    rows = rows_compiled_once(("instance by", model, column), lambda: model._base_manager.filter(
        **{column: placeholder}), [value])
    return model.from_db(connection.alias, model_attnames(model), rows[0]) if rows else None


@cache
def model_attnames(model: type[Model]) -> list[str]:
    """The attribute names of ``model``'s columns in the order a query of the whole model selects them (what
    ``Model.from_db`` takes with a row from :func:`rows_compiled_once`)."""
    return [f.attname for f in model._meta.concrete_fields]
