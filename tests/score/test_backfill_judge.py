"""Backfill queries judged against their declared rows, and which columns count as kept (no Docker)."""

from harness.fixtures import BackfillCheck
from harness.score.migrations.backfill import _judge, _kept_columns
from harness.score.migrations.snapshot import Snapshot

CHECK = BackfillCheck(
    name="names_split", sql="SELECT 1", expect='[[1, "Ada", "Lovelace"], [3, "Prince", null]]'
)


def test_exact_rows_pass() -> None:
    assert _judge(CHECK, {"rows": [[1, "Ada", "Lovelace"], [3, "Prince", None]]}).ok


def test_wrong_rows_are_shown_with_what_was_expected() -> None:
    result = _judge(CHECK, {"rows": [[1, "Ada", "Lovelace"], [3, "Prince", ""]]})
    assert not result.ok
    assert result.detail == "row 2: [3, 'Prince', ''] (expected [3, 'Prince', None])"


def test_missing_rows_and_query_errors_fail() -> None:
    short = _judge(CHECK, {"rows": [[1, "Ada", "Lovelace"]]})
    assert not short.ok and short.detail.startswith("1 rows (expected 2)")
    broken = _judge(CHECK, {"error": 'column "given_name" does not exist'})
    assert not broken.ok and "does not exist" in broken.detail


def test_kept_columns_keep_name_and_type() -> None:
    before = Snapshot(
        tables={
            "contacts": {
                "id": {"type": "integer"},
                "full_name": {"type": "character varying(200)"},
                "phone": {"type": "character varying(40)"},
            }
        }
    )
    after = Snapshot(
        tables={
            "contacts": {
                "id": {"type": "integer"},
                "given_name": {"type": "character varying(100)"},
                "phone": {"type": "text"},
            }
        }
    )
    assert _kept_columns(before, after) == {"contacts": ["id"]}
