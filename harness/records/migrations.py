"""The migration report kept with a sample, its named checks and its score.

Named checks (what `MigrationReport.failing()` returns, and what a mutant's `[expect] migrations` lists):
`single_head`, `upgrade_from_empty`, per revision of the stairway `<rev>:upgrade` (the revision cannot
be applied on top of the previous one, with rows seeded in the tables that exist before it; the error
is kept in `RevisionCheck.error`; named beside `upgrade_from_empty` too, which it then locates),
`<rev>:downgrade`, `<rev>:reupgrade` and `<rev>:data`, then `base_clean`, `schema_from_migrations`
and, for brownfield fixtures, `backfill:<check>`. The stairway
stops at the first revision that fails its upgrade, its downgrade or its second upgrade; the revisions
after it are recorded as not reached (`RevisionCheck.reached` false). They are not failures of their
own and are never named: the revision where the stairway stopped names the failure.

Score (in [0, 1]): 0 when the migrations cannot upgrade an empty database to head. Otherwise the mean
over revisions of that revision's round-trip score, the fraction of its checks that pass among
`downgrade` (downgrade succeeds and restores the exact previous schema), `reupgrade` (upgrading again
restores the exact upgraded schema) and `data` (rows present before the round trip are still there,
equal, for the columns that existed before; counted only when rows could be seeded; the seeded values
press on each column's type: longest strings, extreme numbers, non-ASCII text, NULLs). `upgrade` is the
precondition of the round trip rather than one of its fractions: a revision whose upgrade fails scores
0, and so does every revision not reached (nothing of it was verified), so the earlier the stairway
stops, the lower the mean. That mean is then multiplied by 0.5 when the history has more than one head,
by 0.8 when `downgrade base` does not leave the schema of the empty database it started from (in every
catalog category, extensions included; only the version table may remain), and by 0.5 when the running
app changed the schema itself (tables created at start-up instead of by migrations).

Brownfield fixtures add the backfill round trip (existing data at the starter's revision, upgraded to
head, checked, downgraded back): its score is the fraction of its checks that pass among `upgrade`, each
of the fixture's backfill queries, `preserved` (columns that keep name and type keep their values),
`downgrade` (the starter's exact schema is back) and `data` (the starter's rows are back, equal). The
stairway mean and the backfill score then count half each, before the multipliers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

NOT_REACHED = "not reached"


class RevisionCheck(BaseModel):
    model_config = ConfigDict(frozen=True)
    revision: str
    doc: str = ""
    reached: bool = Field(default=True, description="False when the stairway stopped at an earlier revision")
    upgrade_ok: bool = False
    downgrade_ok: bool = False
    downgrade_diff: list[str] = Field(default_factory=list)
    reupgrade_ok: bool = False
    reupgrade_diff: list[str] = Field(default_factory=list)
    seeded_rows: int = 0
    data_diff: list[str] = Field(default_factory=list)
    error: str = ""

    @model_validator(mode="before")
    @classmethod
    def _older_records(cls, data: Any) -> Any:
        """Records written before `reached` existed said so in the error only."""
        legacy = isinstance(data, dict) and "reached" not in data
        if legacy and str(data.get("error", "")).startswith(NOT_REACHED):
            return {**data, "reached": False}
        return data

    @property
    def upgrade_fails(self) -> bool:
        """The stairway got here and this revision's upgrade failed."""
        return self.reached and not self.upgrade_ok

    @property
    def downgrade_restores(self) -> bool:
        return self.downgrade_ok and not self.downgrade_diff

    @property
    def reupgrade_restores(self) -> bool:
        return self.reupgrade_ok and not self.reupgrade_diff

    @property
    def data_checked(self) -> bool:
        return self.seeded_rows > 0 and self.downgrade_ok

    def score(self) -> float:
        """The fraction of `downgrade`, `reupgrade` (and `data`) that pass: 0 when the upgrade failed or
        the revision was not reached."""
        results = [self.downgrade_restores, self.reupgrade_restores]
        if self.data_checked:
            results.append(not self.data_diff)
        return sum(results) / len(results)


class BackfillCheckResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    ok: bool
    detail: str = ""


class BackfillReport(BaseModel):
    """Existing data through the workspace's migrations: seeded at ``base_revision``, upgraded to head,
    checked, downgraded to ``base_revision``."""

    model_config = ConfigDict(frozen=True)
    base_revision: str
    seeded_rows: int = 0
    error: str = Field(default="", description="the round trip stopped here (seed, upgrade or downgrade)")
    upgrade_ok: bool = False
    checks: list[BackfillCheckResult] = Field(default_factory=list)
    preserved_diff: list[str] = Field(default_factory=list)
    downgrade_ok: bool = False
    downgrade_diff: list[str] = Field(default_factory=list)
    data_diff: list[str] = Field(default_factory=list)

    def results(self) -> dict[str, bool]:
        """Every backfill check by name (`backfill:<name>`) and whether it passes."""
        out = {"backfill:upgrade": self.upgrade_ok}
        out.update({f"backfill:{c.name}": self.upgrade_ok and c.ok for c in self.checks})
        out["backfill:preserved"] = self.upgrade_ok and not self.preserved_diff
        out["backfill:downgrade"] = self.downgrade_ok and not self.downgrade_diff
        out["backfill:data"] = self.downgrade_ok and not self.data_diff
        return out

    def score(self) -> float:
        results = self.results()
        return sum(results.values()) / len(results)


class MigrationReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    tool: str
    heads: list[str] = Field(default_factory=list)
    single_head: bool = Field(default=False, description="Alembic: one head; Django: no conflicting leaves")
    upgrade_from_empty: bool = False
    error: str = ""
    revisions: list[RevisionCheck] = Field(default_factory=list)
    base_clean: bool = False
    base_diff: list[str] = Field(default_factory=list)
    runtime_changes: list[str] | None = Field(default=None, description="None when the app was not run")
    backfill: BackfillReport | None = Field(default=None, description="brownfield fixtures only")
    seconds: float = 0.0

    def failing(self) -> list[str]:
        """Names of the checks that fail: `single_head`, `upgrade_from_empty`, `<rev>:upgrade`,
        `<rev>:downgrade`, `<rev>:reupgrade`, `<rev>:data`, `base_clean`, `schema_from_migrations`,
        `backfill:<check>`. A revision whose upgrade fails is named `<rev>:upgrade` only (its round trip
        never ran); the revisions the stairway did not reach are not named at all."""
        names = []
        if not self.single_head:
            names.append("single_head")
        if not self.upgrade_from_empty:
            names.append("upgrade_from_empty")
        for check in self.revisions:
            if check.upgrade_fails:
                names.append(f"{check.revision}:upgrade")
            if check.upgrade_ok and not check.downgrade_restores:
                names.append(f"{check.revision}:downgrade")
            if check.upgrade_ok and not check.reupgrade_restores:
                names.append(f"{check.revision}:reupgrade")
            if check.data_checked and check.data_diff:
                names.append(f"{check.revision}:data")
        if self.upgrade_from_empty and not self.base_clean:
            names.append("base_clean")
        if self.runtime_changes:
            names.append("schema_from_migrations")
        if self.backfill is not None:
            names += [name for name, ok in self.backfill.results().items() if not ok]
        return names

    def score(self) -> float:
        if not self.upgrade_from_empty or not self.revisions:
            return 0.0
        value = sum(check.score() for check in self.revisions) / len(self.revisions)
        if self.backfill is not None:
            value = (value + self.backfill.score()) / 2
        if not self.single_head:
            value *= 0.5
        if not self.base_clean:
            value *= 0.8
        if self.runtime_changes:
            value *= 0.5
        return round(value, 4)
