"""Rows read before and after a round trip, compared value by value: the messages of the `data`,
`backfill:preserved` and `backfill:data` checks.

Values are compared within a row: a row before is paired with the row after that has the same primary
key or, for a table without one (or whose key values changed), the same values in the columns that kept
all their values (all of them together, else one of them alone). Where no such pairing names every row
once, each column's values are compared as multisets (row order does not matter) and the message says
that the rows could not be paired.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

Row = Mapping[str, Any]
SHOWN_CHARS = 24


def _canonical(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def shown(value: Any, start: int = 0) -> str:
    """A value as a message shows it: strings quoted and, when long, cut (from ``start``) with their
    length."""
    if value is None:
        return "NULL"
    if not isinstance(value, str):
        return json.dumps(value, default=str, ensure_ascii=False)
    if len(value) <= SHOWN_CHARS:
        return f"'{value}'"
    start = min(start, len(value))
    end = start + SHOWN_CHARS
    text = ("…" if start else "") + value[start:end] + ("…" if end < len(value) else "")
    return f"'{text}' ({len(value)} chars)"


def shown_change(old: Any, new: Any) -> str:
    """``old -> new``; two long strings are shown from a little before where they part."""
    start = 0
    if isinstance(old, str) and isinstance(new, str):
        same = next(
            (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new))
        )
        start = same - 8 if same > SHOWN_CHARS - 4 else 0
    return f"{shown(old, start)} -> {shown(new, start)}"


def _identity(row: Row, columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(_canonical(row.get(c)) for c in columns)


def _names_rows(rows: Sequence[Row], now: Sequence[Row], columns: Sequence[str]) -> bool:
    """Every row before and after has its own values in ``columns``, and each row before has its match."""
    if not columns or any(c not in r for r in [*rows, *now] for c in columns):
        return False
    before = [_identity(r, columns) for r in rows]
    after = [_identity(r, columns) for r in now]
    return len(set(before)) == len(before) and len(set(after)) == len(after) and set(before) <= set(after)


def pairing_columns(rows: Sequence[Row], now: Sequence[Row], key: Sequence[str] = ()) -> list[str]:
    """The columns that pair rows before with rows after: the primary key, else the columns whose
    values all survived (together, or one of them alone); empty when none names each row once."""
    if _names_rows(rows, now, key):
        return list(key)
    columns = list(rows[0]) if rows else []
    stable = [
        c
        for c in columns
        if Counter(_canonical(r.get(c)) for r in rows) == Counter(_canonical(r.get(c)) for r in now)
    ]
    # all of them, else one alone (values moved between rows leave each column's multiset unchanged)
    for candidate in [stable, *([c] for c in stable)]:
        if _names_rows(rows, now, candidate):
            return candidate
    return []


def _label(row: Row, rows: Sequence[Row], pairing: Sequence[str]) -> str:
    """The row as a message names it: by the first pairing column unique on its own, else by all."""
    alone = [c for c in pairing if len({_canonical(r.get(c)) for r in rows}) == len(rows)]
    named = alone[:1] or list(pairing)
    return ", ".join(f"{c}={shown(row.get(c))}" for c in named)


def _paired_lines(table: str, rows: Sequence[Row], now: Sequence[Row], pairing: Sequence[str]) -> list[str]:
    partner = {_identity(r, pairing): r for r in now}
    lines = []
    for column in rows[0]:
        changed = [
            (row, partner[_identity(row, pairing)])
            for row in rows
            if _canonical(row.get(column)) != _canonical(partner[_identity(row, pairing)].get(column))
        ]
        if changed:
            old, new = changed[0]
            example = f"row {_label(old, rows, pairing)}: {shown_change(old.get(column), new.get(column))}"
            lines.append(f"{table}.{column}: {len(changed)} of {len(rows)} values not preserved ({example})")
    return lines


def _multiset_lines(table: str, rows: Sequence[Row], now: Sequence[Row]) -> list[str]:
    lines = []
    for column in rows[0]:
        old = Counter(_canonical(r.get(column)) for r in rows)
        new = Counter(_canonical(r.get(column)) for r in now)
        lost = old - new
        if lost:
            gone = shown(json.loads(sorted(lost)[0]))
            appeared = sorted(new - old)
            also = f", {shown(json.loads(appeared[0]))} new" if appeared else ""
            lines.append(
                f"{table}.{column}: {sum(lost.values())} of {len(rows)} values not preserved "
                f"(e.g. {gone} gone{also}; no key pairs the rows)"
            )
    return lines


def compare_rows(
    before: Mapping[str, Any], after: Mapping[str, Any], keys: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """Per table and column: values present before a round trip that are gone or changed after it.
    ``keys`` are the tables' primary-key columns (``Snapshot.primary_keys()``)."""
    lines = []
    for table, rows in before.items():
        now = after.get(table)
        if isinstance(now, dict):
            lines.append(f"rows of {table} cannot be read after the round trip: {now.get('error', '')}")
            continue
        now = now or []
        if len(now) < len(rows):
            lines.append(f"{table}: {len(rows) - len(now)} of {len(rows)} rows deleted by the round trip")
            continue
        if not rows:
            continue
        pairing = pairing_columns(rows, now, (keys or {}).get(table, ()))
        lines += _paired_lines(table, rows, now, pairing) if pairing else _multiset_lines(table, rows, now)
    return lines
