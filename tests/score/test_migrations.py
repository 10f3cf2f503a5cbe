"""Schema snapshots read from a real PostgreSQL, and the migration stairway on real projects."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.records.migrations import MigrationReport
from harness.sandbox import ContainerSpec
from harness.sandbox.services import start_postgres
from harness.score.migrations.pgclient import TESTER_PYTHON, PgClient
from harness.score.migrations.snapshot import diff
from tests.conftest import new_run_id
from tests.helpers import run_crucible

pytestmark = pytest.mark.docker
PROJECT = Path(__file__).parents[2]
SHOP = Path(__file__).parents[1] / "data" / "shop_migrations"

DROP_FK = "ALTER TABLE c DROP CONSTRAINT fk_c"
ADD_FK = "ALTER TABLE c ADD CONSTRAINT fk_c FOREIGN KEY (pid) REFERENCES p"
# (object kind, setup, a change that must show, the line it must show as, SQL that must change nothing)
CASES = [
    (
        "table",
        "CREATE TABLE t (id int)",
        "CREATE TABLE extra (id int)",
        "table extra left behind",
        "INSERT INTO t VALUES (1)",
    ),
    (
        "column type",
        "CREATE TABLE t (id int)",
        "ALTER TABLE t ALTER COLUMN id TYPE bigint",
        "column t.id changed: type=integer",
        "ALTER TABLE t ALTER COLUMN id TYPE int",
    ),
    (
        "nullability",
        "CREATE TABLE t (id int)",
        "ALTER TABLE t ALTER COLUMN id SET NOT NULL",
        "column t.id changed: type=integer, nullable=True",
        "ALTER TABLE t ALTER COLUMN id DROP NOT NULL",
    ),
    (
        "default",
        "CREATE TABLE t (id int)",
        "ALTER TABLE t ALTER COLUMN id SET DEFAULT 5",
        "default=None -> type=integer, nullable=True, default=5",
        "ALTER TABLE t ALTER COLUMN id SET DEFAULT 5; ALTER TABLE t ALTER COLUMN id DROP DEFAULT",
    ),
    (
        "primary key",
        "CREATE TABLE t (id int NOT NULL)",
        "ALTER TABLE t ADD PRIMARY KEY (id)",
        "constraint t.t_pkey left behind",
        "ALTER TABLE t ADD PRIMARY KEY (id); ALTER TABLE t DROP CONSTRAINT t_pkey",
    ),
    (
        "unique",
        "CREATE TABLE t (id int)",
        "ALTER TABLE t ADD CONSTRAINT uq_t UNIQUE (id)",
        "constraint t.uq_t left behind",
        "ALTER TABLE t ADD CONSTRAINT uq_t UNIQUE (id); ALTER TABLE t DROP CONSTRAINT uq_t",
    ),
    (
        "check",
        "CREATE TABLE t (id int, CONSTRAINT ck_t CHECK (id > 0))",
        "ALTER TABLE t DROP CONSTRAINT ck_t; ALTER TABLE t ADD CONSTRAINT ck_t CHECK (id > 1)",
        "constraint t.ck_t changed",
        "ALTER TABLE t DROP CONSTRAINT ck_t; ALTER TABLE t ADD CONSTRAINT ck_t CHECK (id > 0)",
    ),
    (
        "foreign key on delete",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (pid int CONSTRAINT fk_c REFERENCES p ON DELETE CASCADE)",
        "ALTER TABLE c DROP CONSTRAINT fk_c; ALTER TABLE c ADD CONSTRAINT fk_c FOREIGN KEY (pid) REFERENCES p ON DELETE SET NULL",
        "ON DELETE CASCADE -> kind=foreign key, definition=FOREIGN KEY (pid) REFERENCES p(id) ON DELETE SET NULL",
        "ALTER TABLE c DROP CONSTRAINT fk_c; ALTER TABLE c ADD CONSTRAINT fk_c FOREIGN KEY (pid) REFERENCES p ON DELETE CASCADE",
    ),
    (
        "index",
        "CREATE TABLE t (id int, name text); CREATE INDEX ix_t ON t (id)",
        "DROP INDEX ix_t; CREATE INDEX ix_t ON t (name)",
        "index ix_t changed",
        "DROP INDEX ix_t; CREATE INDEX ix_t ON t (id)",
    ),
    (
        "enum labels",
        "CREATE TYPE mood AS ENUM ('calm', 'angry')",
        "ALTER TYPE mood ADD VALUE 'happy'",
        "enum type mood changed: [calm, angry] -> [calm, angry, happy]",
        "DROP TYPE mood; CREATE TYPE mood AS ENUM ('calm', 'angry')",
    ),
    (
        "sequence",
        "CREATE SEQUENCE s",
        "ALTER SEQUENCE s INCREMENT BY 5",
        "sequence s changed",
        "SELECT nextval('s'); SELECT nextval('s')",
    ),
    (
        "view",
        "CREATE TABLE t (id int); CREATE VIEW v AS SELECT id FROM t",
        "CREATE OR REPLACE VIEW v AS SELECT id, 1 AS one FROM t",
        "view v changed",
        "DROP VIEW v; CREATE VIEW v AS SELECT id FROM t",
    ),
]
RUN_SQL = """
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    for statement in sys.argv[2].split(";"):
        if statement.strip():
            conn.execute(statement)
