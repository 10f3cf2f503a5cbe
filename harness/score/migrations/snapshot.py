"""A schema snapshot read from PostgreSQL's catalog, and a readable difference between two."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

VERSION_TABLES = frozenset({"alembic_version", "django_migrations"})
_VERSION_PREFIXES = tuple(f"{table}_" for table in VERSION_TABLES)  # their own sequences


class Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True)
    tables: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)  # table -> column -> facts
    constraints: dict[str, dict[str, str]] = Field(default_factory=dict)  # "table.name" -> kind, definition
    indexes: dict[str, dict[str, str]] = Field(default_factory=dict)  # name -> table, definition
    enums: dict[str, list[str]] = Field(default_factory=dict)
    sequences: dict[str, str] = Field(default_factory=dict)
    views: dict[str, str] = Field(default_factory=dict)
    triggers: dict[str, str] = Field(default_factory=dict)
    extensions: list[str] = Field(default_factory=list)

    def without_version_tables(self) -> Snapshot:
        def keep(table: str) -> bool:
            return table not in VERSION_TABLES

        return Snapshot(
            tables={t: c for t, c in self.tables.items() if keep(t)},
            constraints={k: v for k, v in self.constraints.items() if keep(k.split(".", 1)[0])},
            indexes={k: v for k, v in self.indexes.items() if keep(v.get("table", ""))},
            enums=self.enums,
            sequences={k: v for k, v in self.sequences.items() if not k.startswith(_VERSION_PREFIXES)},
            views=self.views,
            triggers={k: v for k, v in self.triggers.items() if keep(k.split(".", 1)[0])},
            extensions=self.extensions,
        )

    def primary_keys(self) -> dict[str, list[str]]:
        """Each table's primary-key columns, for tables that have one."""
        keys: dict[str, list[str]] = {}
        for name, facts in self.constraints.items():
            definition = facts.get("definition", "")
            if facts.get("kind") == "primary key" and definition.startswith("PRIMARY KEY ("):
                inner = definition[len("PRIMARY KEY (") :].split(")", 1)[0]
                keys[name.split(".", 1)[0]] = [c.strip().strip('"') for c in inner.split(",")]
        return keys


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _compare(kind: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    lines = []
    for name in sorted(actual.keys() - expected.keys()):
        lines.append(f"{kind} {name} left behind")
    for name in sorted(expected.keys() - actual.keys()):
        lines.append(f"{kind} {name} missing")
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            lines.append(f"{kind} {name} changed: {_describe(expected[name])} -> {_describe(actual[name])}")
    return lines


def diff(expected: Snapshot, actual: Snapshot) -> list[str]:
    """How ``actual`` differs from ``expected``, one readable line per object, empty when equal.
    "left behind" is in ``actual`` only, "missing" in ``expected`` only."""
    lines = _compare("table", {t: None for t in expected.tables}, {t: None for t in actual.tables})
    shared = expected.tables.keys() & actual.tables.keys()
    lines += _compare(
        "column",
        {f"{t}.{c}": f for t in shared for c, f in expected.tables[t].items()},
        {f"{t}.{c}": f for t in shared for c, f in actual.tables[t].items()},
    )
    lines += _compare("constraint", expected.constraints, actual.constraints)
    lines += _compare("index", expected.indexes, actual.indexes)
    lines += _compare("enum type", dict(expected.enums), dict(actual.enums))
    lines += _compare("sequence", expected.sequences, actual.sequences)
    lines += _compare("view", expected.views, actual.views)
    lines += _compare("trigger", expected.triggers, actual.triggers)
    lines += _compare("extension", dict.fromkeys(expected.extensions), dict.fromkeys(actual.extensions))
    return lines
