"""The one retry loop for infrastructure failures, on a stand-in engine (no Docker): what is retried,
what is not, and what the record learns about abandoned attempts."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import InfraError, SandboxError, SubmissionError
from harness.pipeline.engine import INFRA_ATTEMPTS, Engine, retry_infra


class _Client:
    def ping(self) -> bool:
        return True


class _Backend:
    def __init__(self) -> None:
        self.cleaned: list[tuple[str, str | None]] = []

    def cleanup(self, run_id: str, sample_id: str | None = None) -> dict[str, int]:
        self.cleaned.append((run_id, sample_id))
        return {"containers": 0}


def _engine() -> tuple[Engine, _Backend]:
    backend = _Backend()
    stand_in: Any = None
    return Engine(config=stand_in, client=_Client(), images=stand_in, backend=backend), backend  # type: ignore[arg-type]


def test_a_first_infra_failure_is_retried_after_cleaning_up() -> None:
    engine, backend = _engine()
    calls: list[int] = []

    def work(attempt: int) -> str:
        calls.append(attempt)
        if attempt == 1:
            raise SandboxError("engine went away")
        return "done"

    tried = retry_infra(engine, "run-1", "sample-1", work)
    assert (tried.value, tried.error, tried.attempts, calls) == ("done", None, 2, [1, 2])
    assert tried.retries == ["attempt 1: engine went away"]
    assert backend.cleaned == [("run-1", "sample-1")]


def test_infra_failing_every_time_ends_with_the_last_error() -> None:
    engine, backend = _engine()

    def work(attempt: int) -> str:
        raise InfraError(f"down {attempt}")

    tried = retry_infra(engine, "run-1", "s", work)
    assert tried.value is None and tried.attempts == INFRA_ATTEMPTS
    assert tried.error is not None and tried.error.one_line() == f"down {INFRA_ATTEMPTS}"
    assert len(tried.retries) == INFRA_ATTEMPTS - 1 and len(backend.cleaned) == INFRA_ATTEMPTS - 1


def test_other_errors_are_never_retried() -> None:
    engine, backend = _engine()
    calls: list[int] = []

    def work(attempt: int) -> str:
        calls.append(attempt)
        raise SubmissionError("the workspace is broken")

    with pytest.raises(SubmissionError):
        retry_infra(engine, "run-1", "s", work)
    assert calls == [1] and backend.cleaned == []
