"""The run store: ``reports/runs/<run_id>/...``, every file written atomically, ``reports/latest``
pointing at the newest run, and the one run lifecycle: :meth:`RunStore.start` opens a run
(``running``), :meth:`RunDir.mark` records how it ended (``complete``, ``interrupted`` or ``failed``),
:meth:`RunDir.lifecycle` does both around a block of work."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from harness import __version__
from harness._util.fs import atomic_symlink, atomic_write_bytes
from harness.errors import StoreError
from harness.records import Grid, Record, RunManifest, RunStatus, utc_now

R = TypeVar("R", bound=Record)


def new_run_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


class RunDir:
    """One run's directory; every path handed in is relative to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run_id = path.name

    def _resolve(self, relpath: str) -> Path:
        target = (self.path / relpath).resolve()
        if not target.is_relative_to(self.path.resolve()):
            raise StoreError(f"refusing to write outside run {self.run_id}: {relpath}", "use a relative path")
        return target

    def write_bytes(self, relpath: str, data: bytes) -> Path:
        target = self._resolve(relpath)
        atomic_write_bytes(target, data)
        return target

    def write_text(self, relpath: str, text: str) -> Path:
        return self.write_bytes(relpath, text.encode())

    def write_record(self, relpath: str, record: Record) -> Path:
        return self.write_bytes(relpath, record.model_dump_json(indent=2).encode() + b"\n")

    def read_record(self, relpath: str, model: type[R]) -> R:
        target = self._resolve(relpath)
        try:
            return model.model_validate_json(target.read_bytes())
        except FileNotFoundError as exc:
            raise StoreError(f"{target} does not exist", "check the run id and the sample id") from exc
        except ValidationError as exc:
            raise StoreError(
                f"{target}: not a valid {model.__name__} ({exc.errors()[0]['msg']})",
                "re-score the sample with this version of Crucible",
            ) from exc

    def remove_partial_writes(self) -> int:
        """Delete the temporary files of writes a killed process never finished (never valid data)."""
        partial = [p for p in self.path.rglob(".*.tmp") if p.is_file()]
        for path in partial:
            path.unlink(missing_ok=True)
        return len(partial)

    def exists(self, relpath: str) -> bool:
        return self._resolve(relpath).exists()

    @property
    def manifest(self) -> RunManifest:
        return self.read_record("run.json", RunManifest)

    def mark(self, status: RunStatus) -> RunManifest:
        """Record the run's status; any status but ``running`` also stamps when the run finished."""
        finished = None if status is RunStatus.RUNNING else utc_now()
        manifest = self.manifest.model_copy(update={"status": status, "finished_at": finished})
        self.write_record("run.json", manifest)
        return manifest

    @contextlib.contextmanager
    def lifecycle(self) -> Iterator[RunOutcome]:
        """Mark the run ``running``; when the block ends, ``complete`` (or ``failed`` when the block set
        ``outcome.failed``), ``interrupted`` on Ctrl-C, ``failed`` on any other exception."""
        outcome = RunOutcome()
        self.mark(RunStatus.RUNNING)
        try:
            yield outcome
        except KeyboardInterrupt:
            self.mark(RunStatus.INTERRUPTED)
            raise
        except BaseException:
            self.mark(RunStatus.FAILED)
            raise
        self.mark(RunStatus.FAILED if outcome.failed else RunStatus.COMPLETE)


@dataclass
class RunOutcome:
    """Set ``failed`` inside :meth:`RunDir.lifecycle` when the work ran to its end but did not pass."""

    failed: bool = False


class RunStore:
    """All runs below ``<reports>/runs``; ``<reports>/latest`` is a relative symlink to the newest."""

    def __init__(self, reports_dir: Path) -> None:
        self.root = reports_dir
        self.runs = reports_dir / "runs"

    def start(
        self,
        kind: str,
        *,
        settings: dict[str, Any] | None = None,
        grid: Grid | None = None,
        note: str = "",
        run_id: str | None = None,
    ) -> RunDir:
        """A new run of ``kind`` (score, run, fixtures-check, pytest, smoke), marked ``running``."""
        manifest = RunManifest(
            run_id=run_id or new_run_id(),
            kind=kind,
            crucible_version=__version__,
            config=settings or {},
            grid=grid,
            note=note,
        )
        return self.create(manifest)

    def create(self, manifest: RunManifest) -> RunDir:
        path = self.runs / manifest.run_id
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError as exc:
            raise StoreError(
                f"run {manifest.run_id} already exists in {self.runs}", "use a new run id"
            ) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot create {path}: {exc.strerror}", "fix permissions of the reports dir"
            ) from exc
        run = RunDir(path)
        run.write_record("run.json", manifest)
        self.point_latest(manifest.run_id)
        return run

    def open(self, run_id: str) -> RunDir:
        if run_id == "latest":
            found = self.latest()
            if found is None:
                raise StoreError(f"no runs in {self.runs}", "start one first")
            return found
        path = self.runs / run_id
        if not (path / "run.json").is_file():
            raise StoreError(f"no run {run_id!r} in {self.runs}", "list runs with `ls reports/runs`")
        return RunDir(path)

    def latest(self) -> RunDir | None:
        link = self.root / "latest"
        if not link.is_symlink() and not link.exists():
            return None
        path = link.resolve()
        return RunDir(path) if (path / "run.json").is_file() else None

    def run_ids(self) -> list[str]:
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir() if (p / "run.json").is_file())

    def point_latest(self, run_id: str) -> None:
        atomic_symlink(Path("runs") / run_id, self.root / "latest")
