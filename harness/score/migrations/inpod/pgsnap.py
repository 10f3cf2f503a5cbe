"""Runs INSIDE a pod (tester container), with only the standard library and psycopg: one long-lived
process per database that reads PostgreSQL's catalog into a JSON snapshot of the public schema, seeds
and reads rows for the data checks (the rows it seeds come from pgseed.py, which must sit beside it),
runs SQL scripts and queries, and creates fresh databases.

    python pgsnap.py DATABASE_URL

It says {"pid": N}, then answers each JSON-line request {"action": A, "args": [...]} with
{"result": ...} or {"error": "..."}, on a new connection each:

    snapshot                        -> the schema snapshot
    seed ROWS OFFSET                -> {"written": {table: [row, ...]}, "skipped": {...}}
    rows {table: [column, ...]}     -> {table: [{column: value}, ...]}
    script SQL                      -> {"error": ""} (one transaction)
    queries [SQL, ...]              -> [{"rows": [[...]]} | {"error": "..."}] (nothing kept)
    create_database NAME            -> {} (dropped first when it exists; owned by the app role)
"""

import datetime
import decimal
import json
import os
import sys
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from harness.score.migrations.inpod import pgseed
else:
    import pgseed  # copied beside this script into the pod, where harness is not installed

QUERIES = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attnum
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = k.connamespace
        WHERE n.nspname = 'public' ORDER BY c.relname, k.conname""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "enums": """
        SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' GROUP BY t.typname""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, min_value, max_value, cycle
        FROM pg_sequences WHERE schemaname = 'public'""",
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'
        UNION ALL SELECT matviewname, definition FROM pg_matviews WHERE schemaname = 'public'""",
    "triggers": """
        SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "extensions": "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'",
}
VERSION_TABLES = ("alembic_version", "django_migrations")  # never seeded: they record what is applied
CONSTRAINT_KINDS = {
    "p": "primary key",
    "u": "unique",
    "c": "check",
    "f": "foreign key",
    "x": "exclusion",
    "t": "trigger",
    "n": "not null",
}


def snapshot(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "tables": {},
        "constraints": {},
        "indexes": {},
        "enums": {},
        "sequences": {},
        "views": {},
        "triggers": {},
        "extensions": [],
    }
    for table, column, kind, notnull, default, _ in conn.execute(QUERIES["columns"]):
        result["tables"].setdefault(table, {})[column] = {
            "type": kind,
            "nullable": not notnull,
            "default": default,
        }
    for table, name, kind, definition in conn.execute(QUERIES["constraints"]):
        result["constraints"][f"{table}.{name}"] = {
            "kind": CONSTRAINT_KINDS.get(kind, kind),
            "definition": definition,
        }
    for table, name, definition in conn.execute(QUERIES["indexes"]):
        result["indexes"][name] = {"table": table, "definition": definition}
    for name, labels in conn.execute(QUERIES["enums"]):
        result["enums"][name] = list(labels)
    for name, kind, start, step, low, high, cycle in conn.execute(QUERIES["sequences"]):
        result["sequences"][name] = f"{kind} start {start} step {step} min {low} max {high} cycle {cycle}"
    for name, definition in conn.execute(QUERIES["views"]):
        result["views"][name] = " ".join(definition.split())
    for name, table, definition in conn.execute(QUERIES["triggers"]):
        result["triggers"][f"{table}.{name}"] = definition
    result["extensions"] = sorted(row[0] for row in conn.execute(QUERIES["extensions"]))
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


def seed(conn: psycopg.Connection[Any], rows: int, offset: int) -> dict[str, Any]:
    """Rows seeded into every table it can fill (see pgseed.py), as JSON values."""
    done = pgseed.seed(conn, snapshot(conn), rows, offset, skip=VERSION_TABLES)
    written = done["written"].items()
    return {
        **done,
        "written": {t: [{k: _jsonable(v) for k, v in r.items()} for r in rs] for t, rs in written},
    }


def read_rows(conn: psycopg.Connection[Any], tables: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table, columns in tables.items():
        try:
            with conn.transaction():
                query = sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table)
                )
                cur = conn.execute(query)
                out[table] = [
                    {c: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in cur.fetchall()
                ]
        except psycopg.Error as exc:
            out[table] = {"error": str(exc).splitlines()[0][:200]}
    return out


def run_script(conn: psycopg.Connection[Any], script: str) -> dict[str, Any]:
    """Run an SQL script in one transaction: all of it or none."""
    try:
        with conn.transaction():
            conn.execute(script.encode())
    except psycopg.Error as exc:
        return {"error": str(exc).strip().splitlines()[0][:300]}
    return {"error": ""}


def run_queries(conn: psycopg.Connection[Any], queries: list[str]) -> list[dict[str, Any]]:
    """Each query's rows (as lists of JSON values), or its error; each in a transaction rolled back."""
    out: list[dict[str, Any]] = []
    for query in queries:
        try:
            with conn.transaction():
                rows = conn.execute(query.encode()).fetchall()
                out.append({"rows": [[_jsonable(v) for v in row] for row in rows]})
                raise _Rollback
        except _Rollback:
            continue
        except psycopg.Error as exc:
            out.append({"error": str(exc).strip().splitlines()[0][:300]})
    return out


class _Rollback(Exception):
    pass


ACTIONS: dict[str, Callable[[psycopg.Connection[Any], list[Any]], Any]] = {
    "snapshot": lambda conn, args: snapshot(conn),
    "seed": lambda conn, args: seed(conn, int(args[0]), int(args[1])),
    "rows": lambda conn, args: read_rows(conn, args[0]),
    "script": lambda conn, args: run_script(conn, args[0]),
    "queries": lambda conn, args: run_queries(conn, args[0]),
    "create_database": lambda conn, args: create_database(conn, args[0]),
}


def create_database(conn: psycopg.Connection[Any], name: str) -> dict[str, Any]:
    """A fresh, empty database owned by the app role (dropped first when it exists)."""
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE DATABASE {} OWNER app").format(sql.Identifier(name)))
    return {}


def serve(url: str) -> None:
    """Answer JSON requests {"action", "args"} one line each, on a new connection each, until stdin
    ends: {"result": ...} or {"error": "..."}. The first line says this process's pid."""
    answers = sys.stdout
    answers.write(json.dumps({"pid": os.getpid()}) + "\n")
    answers.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                answer = {"result": ACTIONS[request["action"]](conn, request.get("args", []))}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    serve(sys.argv[1])


if __name__ == "__main__":
    main()
