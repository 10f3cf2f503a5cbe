"""Runs INSIDE a pod, imported by pgsnap.py (the standard library and psycopg only): the rows the
migration stairway seeds before each round trip, made to reveal a change that loses data.

Row ``index`` takes variant ``index % 3`` of each column's value, so that the rows of a table press on
every column's type from three sides:

  0  the far end: strings at the column's full length (varchar(n): n characters, text: LONG_TEXT), the
     largest integers and numerics with every digit of their precision and scale, the latest times
  1  the other end: non-ASCII text (accents, CJK and emoji when the database is UTF-8) with quotes, a
     backslash and a percent sign, the smallest integers, negative numerics, times before 1970
  2  NULL where the column is nullable, else a plain value

Booleans take both values, timestamps carry microseconds and are written with a time zone. Values stay
distinct per index, so unique columns accept every round of seeding. Long strings are two words of
about half the length each (trimmed, one space between), a shape that a change splitting or joining
words can still hold. The database may refuse a stressed row (a CHECK, a unique key, an index's size
limit): the row then keeps the stressed value of each column it accepts and a plain value for the
others. A table whose plain rows are refused as well is skipped, with the database's reason.
"""

import datetime
import decimal
import json
import uuid
from typing import Any

import psycopg
from psycopg import sql

VARIANTS = 3
LONG_TEXT = 300  # characters of a stressed value in an unbounded text column
MAX_TEXT = 2000  # never longer, whatever the column allows
UNICODE = "ÁéÎøÜñßçŁžÆ東京大阪🙂🚀"  # one code point each
ASCII = "AeIoUnscLzQ"
PHRASE = {True: "Zoë O'Brien-Łukasz \\ 100% 東京 🙂", False: "Zoe O'Brien-Lukasz \\ 100% Tokyo"}
INT_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}
ZONE = datetime.timezone
LATE = datetime.datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=ZONE(datetime.timedelta(hours=14)))
EARLY = datetime.datetime(1901, 12, 13, 20, 45, 52, 123456, tzinfo=ZONE(-datetime.timedelta(hours=9.5)))
EMAIL_DOMAIN = "@seed.example.com"


def plain(kind: str, enums: dict[str, list[str]], index: int, column: str) -> Any:
    """A tame value of SQL type ``kind`` for row ``index``; distinct per row so unique columns accept it."""
    base = kind.split("(")[0].strip()
    if kind.endswith("[]"):
        return None
    if base in enums:
        return enums[base][index % len(enums[base])]
    if base in INT_MAX:
        return 1000 + index
    if base in ("numeric", "real", "double precision"):
        return 10 + index
    if base == "boolean":
        return index % 2 == 0
    if base == "uuid":
        return str(uuid.UUID(int=0xC0FFEE00000000000000000000000000 + index))
    if base.startswith("timestamp"):
        return datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.UTC) + datetime.timedelta(days=index)
    if base == "date":
        return datetime.date(2024, 1, 1) + datetime.timedelta(days=index)
    if base in ("json", "jsonb"):
        return json.dumps({"seed": index})
    if base == "bytea":
        return str(index).encode()
    if base in ("text", "character varying", "character", "bpchar", "citext"):
        width = _width(kind) or 40
        text = f"seed{index}-{column}"[: max(width, 1)]
        return f"s{index}@seed.example.com"[:width] if "email" in column and width >= 20 else text
    return None


def _width(kind: str) -> int | None:
    return int(kind.split("(")[1].split(")")[0]) if "(" in kind else None


