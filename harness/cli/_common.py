"""What every command module shares: the consoles, the config of the invocation, engines with their
images, a list option's values. Command modules import this; it imports none of them."""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from harness.config import CrucibleConfig, EvalSettings
from harness.errors import UserError

if TYPE_CHECKING:
    from harness.pipeline.engine import Engine
    from harness.report.gate import GateSpec

# Redirected output (CI logs, files) gets wide tables, so that test names and reasons are not cut.
_PIPE_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
out = Console(soft_wrap=True, width=_PIPE_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_PIPE_WIDTH)


def config_of(ctx: typer.Context) -> CrucibleConfig:
    """The configuration the root callback loaded for this invocation."""
    config = ctx.obj
    assert isinstance(config, CrucibleConfig)
    return config


def split(values: list[str] | None) -> list[str]:
    """A repeatable, comma-separated option's values: `-v a,b -v c` -> a, b, c."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


HEARTBEAT_S = 20.0  # well inside the 30 s a log may stay silent (the beat is checked each second)


class Live:
    """The progress of one long step. On a terminal: rich's status line, redrawn in place. Anywhere else
    (a CI log, a pipe): each new line once, after the seconds since the step began and its name, and a
    heartbeat whenever ``heartbeat_s`` pass without a line, so that a log is never silent for long."""

    def __init__(self, label: str, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.label, self.heartbeat_s = label, heartbeat_s
        self.started = self.printed = time.monotonic()
        self.last = ""
        self.lock, self.done = threading.Lock(), threading.Event()
        self.status: Any = None
        self.beat: threading.Thread | None = None

    def __enter__(self) -> Live:
        if err.is_terminal:
            self.status = err.status(self.label)
            self.status.__enter__()
        else:
            self._print("started")
            self.beat = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
            self.beat.start()
        return self

    def update(self, line: str) -> None:
        if self.status is not None:
            self.status.update(f"{self.label}: {line[:120]}")
            return
        with self.lock:
            if line != self.last:
                self.last = line
                self._print(line)

    def _print(self, line: str) -> None:
        self.printed = time.monotonic()
        err.print(
            f"[{self.printed - self.started:5.0f}s] {self.label}: {line}", highlight=False, markup=False
        )

    def _heartbeat(self) -> None:
        while not self.done.wait(1.0):
            with self.lock:
                if time.monotonic() - self.printed >= self.heartbeat_s:
                    self._print(f"still working ({self.last or 'started'})")

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.done.set()
        if self.beat is not None:
            self.beat.join(timeout=2)
        if self.status is not None:
            self.status.__exit__(kind, value, trace)


def _images_ready(live: Live, engines: list[Engine]) -> None:
    for engine in engines:
        for image in engine.images.records():
            how = "reused" if image.reused else f"built ({image.how})"
            live.update(f"{image.role} image {how} in {image.seconds:.1f} s: {image.tag}")


def start_engine(config: CrucibleConfig, show: bool = False) -> Engine:
    """The default engine with every image ready on it (images built or reused, shown as they go;
    with ``show``, also in a log: a line for each image)."""
    from harness.pipeline.engine import Engine

    if show:
        with Live("images") as live:
            engine = Engine.start(config, live.update)
            _images_ready(live, [engine])
            return engine
    with err.status("images") as status:
        return Engine.start(config, lambda line: status.update(f"images: {line[:100]}"))


def start_engines(config: CrucibleConfig) -> list[Engine]:
    """Every configured engine, each with its images ready (a line for each image in a log)."""
    from harness.pipeline.engine import Engine

    with Live("images") as live:
        engines = Engine.start_all(config, live.update)
        _images_ready(live, engines)
        return engines


def gate_spec(evals: EvalSettings, margin: float | None, mode: str | None, allow_partial: bool) -> GateSpec:
    """The gate the command line asks for, over the project's evals settings; a mode that is not one
    of the two is bad input."""
    from harness.report.gate import MODES, GateSpec

    chosen = mode or evals.mode
    if chosen not in MODES:
        raise UserError(f"--mode {chosen} is unknown", f"use one of: {', '.join(MODES)}")
    return GateSpec(
        margin=margin or evals.margin,
        mode=chosen,  # type: ignore[arg-type]
        allow_partial=allow_partial or evals.allow_partial,
    )
