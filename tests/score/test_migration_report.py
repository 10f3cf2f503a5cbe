"""Snapshot differences and the migration score, on recorded values (no Docker)."""

from harness.records.migrations import MigrationReport, RevisionCheck
from harness.score.migrations.snapshot import Snapshot, diff

BASE = Snapshot(
    tables={"users": {"id": {"type": "uuid", "nullable": False, "default": None}}},
    constraints={"users.users_pkey": {"kind": "primary key", "definition": "PRIMARY KEY (id)"}},
    indexes={
        "users_pkey": {"table": "users", "definition": "CREATE UNIQUE INDEX users_pkey ON public.users"}
    },
    enums={"user_role": ["user", "admin"]},
)


def test_equal_snapshots_have_no_difference() -> None:
    assert diff(BASE, Snapshot.model_validate(BASE.model_dump())) == []


def test_differences_read_as_sentences() -> None:
    after = BASE.model_copy(
        update={
            "tables": {**BASE.tables, "audit": {}},
            "enums": {"user_role": ["user", "admin", "owner"]},
            "indexes": {},
        }
    )
    assert diff(BASE, after) == [
        "table audit left behind",
        "index users_pkey missing",
        "enum type user_role changed: [user, admin] -> [user, admin, owner]",
    ]


def test_column_changes_name_table_and_column() -> None:
    after = BASE.model_copy(
        update={"tables": {"users": {"id": {"type": "text", "nullable": False, "default": None}}}}
    )
    assert diff(BASE, after) == [
        "column users.id changed: type=uuid, nullable=False, default=None -> type=text, nullable=False, default=None"
    ]


def test_version_tables_do_not_count() -> None:
    versioned = BASE.model_copy(
        update={
            "tables": {**BASE.tables, "alembic_version": {"version_num": {"type": "varchar"}}},
            "constraints": {
                **BASE.constraints,
                "alembic_version.alembic_version_pkc": {"kind": "primary key"},
            },
        }
    )
    assert diff(BASE, versioned.without_version_tables()) == []
    assert Snapshot(tables={"alembic_version": {}}).is_empty() and not BASE.is_empty()


def check(revision: str, **fields: object) -> RevisionCheck:
    defaults: dict[str, object] = {"upgrade_ok": True, "downgrade_ok": True, "reupgrade_ok": True}
    return RevisionCheck.model_validate({"revision": revision, **defaults, **fields})


def test_perfect_history_scores_one() -> None:
    report = MigrationReport(
        tool="alembic",
        heads=["b"],
        single_head=True,
        upgrade_from_empty=True,
        base_clean=True,
        revisions=[check("a"), check("b", seeded_rows=3)],
        runtime_changes=[],
    )
    assert report.score() == 1.0 and report.failing() == []


def test_each_failure_is_named_and_costs_points() -> None:
    report = MigrationReport(
        tool="alembic",
        heads=["b", "c"],
        single_head=False,
        upgrade_from_empty=True,
        base_clean=False,
        revisions=[
            check("a", downgrade_diff=["enum type user_role left behind"], reupgrade_ok=False, error="boom"),
            check("b", seeded_rows=3, data_diff=["users.name: 3 of 3 values not preserved"]),
        ],
        runtime_changes=["table audit created by the running app"],
    )
    assert report.failing() == [
        "single_head",
        "a:downgrade",
        "a:reupgrade",
        "b:data",
        "base_clean",
        "schema_from_migrations",
    ]
    # a: 0/2, b: 2/3 -> mean 1/3; x0.5 heads, x0.8 base, x0.5 runtime
    assert report.score() == round((0 + 2 / 3) / 2 * 0.5 * 0.8 * 0.5, 4)


def test_no_upgrade_from_empty_scores_zero() -> None:
    report = MigrationReport(
        tool="alembic",
        heads=["a"],
        single_head=True,
        upgrade_from_empty=False,
        revisions=[check("a", upgrade_ok=False, error="upgrade failed")],
    )
    assert report.score() == 0.0 and report.failing() == ["upgrade_from_empty"]


def test_data_counts_only_when_rows_were_seeded() -> None:
    assert check("a").score() == 1.0
    assert check("a", seeded_rows=0, data_diff=["x"]).score() == 1.0
    assert check("a", seeded_rows=2, data_diff=["x"]).score() == 2 / 3


def test_version_tables_own_sequences_do_not_count() -> None:
    django = Snapshot(
        tables={"django_migrations": {}},
        sequences={"django_migrations_id_seq": "bigint", "invoice_seq": "bigint"},
    )
    assert django.without_version_tables().sequences == {"invoice_seq": "bigint"}


def test_backfill_checks_are_named_and_weigh_half() -> None:
    from harness.records.migrations import BackfillCheckResult, BackfillReport

    backfill = BackfillReport(
        base_revision="b",
        seeded_rows=19,
        upgrade_ok=True,
        checks=[
            BackfillCheckResult(name="names_split", ok=False, detail="row 2: ..."),
            BackfillCheckResult(name="full_name_dropped", ok=True),
        ],
        downgrade_ok=True,
        data_diff=["contacts.full_name: 3 of 16 values not preserved"],
    )
    report = MigrationReport(
        tool="alembic",
        heads=["c"],
        single_head=True,
        upgrade_from_empty=True,
        base_clean=True,
        revisions=[check("a"), check("b")],
        runtime_changes=[],
        backfill=backfill,
    )
    assert report.failing() == ["backfill:names_split", "backfill:data"]
    # upgrade, full_name_dropped, preserved, downgrade pass; names_split, data fail -> 4/6
    assert backfill.score() == 4 / 6
    assert report.score() == round((1.0 + 4 / 6) / 2, 4)


def test_a_backfill_that_cannot_upgrade_fails_every_check_after_it() -> None:
    from harness.records.migrations import BackfillCheckResult, BackfillReport

    stopped = BackfillReport(
        base_revision="b",
        error="upgrade to head failed: NotNullViolation",
        checks=[BackfillCheckResult(name="names_split", ok=True)],
    )
    assert [name for name, ok in stopped.results().items() if not ok] == [
        "backfill:upgrade",
        "backfill:names_split",
        "backfill:preserved",
        "backfill:downgrade",
        "backfill:data",
    ]
    assert stopped.score() == 0.0
