"""A run's spending cap (`crucible run --max-dollars`): what the run's generations have cost so far, and
the reason not to start another once that reaches the cap. Samples in flight finish; reused samples
cost nothing; a resumed run counts what its finished samples cost."""

from __future__ import annotations

import threading

from harness.records import BUDGET_ENDED, SampleRecord


class Spend:
    def __init__(self, cap: float | None) -> None:
        self.cap, self.dollars = cap, 0.0
        self.lock = threading.Lock()

    def add(self, record: SampleRecord) -> None:
        if record.generation is not None and record.reused is None:
            with self.lock:
                self.dollars += record.generation.dollars

    def reason(self) -> str:
        """Why no new sample may start, or ""."""
        with self.lock:
            if self.cap is None or self.dollars < self.cap:
                return ""
            return f"{BUDGET_ENDED} (${self.dollars:.2f} spent, cap ${self.cap:.2f})"
