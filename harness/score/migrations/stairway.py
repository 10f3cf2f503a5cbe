"""Drive a workspace's migrations (Alembic or Django) step by step inside an eval pod, snapshotting the schema
from PostgreSQL's catalog around every step (the "stairway"): upgrade one revision, downgrade it,
upgrade it again, with rows seeded before each round trip (values at the edges of each column's type,
see ``inpod/pgseed.py``); finally downgrade to base. The stairway stops at the first revision whose
upgrade, downgrade or second upgrade fails; the revisions after it are recorded as not reached."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.errors import SubmissionError
from harness.records.migrations import NOT_REACHED, MigrationReport, RevisionCheck
from harness.score.migrations.drivers import Command, Driver, Node
from harness.score.migrations.pgclient import PgClient
from harness.score.migrations.rowdiff import compare_rows
from harness.score.migrations.snapshot import Snapshot, diff

__all__ = ["PLAIN_DB", "SEED_ROWS", "STAIRWAY_DB", "compare_base", "compare_rows", "run_stairway"]

STAIRWAY_DB = "crucible_stairway"
PLAIN_DB = "crucible_plain"
SEED_ROWS = 3


def compare_base(empty: Snapshot, final: Snapshot) -> tuple[bool, list[str]]:
    """Whether `downgrade base` left the schema of the empty database it started from, in every catalog
    category (extensions included; version tables aside), and how it differs."""
    lines = diff(empty.without_version_tables(), final.without_version_tables())
    return not lines, lines


def _round_trip(
    db: PgClient, driver: Driver, command: Command, node: Node, previous: Snapshot, offset: int
) -> tuple[RevisionCheck, bool]:
    """Up to ``node``, down one step, up again; True when the database is left at ``node``."""
    check: dict[str, Any] = {"revision": node.id, "doc": node.doc}
    live = previous.without_version_tables()
    columns = {table: list(cols) for table, cols in live.tables.items()}
    before_rows: dict[str, Any] = {}
    if columns:
        seeded = db.seed(SEED_ROWS, offset)
        check["seeded_rows"] = sum(len(rows) for rows in seeded["written"].values())
        before_rows = db.rows(columns)
    up = driver.up_to(command, node)
    if not up.ok:
        return RevisionCheck(**check, error=f"upgrade failed: {up.gist()}"), False
    upgraded = db.snapshot().without_version_tables()
    down = driver.down_from(command, node)
    if not down.ok:
        return RevisionCheck(**check, upgrade_ok=True, error=f"downgrade failed: {down.gist()}"), True
    check["downgrade_diff"] = diff(live, db.snapshot().without_version_tables())
    if before_rows:
        check["data_diff"] = compare_rows(before_rows, db.rows(columns), live.primary_keys())
    again = driver.up_to(command, node)
    if not again.ok:
        error = f"upgrade after downgrade failed: {again.gist()}"
        return RevisionCheck(**check, upgrade_ok=True, downgrade_ok=True, error=error), False
    check["reupgrade_diff"] = diff(upgraded, db.snapshot().without_version_tables())
    return RevisionCheck(**check, upgrade_ok=True, downgrade_ok=True, reupgrade_ok=True), True


def run_stairway(driver: Driver, pg: PgClient, steps: Callable[[str], Command]) -> MigrationReport:
    """Check the workspace's migration history on two fresh databases of the pod: a plain
    empty -> all applied -> all reverted, then the per-revision stairway. ``steps(database)`` runs
    migration command lines against that database."""
    started = time.monotonic()
    pg.create_database(STAIRWAY_DB)
    db, command = pg.on(STAIRWAY_DB), steps(STAIRWAY_DB)
    try:
        graph = driver.graph(command)
    except SubmissionError as exc:
        return MigrationReport(
            tool=driver.tool, error=exc.message, seconds=round(time.monotonic() - started, 3)
        )
    pg.create_database(PLAIN_DB)
    plain, plain_command = pg.on(PLAIN_DB), steps(PLAIN_DB)
    empty = plain.snapshot().without_version_tables()
    to_head = driver.all_up(plain_command)
    error, base_clean = "", False
    base_diff: list[str] = []
    if not to_head.ok:
        error = f"upgrade from an empty database failed: {to_head.gist()}"
    else:
        to_base = driver.all_down(plain_command)
        if to_base.ok:
            base_clean, base_diff = compare_base(empty, plain.snapshot())
        else:
            base_diff = [f"reverting every migration failed: {to_base.gist()}"]
    previous = db.snapshot()
    checks: list[RevisionCheck] = []
    for index, node in enumerate(graph.nodes):
        check, at_revision = _round_trip(db, driver, command, node, previous, offset=100 * (index + 1))
        checks.append(check)
        if not at_revision or check.error:
            checks += [
                RevisionCheck(
                    revision=n.id,
                    doc=n.doc,
                    reached=False,
                    error=f"{NOT_REACHED}: stopped at {check.revision}",
                )
                for n in graph.nodes[index + 1 :]
            ]
            break
        previous = db.snapshot()
    return MigrationReport(
        tool=driver.tool,
        heads=graph.heads,
        single_head=graph.single_head,
        upgrade_from_empty=to_head.ok,
        error=error,
        revisions=checks,
        base_clean=base_clean,
        base_diff=base_diff,
        seconds=round(time.monotonic() - started, 3),
    )
