"""Drive a workspace's Alembic migrations step by step inside an eval pod, snapshotting the schema
from PostgreSQL's catalog around every step (the "stairway"): upgrade one revision, downgrade it,
upgrade it again, with rows seeded before each round trip; finally downgrade to base."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from importlib import resources
from typing import Any

from harness.crashlog import summarise_failure
from harness.errors import SandboxError
from harness.sandbox import Container, ExecResult, tar_files
from harness.score.migrations.report import MigrationReport, RevisionCheck
from harness.score.migrations.snapshot import Snapshot, diff

TESTER_PYTHON = "/opt/crucible/tester/bin/python"
PGSNAP = "/opt/crucible-probe/pgsnap.py"
STAIRWAY_DB = "crucible_stairway"
PLAIN_DB = "crucible_plain"
SEED_ROWS = 3
GRAPH_SCRIPT = """
import json
from alembic.config import Config
from alembic.script import ScriptDirectory
script = ScriptDirectory.from_config(Config("alembic.ini"))
order = [r for r in script.walk_revisions("base", "heads")]
order.reverse()
def down(r):
    d = r.down_revision
    return list(d) if isinstance(d, (tuple, list)) else ([d] if d else [])
print(json.dumps({"heads": list(script.get_heads()),
                  "revisions": [{"revision": r.revision, "down": down(r), "doc": (r.doc or "").strip()}
                                for r in order]}))
"""


class Probe:
    """Runs pgsnap.py in the tester container against one database as the superuser."""

    def __init__(self, tester: Container, superuser_url: str) -> None:
        self.tester = tester
        self.url = superuser_url
        source = (resources.files("harness.score.migrations") / "pgsnap.py").read_bytes()
        tester.put_archive("/opt/crucible-probe", tar_files({"pgsnap.py": source}, uid=1000))

    def on(self, database: str) -> Probe:
        clone = object.__new__(Probe)
        clone.tester, clone.url = self.tester, self.url.rsplit("/", 1)[0] + "/" + database
        return clone

    def _run(self, *args: str) -> Any:
        done = self.tester.exec([TESTER_PYTHON, PGSNAP, args[0], self.url, *args[1:]], timeout=120)
        if not done.ok:
            raise SandboxError(f"schema probe {args[0]} failed: {done.describe()}")
        return json.loads(done.out)

    def snapshot(self) -> Snapshot:
        return Snapshot.model_validate(self._run("snapshot"))

    def seed(self, rows: int, offset: int) -> dict[str, Any]:
        return dict(self._run("seed", str(rows), str(offset)))

    def rows(self, tables: Mapping[str, list[str]]) -> dict[str, Any]:
        return dict(self._run("rows", json.dumps(dict(tables))))

    def create_database(self, name: str) -> None:
        done = self.tester.exec(
            [
                TESTER_PYTHON,
                "-c",
                "import psycopg, sys\n"
                "with psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
                "    c.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]}')\n"
                "    c.execute(f'CREATE DATABASE {sys.argv[2]} OWNER app')\n",
                self.url,
                name,
            ],
            timeout=60,
        )
        if not done.ok:
            raise SandboxError(f"creating database {name} failed: {done.describe()}")


def _gist(result: ExecResult) -> str:
    return "timed out" if result.timed_out else summarise_failure(result.out + result.err)


def _compare_rows(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Per table and column: values present before a round trip that are gone or changed after it
    (compared as multisets, so row order does not matter)."""
    lines = []
    for table, rows in before.items():
        now = after.get(table)
        if isinstance(now, dict):
            lines.append(f"rows of {table} cannot be read after the round trip: {now.get('error', '')}")
            continue
        now = now or []
        if len(now) < len(rows):
            lines.append(f"{table}: {len(rows) - len(now)} of {len(rows)} rows deleted by the round trip")
        for column in rows[0] if rows else {}:
            old = Counter(json.dumps(r.get(column), default=str) for r in rows)
            new = Counter(json.dumps(r.get(column), default=str) for r in now)
            lost = old - new
            if lost and len(now) >= len(rows):
                example = next(iter(lost))
                after_values = sorted((new - old).elements())[:1]
                becomes = f" -> {after_values[0]}" if after_values else ""
                count = sum(lost.values())
                lines.append(
                    f"{table}.{column}: {count} of {len(rows)} values not preserved (e.g. {example}{becomes})"
                )
    return lines


