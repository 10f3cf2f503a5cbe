"""Snapshot differences, row comparisons, seeded values and the migration score, on recorded values
(no Docker)."""

import json
from pathlib import Path

from harness.records.migrations import MigrationReport, RevisionCheck
from harness.score.migrations.inpod import pgseed
from harness.score.migrations.rowdiff import compare_rows
from harness.score.migrations.snapshot import Snapshot, diff
from harness.score.migrations.stairway import compare_base

RECORDED = Path(__file__).parents[1] / "data" / "recorded" / "demo"

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
    assert compare_base(Snapshot(), Snapshot(tables={"alembic_version": {}})) == (True, [])
    assert compare_base(Snapshot(), BASE)[0] is False


def test_an_extension_left_behind_makes_the_base_unclean() -> None:
    assert compare_base(Snapshot(), Snapshot(extensions=["uuid-ossp"])) == (
        False,
        ["extension uuid-ossp left behind"],
    )
    # one the empty database already had is no difference
    assert compare_base(Snapshot(extensions=["citext"]), Snapshot(extensions=["citext"])) == (True, [])


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
    assert report.score() == 0.0 and report.failing() == ["upgrade_from_empty", "a:upgrade"]


def test_an_upgrade_that_fails_on_seeded_rows_is_named_and_the_rest_is_not_reached() -> None:
    error = 'upgrade failed: NotNullViolation: column "rank" of relation "contacts" contains null values'
    report = MigrationReport(
        tool="alembic",
        heads=["c"],
        single_head=True,
        upgrade_from_empty=True,
        base_clean=True,
        revisions=[
            check("a"),
            check("b", seeded_rows=6, upgrade_ok=False, downgrade_ok=False, reupgrade_ok=False, error=error),
            RevisionCheck(revision="c", reached=False, error="not reached: stopped at b"),
        ],
        runtime_changes=[],
    )
    assert report.failing() == ["b:upgrade"]
    assert report.revisions[1].error == error
    # b failed and c was never verified: both score 0 in the mean
    assert report.score() == round(1 / 3, 4)


def test_records_from_before_reached_existed_still_read_not_reached() -> None:
    record = json.loads((RECORDED / "backend-engineer.jwt-auth.json").read_text())
    report = MigrationReport.model_validate(record["migrations"])
    assert [c.reached for c in report.revisions] == [True, False]
    assert report.failing() == ["a1f3c0de0001:downgrade", "a1f3c0de0001:reupgrade", "base_clean"]


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


CONTACTS_BEFORE = [
    {"id": 101, "full_name": "Ana María Ñúñez", "email": "a@x"},
    {"id": 102, "full_name": "Bob", "email": "b@x"},
    {"id": 103, "full_name": "Zoë", "email": "c@x"},
]


def test_row_diffs_pair_values_of_the_same_row_by_primary_key() -> None:
    after = [
        {"id": 103, "full_name": "Zoë", "email": "c@x"},
        {"id": 101, "full_name": "Ana María", "email": "a@x"},
        {"id": 102, "full_name": "Bob", "email": "b@x"},
    ]
    lines = compare_rows({"contacts": CONTACTS_BEFORE}, {"contacts": after}, {"contacts": ["id"]})
    assert lines == [
        "contacts.full_name: 1 of 3 values not preserved (row id=101: 'Ana María Ñúñez' -> 'Ana María')"
    ]


def test_without_a_key_rows_pair_by_the_columns_that_kept_their_values() -> None:
    before = [{"email": r["email"], "name": r["full_name"]} for r in CONTACTS_BEFORE]
    after = [{**before[2], "name": "Zoe"}, before[0], before[1]]
    assert compare_rows({"people": before}, {"people": after}) == [
        "people.name: 1 of 3 values not preserved (row email='c@x': 'Zoë' -> 'Zoe')"
    ]
    # values moved between rows: each column's multiset is unchanged, the rows are not
    swapped = [{**before[0], "name": "Bob"}, {**before[1], "name": "Ana María Ñúñez"}, before[2]]
    assert compare_rows({"people": before}, {"people": swapped}) == [
        "people.name: 2 of 3 values not preserved (row email='a@x': 'Ana María Ñúñez' -> 'Bob')"
    ]


def test_rows_that_cannot_be_paired_are_compared_as_multisets() -> None:
    before = [{"tag": "x"}, {"tag": "y"}, {"tag": "y"}]
    assert compare_rows({"tags": before}, {"tags": [{"tag": "y"}, {"tag": "x"}, {"tag": "y"}]}) == []
    assert compare_rows({"tags": before}, {"tags": [{"tag": "y"}, {"tag": "x"}, {"tag": "z"}]}) == [
        "tags.tag: 1 of 3 values not preserved (e.g. 'y' gone, 'z' new; no key pairs the rows)"
    ]


def test_long_values_are_cut_where_they_part() -> None:
    name = "s201-" + "Ñúñez 東京 🙂 " * 20
    lines = compare_rows(
        {"t": [{"id": 1, "n": name[:200]}]}, {"t": [{"id": 1, "n": name[:20]}]}, {"t": ["id"]}
    )
    assert lines == [
        f"t.n: 1 of 1 values not preserved (row id=1: '{name[:24]}…' (200 chars) -> '{name[:20]}')"
    ]
    narrowed = name[:100] + "x"
    lines = compare_rows(
        {"t": [{"id": 1, "n": name[:101]}]}, {"t": [{"id": 1, "n": narrowed}]}, {"t": ["id"]}
    )
    assert f"'…{name[92:101]}' (101 chars) -> '…{narrowed[92:]}' (101 chars)" in lines[0]


def test_deleted_and_unreadable_rows_are_reported() -> None:
    assert compare_rows({"contacts": CONTACTS_BEFORE}, {"contacts": CONTACTS_BEFORE[:1]}) == [
        "contacts: 2 of 3 rows deleted by the round trip"
    ]
    assert compare_rows({"contacts": CONTACTS_BEFORE}, {"contacts": {"error": "no such column"}}) == [
        "rows of contacts cannot be read after the round trip: no such column"
    ]


def test_seeded_values_stress_each_type() -> None:
    enums = {"mood": ["calm", "angry"]}

    def values(kind: str, column: str = "c") -> list[object]:
        return [pgseed.stressed(kind, enums, index, column, utf8=True) for index in (300, 301, 302)]

    longest, other, null = values("character varying(200)")
    assert len(longest) == 200 and longest.count(" ") == 1 and longest == longest.strip()
    assert "🙂" in str(other) and null is None
    assert len(values("text")[0]) == pgseed.LONG_TEXT
    email = values("character varying(320)", "email")[0]
    assert len(email) == 320 and email.endswith("@seed.example.com")
    # every digit of precision and scale, distinct per row
    assert [str(v) for v in values("numeric(10,2)")[:2]] == ["99999996.99", "-301.01"]
    assert values("integer")[:2] == [2**31 - 1 - 300, -(2**31) + 301]
    assert values("boolean")[:2] == [True, False]
    stamp = values("timestamp with time zone")[0]
    assert stamp.microsecond == 999999 and stamp.utcoffset() is not None
    assert values("timestamp without time zone")[1].tzinfo is None
    assert pgseed.stressed("character varying(5)", enums, 300, "c", utf8=True) is None  # too narrow
    assert pgseed.stressed("integer[]", enums, 300, "c", utf8=True) is None
    assert "🙂" not in str(pgseed.stressed("text", enums, 301, "c", utf8=False))
