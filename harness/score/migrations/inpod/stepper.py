"""Runs INSIDE a pod's migrate container, under the workspace's own Python: one long-lived process per
database that runs the migration command lines the checks would otherwise start one process each for,
so the app, Alembic or Django are imported once and not once per step.

Protocol (JSON lines): it first says {"pid": N}; then for each request {"argv": [...], "timeout": S} it
answers {"exit": code, "stdout": "...", "stderr": "...", "seconds": s, "timed_out": bool}. The command
lines it knows, run in this process as their programs would run them:

    alembic ARGS...                     -> Alembic's own command line (alembic.config.main)
    python manage.py ARGS...            -> Django's (manage.py runs once; then execute_from_command_line)
    python -c CODE                      -> CODE in fresh globals
    true                                -> nothing (exit 0)

Each step sees what a new process would: its output goes to files of its own (/tmp/crucible-step.PID.out
and .err, kept until the next step; file descriptors 1 and 2 are redirected, so C extensions and
logging handlers are caught too), stdin is empty, and after it the
database connections it left open are closed (SQLAlchemy engines disposed, Django's connections
closed), so the next step connects afresh. Alembic loads env.py and the revision files anew for every
command. A step that outlives its timeout is answered as timed out and the process exits at once
(os._exit from a watchdog thread, which works while the main thread is stuck in a C call)."""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import json
import os
import runpy
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

OUTPUT = "/tmp/crucible-step"
_django_cli: Callable[[list[str]], None] | None = None


def _run_manage(args: list[str]) -> None:
    """manage.py the first time (it sets DJANGO_SETTINGS_MODULE and whatever else it does), Django's
    command line afterwards."""
    global _django_cli
    if _django_cli is not None:
        _django_cli(["manage.py", *args])
        return
    import django.core.management as management  # type: ignore[import-not-found]

    real = management.execute_from_command_line

    def first(argv: list[str] | None = None) -> None:
        global _django_cli
        _django_cli = real
        real(argv)

    management.execute_from_command_line = first
    sys.argv = ["manage.py", *args]
    try:
        runpy.run_path("manage.py", run_name="__main__")
    finally:
        management.execute_from_command_line = real


def _run(argv: list[str]) -> None:
    if argv == ["true"]:
        return
    if argv[0] == "alembic":
        from alembic.config import main  # type: ignore[import-not-found]

        sys.argv = argv
        main(argv=argv[1:], prog="alembic")
    elif argv[:2] == ["python", "manage.py"]:
        _run_manage(argv[2:])
    elif argv[:2] == ["python", "-c"] and len(argv) == 3:
        sys.argv = ["-c"]
        # the workspace's own code, run as `python -c` would run it
        exec(compile(argv[2], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
    else:
        raise SystemExit(f"stepper: cannot run {argv!r} in process")


def _exit_code(exc: SystemExit) -> int:
    """The status a process ending this way would have had."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code % 256
    print(exc.code, file=sys.stderr)
    return 1


def _fresh_connections() -> None:
    """Close what the step left connected, so that the next one starts from new connections."""
    if "django.db" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["django.db"].connections.close_all()
    engine_module = sys.modules.get("sqlalchemy.engine")
    if engine_module is not None:
        for thing in gc.get_objects():
            if isinstance(thing, engine_module.Engine):
                with contextlib.suppress(Exception):
                    thing.dispose()


class Step:
    """One command line, its output in two files of its own."""

    def __init__(self, answer: Callable[[dict[str, Any]], None], argv: list[str], timeout: float) -> None:
        self.answer, self.argv, self.timeout = answer, argv, timeout
        self.devnull = os.open(os.devnull, os.O_RDWR)
        # named, so that the checks can read what a step printed before it took the process down
        self.files = [open(f"{OUTPUT}.{os.getpid()}.{name}", "w+b") for name in ("out", "err")]  # noqa: SIM115
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.answered = False

    def output(self) -> dict[str, str]:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        texts = []
        for handle in self.files:
            handle.seek(0)
            texts.append(handle.read()[-200_000:].decode(errors="replace"))
        return {"stdout": texts[0], "stderr": texts[1]}

    def finish(self, code: int, timed_out: bool = False) -> None:
        with self.lock:
            if self.answered:
                return
            self.answered = True
            seconds = round(time.monotonic() - self.started, 3)
            self.answer({"exit": code, "timed_out": timed_out, "seconds": seconds, **self.output()})

    def watchdog(self) -> None:
        self.finish(124, timed_out=True)
        os._exit(124)

    def run(self) -> None:
        os.dup2(self.files[0].fileno(), 1)
        os.dup2(self.files[1].fileno(), 2)
        timer = threading.Timer(self.timeout, self.watchdog)
        timer.daemon = True
        timer.start()
        code = 0
        try:
            _run(self.argv)
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            timer.cancel()
        _fresh_connections()
        self.finish(code)
        # between steps, whatever the app's threads still print goes nowhere (never into the answers)
        os.dup2(self.devnull, 1)
        os.dup2(self.devnull, 2)
        os.close(self.devnull)
        for handle in self.files:
            handle.close()


def main() -> None:
    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # a step that reads stdin finds it empty, not the next request
        os.dup2(devnull, fd)
    os.close(devnull)

    def answer(data: dict[str, Any]) -> None:
        answers.write(json.dumps(data).encode() + b"\n")
        answers.flush()

    sys.path[0] = os.getcwd()  # as for `python manage.py` run in /app, not this script's folder
    faulthandler.enable()  # a crash in C still leaves its traceback in the step's stderr file
    answer({"pid": os.getpid()})
    for line in requests:
        request = json.loads(line)
        Step(answer, list(request["argv"]), float(request["timeout"])).run()


if __name__ == "__main__":
    main()