def _round_trip(
    db: Probe, alembic: Any, node: dict[str, Any], previous: Snapshot, offset: int
) -> tuple[RevisionCheck, bool]:
    """Upgrade to ``node``, downgrade, upgrade again; True when the database is left at ``node``."""
    revision, downs = node["revision"], node["down"]
    check: dict[str, Any] = {"revision": revision, "doc": node["doc"][:200]}
    live = previous.without_version_tables()
    columns = {table: list(cols) for table, cols in live.tables.items()}
    before_rows: dict[str, Any] = {}
    if columns:
        seeded = db.seed(SEED_ROWS, offset)
        check["seeded_rows"] = sum(len(rows) for rows in seeded["written"].values())
        before_rows = db.rows(columns)
    up = alembic("upgrade", revision)
    if not up.ok:
        return RevisionCheck(**check, error=f"upgrade failed: {_gist(up)}"), False
    upgraded = db.snapshot()
    down = alembic("downgrade", downs[0] if len(downs) == 1 else ("base" if not downs else "-1"))
    if not down.ok:
        return RevisionCheck(**check, upgrade_ok=True, error=f"downgrade failed: {_gist(down)}"), True
    check["downgrade_diff"] = diff(live, db.snapshot().without_version_tables())
    if before_rows:
        check["data_diff"] = _compare_rows(before_rows, db.rows(columns))
    again = alembic("upgrade", revision)
    if not again.ok:
        error = f"upgrade after downgrade failed: {_gist(again)}"
        return RevisionCheck(**check, upgrade_ok=True, downgrade_ok=True, error=error), False
    check["reupgrade_diff"] = diff(upgraded.without_version_tables(), db.snapshot().without_version_tables())
    return RevisionCheck(**check, upgrade_ok=True, downgrade_ok=True, reupgrade_ok=True), True


def run_stairway(migrate: Container, probe: Probe, app_url_base: str, timeout: float) -> MigrationReport:
    """Check the workspace's Alembic history on two fresh databases of the pod: a plain
    base -> head -> base, then the per-revision stairway. ``app_url_base`` is the app role's URL
    without the database name."""
    started = time.monotonic()

    def alembic_on(database: str) -> Any:
        env = {"DATABASE_URL": f"{app_url_base}/{database}"}
        return lambda *args: migrate.exec(["alembic", *args], timeout=timeout, env=env)

    graph_run = migrate.exec(["python", "-c", GRAPH_SCRIPT], timeout=timeout)
    if not graph_run.ok:
        return MigrationReport(
            tool="alembic",
            error=f"cannot read the revision graph: {_gist(graph_run)}",
            seconds=round(time.monotonic() - started, 3),
        )
    graph = json.loads(graph_run.out.strip().splitlines()[-1])
    # base -> head -> base
    probe.create_database(PLAIN_DB)
    plain, plain_alembic = probe.on(PLAIN_DB), alembic_on(PLAIN_DB)
    empty = plain.snapshot().without_version_tables()
    to_head = plain_alembic("upgrade", "heads")
    error, base_clean, base_diff = "", False, []
    if not to_head.ok:
        error = f"upgrade from an empty database failed: {_gist(to_head)}"
    else:
        to_base = plain_alembic("downgrade", "base")
        if to_base.ok:
            final = plain.snapshot()
            base_clean, base_diff = final.is_empty(), diff(empty, final.without_version_tables())
        else:
            base_diff = [f"downgrade base failed: {_gist(to_base)}"]
    # the stairway, one revision at a time
    probe.create_database(STAIRWAY_DB)
    db, alembic = probe.on(STAIRWAY_DB), alembic_on(STAIRWAY_DB)
    previous = db.snapshot()
    checks: list[RevisionCheck] = []
    for index, node in enumerate(graph["revisions"]):
        check, at_revision = _round_trip(db, alembic, node, previous, offset=100 * (index + 1))
        checks.append(check)
        if not at_revision or check.error:
            stop = check.revision
            checks += [
                RevisionCheck(
                    revision=n["revision"], doc=n["doc"][:200], error=f"not reached: stopped at {stop}"
                )
                for n in graph["revisions"][index + 1 :]
            ]
            break
        previous = db.snapshot()
    return MigrationReport(
        tool="alembic",
        heads=graph["heads"],
        upgrade_from_empty=to_head.ok,
        error=error,
        revisions=checks,
        base_clean=base_clean,
        base_diff=base_diff,
        seconds=round(time.monotonic() - started, 3),
    )
