"""One test per sample (variant x fixture x epoch): does the backend the agent wrote meet the fixture's bar
(it builds and serves, every hidden test passes, no probe exploits it, its migrations round trip)? A
sample that misses it is reported as an expected failure with the reason: one sample of many is not what
CI decides on (the floors and gates in test_decisions.py are). `--crucible-strict-samples` makes it fail."""

from __future__ import annotations

import pytest

from harness.records import SampleRecord, SampleStatus


@pytest.mark.crucible_sample
def test_backend(crucible_sample: SampleRecord) -> None:
    record = crucible_sample
    if record.status is SampleStatus.INFRA_FAILURE:
        pytest.fail(f"infrastructure failure (not the agent's fault): {record.reason}", pytrace=False)
    problems = []
    if record.status is not SampleStatus.OK:
        problems.append(record.reason)
    if record.security is not None and not record.security.secure:
        exploited = ", ".join(f"{p.probe} ({p.cwe})" for p in record.security.exploited)
        problems.append(f"exploited probes: {exploited}")
    if record.migrations is not None and record.migrations.failing():
        problems.append(f"migration checks failing: {', '.join(record.migrations.failing())}")
    if problems:
        pytest.fail(f"{record.sample_id}: " + "; ".join(problems), pytrace=False)
