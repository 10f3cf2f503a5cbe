"""Brownfield fixtures: the existing system's data through the workspace's migrations.

Every eval of a brownfield fixture starts from the starter's world: a database migrated to the starter's
revision and holding the fixture's seed data. The app's own database is prepared that way before
`upgrade head`, so the hidden tests meet the existing rows through the API. Beside the stairway, a
database of its own takes the round trip the backfill checks judge: seeded at the starter's revision,
upgraded to head (the fixture's queries must then answer exactly as declared, and columns that keep
their name and type keep their values), downgraded to the starter's revision (the starter's exact
schema and rows must be back).
"""

from __future__ import annotations

import json
from typing import Any

from harness.fixtures import BackfillCheck, Fixture
from harness.records.migrations import BackfillCheckResult, BackfillReport
from harness.score.migrations.drivers import Command, Driver, Node
from harness.score.migrations.pgclient import PgClient
from harness.score.migrations.rowdiff import compare_rows
from harness.score.migrations.snapshot import Snapshot, diff

BACKFILL_DB = "crucible_backfill"


def _base(fixture: Fixture) -> str:
    assert fixture.spec.brownfield is not None, "only brownfield fixtures have existing data"
    return fixture.spec.brownfield.base_revision


def load_existing(driver: Driver, db: PgClient, command: Command, fixture: Fixture) -> str:
    """Migrate a fresh database to the starter's revision and load the seed data; the workspace's
    fault when that fails (it changed or removed the starter's history), else ""."""
    base = _base(fixture)
    up = driver.up_to(command, Node(base, "", ""))
    if not up.ok:
        return f"the starter's revision {base} cannot be reached any more: {up.gist()}"
    error = db.run_script(fixture.seed_sql())
    if error:
        return (
            f"the existing data does not load at the starter's revision {base} "
            f"(were the starter's migrations changed?): {error}"
        )
    return ""


def _canonical(rows: Any) -> str:
    return json.dumps(rows, default=str, sort_keys=True)


def _judge(check: BackfillCheck, answer: dict[str, Any]) -> BackfillCheckResult:
    if "error" in answer:
        return BackfillCheckResult(name=check.name, ok=False, detail=f"query failed: {answer['error']}")
    rows = answer["rows"]
    expect = check.expected_rows()
    if _canonical(rows) == _canonical(expect):
        return BackfillCheckResult(name=check.name, ok=True)
    wrong = [
        f"row {i + 1}: {got} (expected {want})"
        for i, (got, want) in enumerate(zip(rows, expect, strict=False))
        if _canonical(got) != _canonical(want)
    ]
    if len(rows) != len(expect):
        wrong.insert(0, f"{len(rows)} rows (expected {len(expect)})")
    return BackfillCheckResult(name=check.name, ok=False, detail="; ".join(wrong[:3]))


def _kept_columns(before: Snapshot, after: Snapshot) -> dict[str, list[str]]:
    """Columns present before and after the upgrade with the same type."""
    kept: dict[str, list[str]] = {}
    for table, columns in before.tables.items():
        now = after.tables.get(table, {})
        same = [c for c, facts in columns.items() if c in now and now[c].get("type") == facts.get("type")]
        if same:
            kept[table] = same
    return kept


def run_backfill(driver: Driver, pg: PgClient, command: Command, fixture: Fixture) -> BackfillReport:
    """The backfill round trip on a database of its own (``BACKFILL_DB``, which ``command`` migrates)."""
    base = _base(fixture)
    pg.create_database(BACKFILL_DB)
    db = pg.on(BACKFILL_DB)
    error = load_existing(driver, db, command, fixture)
    if error:
        return BackfillReport(base_revision=base, error=error)
    before = db.snapshot().without_version_tables()
    all_columns = {table: list(columns) for table, columns in before.tables.items()}
    before_rows = db.rows(all_columns)
    seeded = sum(len(rows) for rows in before_rows.values() if isinstance(rows, list))
    up = driver.all_up(command)
    if not up.ok:
        return BackfillReport(
            base_revision=base, seeded_rows=seeded, error=f"upgrade to head failed: {up.gist()}"
        )
    after = db.snapshot().without_version_tables()
    checks = fixture.backfill_checks()
    answers = db.query([check.sql for check in checks])
    results = [_judge(check, answer) for check, answer in zip(checks, answers, strict=True)]
    kept = _kept_columns(before, after)
    kept_before = {
        table: [{c: row[c] for c in columns} for row in before_rows[table]]
        for table, columns in kept.items()
        if isinstance(before_rows.get(table), list)
    }
    keys = before.primary_keys()
    preserved = compare_rows(kept_before, db.rows(kept), keys)
    report: dict[str, Any] = {
        "base_revision": base,
        "seeded_rows": seeded,
        "upgrade_ok": True,
        "checks": results,
        "preserved_diff": [line.replace("round trip", "upgrade") for line in preserved],
    }
    down = driver.down_from(command, Node("head", base, ""))
    if not down.ok:
        return BackfillReport(**report, error=f"downgrade to {base} failed: {down.gist()}")
    return BackfillReport(
        **report,
        downgrade_ok=True,
        downgrade_diff=diff(before, db.snapshot().without_version_tables()),
        data_diff=compare_rows(before_rows, db.rows(all_columns), keys),
    )
