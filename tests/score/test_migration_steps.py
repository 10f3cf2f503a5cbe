"""The migration checks' long-lived processes: the stepper (one per database, in the migrate container)
and the JSON-line channel to it. The protocol is tested on a real subprocess of the local backend (no
Docker); a step that hangs or crashes inside the single process, on the real engine, through the
whole stairway."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from harness.fixtures import Fixture, FixtureSpec, Timeouts
from harness.pipeline.engine import Engine
from harness.pipeline.evaluate import evaluate_workspace
from harness.records import Check, RunManifest
from harness.records.migrations import NOT_REACHED
from harness.sandbox import ContainerSpec, Limits
from harness.sandbox.local_backend import LocalBackend
from harness.score.migrations.channel import Channel, ChannelClosed
from harness.score.migrations.session import CRASHED
from harness.store import RunStore

STEPPER = Path(str(resources.files("harness.score.migrations") / "inpod" / "stepper.py"))
SHOP = Path(__file__).parents[1] / "data" / "shop_migrations"


@pytest.fixture
def stepper(tmp_path: Path) -> Iterator[Channel]:
    backend = LocalBackend(Limits(exec_timeout_s=60), base_dir=tmp_path / "local")
    pod = backend.create_pod("steps", "stepper")
    box = pod.add(ContainerSpec(name="migrate", image="host", workdir="/app"))
    channel = Channel.start(box, [sys.executable, str(STEPPER)], "the stepper")
    yield channel
    channel.close()
    pod.close()


def step(channel: Channel, code: str, timeout: float = 30) -> dict[str, Any]:
    return channel.ask({"argv": ["python", "-c", code], "timeout": timeout}, timeout + 15)


def test_each_step_has_its_own_output_and_exit_code(stepper: Channel) -> None:
    assert stepper.pid > 0
    first = step(stepper, "import os, sys; print('to stdout'); os.write(2, b'fd 2\\n'); sys.exit(3)")
    assert (first["exit"], first["stdout"], first["stderr"], first["timed_out"]) == (
        3,
        "to stdout\n",
        "fd 2\n",
        False,
    )
    second = step(stepper, "raise ValueError('bad revision')")
    assert second["exit"] == 1 and second["stdout"] == ""
    assert "Traceback" in second["stderr"] and "ValueError: bad revision" in second["stderr"]
    # stdin is empty inside a step: the next request is not read as input
    third = step(stepper, "print(repr(input()))")
    assert third["exit"] == 1 and "EOFError" in third["stderr"]
    fourth = step(stepper, "import sys; sys.exit('a message')")
    assert fourth["exit"] == 1 and "a message" in fourth["stderr"]
    assert step(stepper, "print('still here')")["stdout"] == "still here\n"


def test_one_process_serves_every_step(stepper: Channel) -> None:
    """The point of the stepper: what one step imported, the next finds loaded."""
    step(stepper, "import json, sys; sys.modules['json'].crucible_mark = 1")
    again = step(
        stepper, "import os, sys; print(os.getpid(), getattr(sys.modules['json'], 'crucible_mark', 0))"
    )
    assert again["stdout"].split() == [str(stepper.pid), "1"]


def test_a_step_past_its_timeout_is_answered_as_timed_out_and_ends_the_process(stepper: Channel) -> None:
    started = time.monotonic()
    answer = step(stepper, "import time; print('begun', flush=True); time.sleep(60)", timeout=1.0)
    assert answer["timed_out"] and answer["exit"] == 124 and answer["stdout"] == "begun\n"
    assert time.monotonic() - started < 10
    with pytest.raises(ChannelClosed):
        step(stepper, "print('never')")


def test_a_step_that_kills_its_process_is_an_ended_channel(stepper: Channel) -> None:
    with pytest.raises(ChannelClosed):
        step(stepper, "import os; os._exit(7)")
    assert not stepper.alive


# r7 hangs on the plain database (empty -> all applied) and aborts the process on the stairway's, where
# r1..r6 have passed; r8 comes after it.
HANG_OR_CRASH = '''"""hangs on one database, crashes on another"""
import os
import time

revision, down_revision, branch_labels, depends_on = "r7", "r6", None, None


def upgrade() -> None:
    url = os.environ["DATABASE_URL"]
    if url.endswith("/crucible_plain"):
        time.sleep(600)
    if url.endswith("/crucible_stairway"):
        print("r7 is about to abort", flush=True)
        os.abort()


def downgrade() -> None:
    pass
'''
AFTER = '''"""after r7"""
revision, down_revision, branch_labels, depends_on = "r8", "r7", None, None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


@pytest.mark.docker
def test_a_hung_and_a_crashed_step_are_reported_against_their_revision(
    tmp_path: Path, config: Any, images: Any, docker_backend: Any, docker_client: Any
) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    (shop / "migrations" / "versions" / "r7_hang_or_crash.py").write_text(HANG_OR_CRASH)
    (shop / "migrations" / "versions" / "r8_after.py").write_text(AFTER)
    spec = FixtureSpec(id="none", title="no fixture", kind="greenfield", timeouts=Timeouts(migrate_s=8))
    run = RunStore(tmp_path / "reports").create(
        RunManifest(run_id="steps", kind="test", crucible_version="0")
    )
    engine = Engine(config, docker_client, images, docker_backend)
    started = time.monotonic()
    record = evaluate_workspace(
        engine, Fixture(Path("/nonexistent"), spec), shop, run, "hang", checks=frozenset({Check.MIGRATIONS})
    )
    took = time.monotonic() - started
    report = record.migrations
    assert report is not None, record.reason
    # the plain database: r7's upgrade timed out under its own 8 s timeout
    assert (
        not report.upgrade_from_empty and report.error == "upgrade from an empty database failed: timed out"
    )
    # the stairway ran all the same, in a process of its own: r1..r6 pass, r7 crashed, r8 not reached
    by_revision = {check.revision: check for check in report.revisions}
    assert [check.revision for check in report.revisions] == [f"r{n}" for n in range(1, 9)]
    assert all(by_revision[f"r{n}"].reupgrade_ok for n in range(1, 7)), report.revisions
    r7 = by_revision["r7"]
    assert r7.reached and not r7.upgrade_ok and r7.error.startswith("upgrade failed: ")
    # the gist names the crash, the fatal error and the line of the workspace's code that raised it
    assert r7.error == (
        f"upgrade failed: ProcessExit: {CRASHED} (Fatal Python error: Aborted) "
        "(/app/migrations/versions/r7_hang_or_crash.py, line 14)"
    ), r7.error
    assert not by_revision["r8"].reached and by_revision["r8"].error == f"{NOT_REACHED}: stopped at r7"
    assert "r7:upgrade" in report.failing() and "upgrade_from_empty" in " ".join(report.failing())
    assert took < 8 * 6, f"{took:.0f} s: a step's timeout must bound it"
