"""Progress in a log: with stderr not a terminal, each new line is printed once with the step's name
and its seconds, and a heartbeat keeps a long step from looking hung (no Docker)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from harness.execute.local import Tally, outcome
from harness.records import SampleStatus
from tests.execute.test_until_decided import scored, setting

SCRIPT = """
import time
from harness.cli._common import Live
with Live("run", heartbeat_s=1.0) as live:
    live.update("a sample started")
    live.update("a sample started")
    time.sleep(2.6)
    live.update("a sample done")
"""


def test_a_pipe_gets_each_line_once_and_a_heartbeat_when_nothing_happens() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert all(re.fullmatch(r"\[\s*\d+s\] run: .+", line) for line in lines), lines
    said = [line.split("run: ", 1)[1] for line in lines]
    assert said[0] == "started" and said.count("a sample started") == 1 and said[-1] == "a sample done"
    assert "still working (a sample started)" in said, said


def test_the_tally_says_when_each_sample_starts_and_how_it_ended(tmp_path: Path) -> None:
    cells, _, _ = setting(tmp_path, max_epochs=1)
    heard: list[str] = []
    tally = Tally(len(cells), heard.append)
    tally.stage(cells[0], "generating")
    tally.stage(cells[0], "evaluating")
    record = scored(cells[0], 17).model_copy(update={"seconds": {"generate": 30.0, "tests": 12.0}})
    tally.done(cells[0], record)
    assert heard[0] == f"{cells[0].sample_id} started"
    assert sum("started" in line for line in heard) == 1
    assert f"{cells[0].sample_id} done: ok, tests 17/20, migrations 0.00, security 1.00, 42 s" in heard
    assert heard[-1].endswith(f"done 1/{len(cells)} (1 ok)")
    failed = record.model_copy(update={"status": SampleStatus.MODEL_FAILURE, "reason": "no service.toml"})
    assert outcome(failed).endswith("42 s (no service.toml)")