def _text(kind: str, column: str, variant: int, index: int, utf8: bool) -> Any:
    width = _width(kind)
    if "email" in column:
        if variant == 0:
            local = f"s{index}."
            size = min(width or 254, MAX_TEXT) - len(EMAIL_DOMAIN)
            return local + "x" * (size - len(local)) + EMAIL_DOMAIN if size > len(local) else None
        email = f"first.last+s{index}{EMAIL_DOMAIN}"
        return email if width is None or len(email) <= width else None
    if variant == 0:
        size = min(width or LONG_TEXT, MAX_TEXT)
        body = (f"s{index}-" + (UNICODE if utf8 else ASCII) * (size // 8 + 1))[:size]
        return body[: size // 2] + " " + body[size // 2 + 1 :] if size >= 8 else None
    text = f"s{index} {PHRASE[utf8]}"[:width].strip()
    return text if width is None or width >= 8 else None


def _numeric(kind: str, variant: int, index: int) -> Any:
    if "(" not in kind:
        many = "123456789012345678901234567890"
        return decimal.Decimal(f"{index}{many}.{many}" if variant == 0 else f"-{index}.{many}1")
    precision, _, scale_text = kind.split("(")[1].rstrip(")").partition(",")
    digits, scale = int(precision), int(scale_text or 0)
    units = 10**digits - 1 - index if variant == 0 else -(index * 10**scale + 1)
    if variant == 0 and units < 0:
        units = 10**digits - 1
    if abs(units) >= 10**digits:
        return None
    return decimal.Decimal(f"{units}E{-scale}")


def stressed(kind: str, enums: dict[str, list[str]], index: int, column: str, utf8: bool) -> Any:
    """The stressed value of variant ``index % VARIANTS`` (0 or 1) for a column of type ``kind``; None
    where there is none (variant 2, arrays, unknown types, columns too narrow to stress)."""
    variant = index % VARIANTS
    base = kind.split("(")[0].strip()
    if kind.endswith("[]") or variant == 2:
        return None
    if base in enums:
        return enums[base][index % len(enums[base])]
    if base in INT_MAX:
        return INT_MAX[base] - index if variant == 0 else -INT_MAX[base] - 1 + index
    if base == "numeric":
        return _numeric(kind, variant, index)
    if base in ("real", "double precision"):
        exponent = 38 if base == "real" else 300
        return float(f"1.{index}e{exponent}") if variant == 0 else -(index + 1 / 3)
    if base == "boolean":
        return variant == 0
    if base == "uuid":
        return str(uuid.UUID(int=2**128 - 1 - index if variant == 0 else index + 1))
    if base.startswith("timestamp") or base == "date":
        moment = (
            LATE - datetime.timedelta(days=index) if variant == 0 else EARLY + datetime.timedelta(days=index)
        )
        if base == "date":
            return moment.date()
        return moment if "with time zone" in kind else moment.replace(tzinfo=None)
    if base.startswith("time"):
        clock = (LATE if variant == 0 else EARLY).timetz()
        return clock if "with time zone" in kind else clock.replace(tzinfo=None)
    if base.startswith("interval"):
        days = datetime.timedelta(days=36500 + index, microseconds=999999)
        return days if variant == 0 else -datetime.timedelta(days=index, microseconds=1)
    if base in ("json", "jsonb"):
        nested = {"seed": index, "text": PHRASE[utf8], "nested": {"list": [1, 2.5, None, True]}, "big": 2**63}
        return json.dumps(nested if variant == 0 else [index, PHRASE[utf8], None])
    if base == "bytea":
        return (
            bytes(range(256)) + index.to_bytes(4, "big")
            if variant == 0
            else b"\x00\xff" + str(index).encode()
        )
    if base in ("text", "character varying", "character", "bpchar", "citext"):
        return _text(kind, column, variant, index, utf8)
    return None


class _Rollback(Exception):
    pass


def _insert(conn: psycopg.Connection[Any], table: str, row: dict[str, Any]) -> Any:
    names = list(row)
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
    )
    if not names:
        query = sql.SQL("INSERT INTO {} DEFAULT VALUES RETURNING *").format(sql.Identifier(table))
    cur = conn.execute(query, [row[c] for c in names])
    return dict(zip([d.name for d in cur.description or []], cur.fetchone() or (), strict=False))


def _accepts(conn: psycopg.Connection[Any], table: str, row: dict[str, Any]) -> bool:
    """Whether the database takes ``row`` (tried in a savepoint, then undone)."""
    try:
        with conn.transaction():
            _insert(conn, table, row)
            raise _Rollback
    except _Rollback:
        return True
    except psycopg.Error:
        return False


def place(conn: psycopg.Connection[Any], table: str, hard: dict[str, Any], tame: dict[str, Any]) -> Any:
    """Insert the stressed row ``hard``, or else ``tame`` with every stressed value the database accepts
    in it, column by column; raises when even that is refused. A column missing from a row is left to
    its default."""
    try:
        with conn.transaction():
            return _insert(conn, table, hard)
    except psycopg.Error:
        pass
    row = dict(tame)
    left = [c for c in hard if c not in tame or hard[c] != tame[c]]
    while left:  # again while a pass takes a value: it may be the one a rule over two columns needed
        taken = []
        for column in left:
            if _accepts(conn, table, {**row, column: hard[column]}):
                row[column] = hard[column]
                taken.append(column)
        if not taken:
            break
        left = [c for c in left if c not in taken]
    return _insert(conn, table, row)


def _rows(
    columns: dict[str, Any], names: list[str], enums: dict[str, list[str]], index: int, utf8: bool
) -> Any:
    """Row ``index`` twice: tame, and stressed (NULL in nullable columns for variant 2)."""
    tame: dict[str, Any] = {}
    hard: dict[str, Any] = {}
    for c in names:
        kind, nullable = columns[c]["type"], columns[c]["nullable"]
        value = plain(kind, enums, index, c)
        if value is not None or not nullable:
            tame[c] = value
        if nullable and index % VARIANTS == 2:
            hard[c] = None
        elif (extreme := stressed(kind, enums, index, c, utf8)) is not None:
            hard[c] = extreme
        elif c in tame:
            hard[c] = tame[c]
    return tame, hard


def _foreign_keys(snap: dict[str, Any]) -> dict[str, list[tuple[list[str], str, list[str]]]]:
    fks: dict[str, list[tuple[list[str], str, list[str]]]] = {}
    for key, con in snap["constraints"].items():
        if con["kind"] == "foreign key":
            definition = con["definition"]
            columns = definition.split("(", 1)[1].split(")", 1)[0].split(", ")
            target = definition.split("REFERENCES ", 1)[1]
            parent = target.split("(", 1)[0].strip().strip('"')
            parent_cols = target.split("(", 1)[1].split(")", 1)[0].split(", ")
            fks.setdefault(key.split(".", 1)[0], []).append((columns, parent, parent_cols))
    return fks


def seed(
    conn: psycopg.Connection[Any], snap: dict[str, Any], rows: int, offset: int, skip: tuple[str, ...]
) -> dict[str, Any]:
    """Insert ``rows`` rows into every table of ``snap`` it can fill (but ``skip``), parents first;
    what it wrote (rows as the database returned them) and why it skipped the others."""
    utf8 = conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
    enums = snap["enums"]
    tables = {t: cols for t, cols in snap["tables"].items() if t not in skip}
    fks = _foreign_keys(snap)
    written: dict[str, list[dict[str, Any]]] = {}
    pending, skipped = list(tables), {}
    while pending:
        ready = [t for t in pending if not any(p in pending and p != t for _, p, _ in fks.get(t, []))]
        if not ready:
            skipped.update(dict.fromkeys(pending, "circular foreign keys"))
            break
        for table in ready:
            pending.remove(table)
            columns = tables[table]
            generated = {c for c, meta in columns.items() if meta["default"] and "nextval" in meta["default"]}
            names = [c for c in columns if c not in generated]
            try:
                with conn.transaction():
                    for index in range(offset, offset + rows):
                        tame, hard = _rows(columns, names, enums, index, utf8)
                        for cols, parent, parent_cols in fks.get(table, []):
                            source = written.get(parent)
                            for col, pcol in zip(cols, parent_cols, strict=False):
                                value = source[index % len(source)].get(pcol.strip('"')) if source else None
                                tame[col.strip('"')] = hard[col.strip('"')] = value
                        written.setdefault(table, []).append(place(conn, table, hard, tame))
            except psycopg.Error as exc:
                written.pop(table, None)
                skipped[table] = str(exc).splitlines()[0][:200]
    return {"written": written, "skipped": skipped}