"""


@pytest.fixture(scope="module")
def database(docker_backend: Any, images: Any) -> Iterator[PgClient]:
    pod = docker_backend.create_pod(new_run_id(), "snapshots")
    try:
        postgres = start_postgres(pod, images.postgres.tag)
        tester = pod.add(ContainerSpec(name="tester", image=images.runtime.tag, user="sandbox"))
        client = PgClient(tester, postgres.superuser_url)
        try:
            yield client
        finally:
            client.close()
    finally:
        pod.close()


def run_sql(probe: PgClient, sql: str) -> None:
    done = probe.tester.exec([TESTER_PYTHON, "-c", RUN_SQL, probe.url, sql], timeout=60)
    assert done.ok, done.err


@pytest.mark.parametrize(("kind", "setup", "change", "expected", "same"), CASES, ids=[c[0] for c in CASES])
def test_snapshot_diff_on_postgres(
    database: PgClient, kind: str, setup: str, change: str, expected: str, same: str
) -> None:
    name = "snap_" + uuid.uuid4().hex[:8]
    database.create_database(name)
    probe = database.on(name)
    run_sql(probe, setup)
    before = probe.snapshot()
    run_sql(probe, same)
    assert diff(before, probe.snapshot()) == [], f"{kind}: an equivalent schema must not differ"
    run_sql(probe, change)
    lines = diff(before, probe.snapshot())
    assert any(expected in line for line in lines), (kind, lines)


def test_seeded_rows_stress_types_and_give_way_to_checks(database: PgClient) -> None:
    name = "seed_" + uuid.uuid4().hex[:8]
    database.create_database(name)
    probe = database.on(name)
    run_sql(
        probe,
        "CREATE TABLE t (id serial PRIMARY KEY, name varchar(50) NOT NULL, note text, "
        "price numeric(6,2) NOT NULL CHECK (price >= 0), qty int NOT NULL CHECK (qty > 0))",
    )
    seeded = probe.seed(3, 300)  # variants 0, 1, 2: far end, other end (refused by the checks), NULLs
    assert seeded["skipped"] == {}
    far, other, nulls = seeded["written"]["t"]
    assert len(far["name"]) == 50 and far["price"] == "9996.99" and far["qty"] == 2**31 - 1 - 300
    assert "🙂" in other["name"] and other["price"] == "311.00" and other["qty"] == 1301
    assert nulls["note"] is None and len(far["note"]) == 300


def crucible(*args: str, reports: Path) -> subprocess.CompletedProcess[str]:
    return run_crucible(*args, reports=reports)


def migrations_of(reports: Path) -> dict[str, Any]:
    record = json.loads(next((reports / "latest" / "samples").glob("*/record.json")).read_text())
    return dict(record["migrations"])


def test_only_migrations_on_a_six_revision_project(tmp_path: Path, images: Any) -> None:
    result = crucible("score", "--only", "migrations", str(SHOP), reports=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "score 1.00; all checks pass" in result.stdout
    report = migrations_of(tmp_path)
    assert [r["revision"] for r in report["revisions"]] == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert report["heads"] == ["r6"] and report["upgrade_from_empty"] and report["base_clean"]
    assert all(r["seeded_rows"] > 0 for r in report["revisions"][1:])
    assert report["runtime_changes"] is None  # the app was not run


def test_lossy_data_migration_is_caught(tmp_path: Path, images: Any) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    (shop / "migrations" / "versions" / "r6_rename_email.py").write_text(
        '"""replace email by contact_email (losing the data on the way back)"""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        'revision, down_revision, branch_labels, depends_on = "r6", "r5", None, None\n\n\n'
        "def upgrade() -> None:\n"
        '    op.alter_column("customers", "email", new_column_name="contact_email")\n\n\n'
        "def downgrade() -> None:\n"
        '    op.drop_column("customers", "contact_email")\n'
        '    op.add_column("customers", sa.Column("email", sa.String(200), nullable=True))\n'
    )
    result = crucible("score", "--only", "migrations", str(shop), reports=tmp_path / "reports")
    assert result.returncode == 3, result.stdout + result.stderr  # a check of the submission fails
    assert (
        "failing: migrations: r6:data" in result.stderr
        and "failing: migrations: r6:downgrade" in result.stderr
    )
    report = migrations_of(tmp_path / "reports")
    last = report["revisions"][-1]
    assert any("customers.email" in line and "not preserved" in line for line in last["data_diff"]), last
    assert any("column customers.email changed" in line for line in last["downgrade_diff"]), last
    assert "r6:data" in result.stdout and "r6:downgrade" in result.stdout


def add_revision(project: Path, name: str, doc: str, upgrade: str, downgrade: str, after: str = "r6") -> None:
    """A revision ``name`` on top of ``after`` in a copy of the shop (bodies indented four spaces)."""
    (project / "migrations" / "versions" / f"{name}.py").write_text(
        f'"""{doc}"""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision, down_revision, branch_labels, depends_on = "{name}", "{after}", None, None\n\n\n'
        f"def upgrade() -> None:\n{upgrade}\n\n\n"
        f"def downgrade() -> None:\n{downgrade}\n"
    )


def test_narrowing_that_truncates_is_caught_as_data(tmp_path: Path, images: Any) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    add_revision(
        shop,
        "r7",
        "names fit in 20 characters (cutting the longer ones)",
        '    op.alter_column("customers", "name", type_=sa.String(20), postgresql_using="left(name, 20)")',
        '    op.alter_column("customers", "name", type_=sa.Text())',
    )
    result = crucible("score", "--only", "migrations", str(shop), reports=tmp_path / "reports")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "failing: migrations: r7:data" in result.stderr and result.stderr.count("failing:") == 1
    report = migrations_of(tmp_path / "reports")
    last = report["revisions"][-1]
    assert last["revision"] == "r7" and not last["downgrade_diff"] and not last["reupgrade_diff"], last
    assert any(
        line.startswith("customers.name: ") and "not preserved (row id=" in line and "(300 chars)" in line
        for line in last["data_diff"]
    ), last
    assert MigrationReport.model_validate(report).failing() == ["r7:data"] and "r7:data" in result.stdout


def test_not_null_column_on_seeded_rows_is_caught_as_upgrade(tmp_path: Path, images: Any) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    add_revision(
        shop,
        "r7",
        "a required tier for every customer (no default)",
        '    op.add_column("customers", sa.Column("tier", sa.String(20), nullable=False))',
        '    op.drop_column("customers", "tier")',
    )
    add_revision(
        shop,
        "r8",
        "an index on the tier",
        '    op.create_index("ix_customers_tier", "customers", ["tier"])',
        '    op.drop_index("ix_customers_tier", table_name="customers")',
        after="r7",
    )
    result = crucible("score", "--only", "migrations", str(shop), reports=tmp_path / "reports")
    assert result.returncode == 3 and "failing: migrations: r7:upgrade" in result.stderr, result.stderr
    report = migrations_of(tmp_path / "reports")
    assert report["upgrade_from_empty"] and report["base_clean"]  # an empty table takes the column
    r7, r8 = report["revisions"][-2:]
    assert r7["revision"] == "r7" and not r7["upgrade_ok"] and r7["seeded_rows"] > 0, r7
    assert "upgrade failed" in r7["error"] and "NotNullViolation" in r7["error"], r7
    assert r8["revision"] == "r8" and not r8["reached"] and r8["error"] == "not reached: stopped at r7"
    assert (
        MigrationReport.model_validate(report).failing() == ["r7:upgrade"] and "r7:upgrade" in result.stdout
    )


def test_only_migrations_needs_no_fixture_but_tests_do(tmp_path: Path) -> None:
    result = crucible("score", str(SHOP), reports=tmp_path)
    assert result.returncode == 2 and "--fixture is required" in result.stderr
    result = crucible("score", "--only", "speed", str(SHOP), reports=tmp_path)
    assert result.returncode == 2 and "--only speed is not a check" in result.stderr


DJANGO = Path(__file__).parents[1] / "data" / "django_notes"


def test_django_project_round_trips(tmp_path: Path, images: Any) -> None:
    result = crucible("score", "--only", "migrations", str(DJANGO), reports=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = migrations_of(tmp_path)
    assert report["tool"] == "django" and report["single_head"] and report["base_clean"]
    assert [r["revision"] for r in report["revisions"]] == [
        "notes.0001_initial",
        "notes.0002_slug",
        "notes.0003_index",
    ]
    assert all(not r["error"] and not r["downgrade_diff"] for r in report["revisions"])
    assert report["revisions"][1]["seeded_rows"] == 3
    assert "score 1.00; all checks pass" in result.stdout


def test_django_irreversible_operation_is_caught(tmp_path: Path, images: Any) -> None:
    project = tmp_path / "notes"
    shutil.copytree(DJANGO, project)
    migration = project / "notes" / "migrations" / "0002_slug.py"
    migration.write_text(migration.read_text().replace(", reverse_code=migrations.RunPython.noop", ""))
    result = crucible("score", "--only", "migrations", str(project), reports=tmp_path / "reports")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "failing: migrations: notes.0002_slug:downgrade" in result.stderr
    report = migrations_of(tmp_path / "reports")
    second = report["revisions"][1]
    assert second["revision"] == "notes.0002_slug" and "IrreversibleError" in second["error"]
    assert report["revisions"][2]["error"] == "not reached: stopped at notes.0002_slug"
    assert not report["base_clean"]
    assert "notes.0002_slug:downgrade" in result.stdout and "base_clean" in result.stdout


def test_only_migrations_exits_3_naming_an_enum_left_behind_and_0_on_the_reference(
    tmp_path: Path, images: Any
) -> None:
    from harness.fixtures import find_fixture

    fixture = find_fixture(Path(__file__).parents[2], "jwt-auth")
    (mutant,) = [m for m in fixture.mutants() if m.name == "downgrade-leaves-enum"]
    workspace = mutant.materialise(fixture.reference, tmp_path / "workspace")
    left = crucible("score", "--only", "migrations", str(workspace), reports=tmp_path / "mutant")
    assert left.returncode == 3, left.stdout + left.stderr
    named = {
        line.removeprefix("failing: migrations: ") for line in left.stderr.splitlines() if "failing:" in line
    }
    assert named == {"a1f3c0de0001:downgrade", "a1f3c0de0001:reupgrade", "base_clean"}, left.stderr
    clean = crucible("score", "--only", "migrations", str(fixture.reference), reports=tmp_path / "reference")
    assert clean.returncode == 0 and "failing:" not in clean.stderr, clean.stdout + clean.stderr
