"""Fixture specs on disk: ``fixtures/<id>/fixture.toml`` and the files beside it, and their mutants."""

from __future__ import annotations

import json
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import ConfigError, UserError

M = TypeVar("M", bound=BaseModel)
REQUIRED_FILES = ("fixture.toml", "spec.md", "openapi.yaml", "tests", "reference")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    build_s: float = 600.0
    migrate_s: float = 120.0
    ready_s: float = 60.0
    tests_s: float = 600.0


class Weights(_Strict):
    tests: float = 1.0
    security: float = 0.0
    migrations: float = 0.0


class Brownfield(_Strict):
    """An existing system to change: ``starter/`` is the project the agent starts from. In every eval the
    starter's migrations run to ``base_revision``, the ``seed`` SQL loads the existing data, and only
    then do the workspace's migrations run to head; ``checks`` (TOML) holds queries whose answers on the
    upgraded data are fixed, the backfill checks."""

    base_revision: str
    seed: str = "seed.sql"
    checks: str = "backfill.toml"


class BackfillCheck(_Strict):
    """A query and the rows it must answer, written as JSON (TOML has no null)."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = ""
    sql: str
    expect: str = Field(description="JSON: a list of rows, each a list of values")

    @field_validator("expect")
    @classmethod
    def _rows(cls, value: str) -> str:
        rows = json.loads(value)
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ValueError("must be a JSON list of rows, each a list")
        return value

    def expected_rows(self) -> list[list[Any]]:
        return list(json.loads(self.expect))


class BackfillChecks(_Strict):
    checks: list[BackfillCheck] = Field(default_factory=list, alias="check")


class FixtureSpec(_Strict):
    id: str
    title: str
    kind: Literal["greenfield", "brownfield"]
    summary: str = ""
    port: int = 8000
    env: dict[str, str] = Field(default_factory=dict)
    timeouts: Timeouts = Timeouts()
    weights: Weights = Weights()
    brownfield: Brownfield | None = None

    @model_validator(mode="after")
    def _brownfield_has_starter(self) -> FixtureSpec:
        if (self.kind == "brownfield") != (self.brownfield is not None):
            raise ValueError("kind 'brownfield' and a [brownfield] section go together")
        return self


class Edit(_Strict):
    file: str
    find: str
    replace: str


class MutantExpectation(_Strict):
    """Where a mutant must be caught. Each list names the checks of that kind that must fail, exactly;
    every check not named must pass. ``status`` (with ``reason_contains``) pins how the sample ends."""

    status: Literal["ok", "model_failure"] | None = None
    reason_contains: str = ""
    tests: list[str] = Field(default_factory=list, description="hidden tests, e.g. test_me.py::test_x")
    migrations: list[str] = Field(default_factory=list, description="e.g. <rev>:downgrade, base_clean")
    security: list[str] = Field(default_factory=list, description="e.g. probe:test_alg_none, static:<rule>")

    def caught_by(self) -> str:
        kinds = [kind for kind in ("tests", "migrations", "security") if getattr(self, kind)]
        return ", ".join(kinds + (["status"] if self.status else []))

    @model_validator(mode="after")
    def _catches_something(self) -> MutantExpectation:
        if self.status != "model_failure" and not (self.tests or self.migrations or self.security):
            raise ValueError("a mutant must name a failing check or expect status model_failure")
        return self


class MutantSpec(_Strict):
    description: str
    expect: MutantExpectation
    edits: list[Edit] = Field(default_factory=list, alias="edit")
    remove: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Mutant:
    name: str
    path: Path
    spec: MutantSpec

    def materialise(self, reference: Path, dest: Path) -> Path:
        """A copy of ``reference`` with this mutant's edits applied, at ``dest``."""
        shutil.copytree(reference, dest, ignore=shutil.ignore_patterns("__pycache__"))
        for extra in sorted(p for p in self.path.rglob("*") if p.is_file() and p.name != "mutant.toml"):
            target = dest / extra.relative_to(self.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(extra, target)
        for name in self.spec.remove:
            (dest / name).unlink()
        for edit in self.spec.edits:
            target = dest / edit.file
            text = target.read_text()
            if text.count(edit.find) != 1:
                raise ConfigError(
                    f"{self.path / 'mutant.toml'}: edit of {edit.file} finds its text "
                    f"{text.count(edit.find)} times",
                    "make `find` match exactly once in the reference",
                )
            target.write_text(text.replace(edit.find, edit.replace))
        return dest


@dataclass(frozen=True)
class Fixture:
    root: Path
    spec: FixtureSpec

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def tests_dir(self) -> Path:
        return self.root / "tests"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @classmethod
    def bare(cls) -> Fixture:
        """No fixture: default settings and no hidden tests (for checks that need none)."""
        return cls(Path("/nonexistent"), FixtureSpec(id="none", title="no fixture", kind="greenfield"))

    def mutants(self) -> list[Mutant]:
        found = []
        for path in sorted((self.root / "mutants").glob("*/mutant.toml")):
            found.append(Mutant(path.parent.name, path.parent, _load(path, MutantSpec)))
        return found

    def task_text(self) -> str:
        return (self.root / "spec.md").read_text()

    @property
    def starter(self) -> Path | None:
        return self.root / "starter" if self.spec.brownfield else None

    def seed_sql(self) -> str:
        assert self.spec.brownfield is not None
        return (self.root / self.spec.brownfield.seed).read_text()

    def backfill_checks(self) -> list[BackfillCheck]:
        assert self.spec.brownfield is not None
        return _load(self.root / self.spec.brownfield.checks, BackfillChecks).checks


def _load(path: Path, model: type[M]) -> M:
    try:
        data = tomllib.loads(path.read_text())
        return model.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})", "correct the syntax") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: field {field!r}: {first['msg']}", "fix that field") from exc


def load_fixture(root: Path) -> Fixture:
    missing = [name for name in REQUIRED_FILES if not (root / name).exists()]
    if missing:
        raise ConfigError(f"fixture {root} lacks {', '.join(missing)}", "add them (see DESIGN: Fixtures)")
    spec = _load(root / "fixture.toml", FixtureSpec)
    if spec.brownfield is not None:
        wanted = ["starter", spec.brownfield.seed, spec.brownfield.checks]
        absent = [name for name in wanted if not (root / name).exists()]
        if absent:
            raise ConfigError(
                f"brownfield fixture {root} lacks {', '.join(absent)}",
                "add the starter project, its seed SQL and the backfill checks",
            )
        _load(root / spec.brownfield.checks, BackfillChecks)
    if spec.id != root.name:
        raise ConfigError(
            f"{root / 'fixture.toml'}: id {spec.id!r} differs from its folder", f"set id = {root.name!r}"
        )
    return Fixture(root, spec)


def fixtures_dir(project_root: Path) -> Path:
    return project_root / "fixtures"


def list_fixtures(project_root: Path) -> list[Fixture]:
    base = fixtures_dir(project_root)
    return [load_fixture(p.parent) for p in sorted(base.glob("*/fixture.toml"))]


def find_fixture(project_root: Path, fixture_id: str) -> Fixture:
    root = fixtures_dir(project_root) / fixture_id
    if not (root / "fixture.toml").is_file():
        known = ", ".join(f.id for f in list_fixtures(project_root)) or "none"
        raise UserError(f"unknown fixture {fixture_id!r}", f"use one of: {known} (`crucible fixtures list`)")
    return load_fixture(root)
