"""Typed records that cross a stage or a process boundary, each stored as JSON with a schema version.

The scorers' results live in the modules beside this one (``tests``, ``migrations``, ``security``,
``generation``), so that every stage can read a sample's record without importing another stage."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.records.generation import AgentOutcome
from harness.records.migrations import MigrationReport
from harness.records.security import SecurityReport
from harness.records.tests import SuiteScore


def utc_now() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    """Base of every on-disk record. Bump ``SCHEMA_VERSION`` on any incompatible change."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    SCHEMA_VERSION: ClassVar[int] = 1
    schema_version: int = Field(default=0, validate_default=True)

    @field_validator("schema_version", mode="before")
    @classmethod
    def _stamp_version(cls, value: Any) -> int:
        if value in (0, None):
            return cls.SCHEMA_VERSION
        if value != cls.SCHEMA_VERSION:
            raise ValueError(
                f"{cls.__name__} has schema_version {value}, this Crucible reads {cls.SCHEMA_VERSION}"
            )
        return int(value)


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


# the reason of a cell that `crucible run --max-dollars` kept from starting
BUDGET_ENDED = "not started: the run's spend reached --max-dollars"


class SampleStatus(enum.StrEnum):
    """How a sample ended. Only ``ok`` and ``model_failure`` count in scores."""

    OK = "ok"
    MODEL_FAILURE = "model_failure"
    INFRA_FAILURE = "infra_failure"


class Check(enum.StrEnum):
    """The kinds of check an evaluation can run; a mutant's `[expect]` names failures by kind."""

    TESTS = "tests"
    MIGRATIONS = "migrations"
    SECURITY = "security"


ALL_CHECKS: frozenset[Check] = frozenset(Check)


class Stage(enum.StrEnum):
    """The step of a sample at which it failed, when it did."""

    GENERATE = "generate"
    WORKSPACE = "workspace"
    BUILD = "build"
    MIGRATE = "migrate"
    START = "start"
    TESTS = "tests"


class Grid(BaseModel):
    """What `crucible run` (or a pytest session) was asked to run: variants x fixtures x epochs."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    variants: list[str] = Field(default_factory=list, description="variant specs, PATH or PATH@REV")
    fixtures: list[str] = Field(default_factory=list)
    epochs: int = Field(1, ge=1)
    provider: str | None = None
    runtimes: list[str] = Field(default_factory=lambda: ["loop"], description="loop, claude-code")


class RunManifest(Record):
    run_id: str
    kind: str = Field(description="what made the run: smoke, score, run")
    created_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    status: RunStatus = RunStatus.RUNNING
    crucible_version: str
    config: dict[str, Any] = Field(default_factory=dict, description="the settings the run used")
    grid: Grid | None = None
    note: str = ""


class ImageRecord(Record):
    """One built or reused image, as ``crucible images build`` reports it."""

    role: str
    tag: str
    key: str
    image_id: str
    reused: bool
    seconds: float
    how: str = Field(description="reused | pulled | debootstrap | dockerfile")


class SmokeRecord(Record):
    """The outcome of the smoke pod: PostgreSQL plus a Python process talking to it."""

    run_id: str
    backend: str
    ok: bool
    postgres_version: str = ""
    rows_round_tripped: int = 0
    seconds: dict[str, float] = Field(default_factory=dict)
    reason: str = ""


class PodSummary(Record):
    """How an eval pod ended (`pod.json` beside the sample's artifacts); rescore reads it back."""

    failure: str = Field("", description="why the workspace failed in the pod; empty when it did not")
    failed_stage: Stage | None = None
    seconds: dict[str, float] = Field(default_factory=dict)


class Reuse(BaseModel):
    """Where a reused sample was generated, and whether its evaluation was reused too."""

    model_config = ConfigDict(frozen=True)
    run_id: str = Field(description="the run that generated the sample")
    sample_id: str
    evaluation: bool = Field(description="true: the earlier scores too; false: evaluated again here")


class SampleRecord(Record):
    """One workspace evaluated against one fixture (from one variant and epoch, when generated)."""

    run_id: str
    sample_id: str
    fixture_id: str
    variant: str | None = None
    epoch: int = 1
    checks: list[Check] = Field(default_factory=lambda: sorted(ALL_CHECKS))
    workspace_digest: str = ""
    status: SampleStatus
    reason: str = ""
    failed_stage: Stage | None = Field(None, description="where a failed sample stopped")
    attempts: int = 1
    retries: list[str] = Field(
        default_factory=list, description="why earlier attempts were abandoned (infrastructure), oldest first"
    )
    app_image: str = ""
    engine: str = Field(default="", description="URL of the engine that ran the sample, when several")
    tests: SuiteScore | None = None
    migrations: MigrationReport | None = None
    security: SecurityReport | None = None
    variant_digest: str = ""
    generation: AgentOutcome | None = None
    generation_key: str = Field("", description="what the agent saw; equal keys reuse the sample")
    evaluation_key: str = Field("", description="what judged it; equal keys reuse the scores too")
    reused: Reuse | None = Field(None, description="set when an earlier run's sample was reused")
    seconds: dict[str, float] = Field(default_factory=dict)
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None

    def failing(self, check: Check) -> list[str] | None:
        """The names of the failing checks of one kind, as a mutant's `[expect]` names them; None when
        the sample has no results of that kind."""
        results = {Check.TESTS: self.tests, Check.MIGRATIONS: self.migrations, Check.SECURITY: self.security}
        found = results[check]
        return None if found is None else found.failing()
