"""The migration checks of one eval pod, as the pipeline calls them: the existing data of a brownfield
fixture before the app's own `upgrade head`, and the stairway (plus, for a brownfield fixture, the
backfill round trip) on databases of their own."""

from __future__ import annotations

from harness.fixtures import Fixture
from harness.records.migrations import MigrationReport
from harness.sandbox import Container
from harness.score.migrations.backfill import BACKFILL_DB, load_existing, run_backfill
from harness.score.migrations.drivers import DRIVERS
from harness.score.migrations.pgclient import PgClient
from harness.score.migrations.session import Steps, install_stepper
from harness.score.migrations.stairway import run_stairway


def prepare_existing(migrate: Container, app_db: PgClient, tool: str, fixture: Fixture) -> str:
    """Brownfield: the app's database at the starter's revision, holding the existing data; the
    workspace's fault when that fails, else ""."""
    if tool not in DRIVERS:
        return (
            f"service.toml names migrations tool {tool!r}, but the existing data needs the starter's "
            "migration history"
        )
    timeout = fixture.spec.timeouts.migrate_s
    driver = DRIVERS.get(tool)()
    return load_existing(driver, app_db, lambda argv: migrate.exec(argv, timeout=timeout), fixture)


def check_migrations(
    migrate: Container, pg: PgClient, tool: str, fixture: Fixture, app_url_base: str
) -> MigrationReport:
    """The stairway on fresh databases; with the backfill round trip for a brownfield fixture.
    ``app_url_base`` is the app role's URL without a database name. Each database's migration steps
    run in one long-lived process of its own (``session.Steps``), closed before this returns."""
    timeout = fixture.spec.timeouts.migrate_s
    driver = DRIVERS.get(tool)()
    install_stepper(migrate)
    sessions: dict[str, Steps] = {}

    def steps(database: str) -> Steps:
        if database not in sessions:
            env = {"DATABASE_URL": f"{app_url_base}/{database}"}
            sessions[database] = Steps(migrate, env, timeout, f"database {database}")
        return sessions[database]

    try:
        report = run_stairway(driver, pg, steps)
        if fixture.spec.brownfield is None:
            return report
        backfill = run_backfill(driver, pg, steps(BACKFILL_DB), fixture)
        return report.model_copy(update={"backfill": backfill})
    finally:
        for session in sessions.values():
            session.close()
