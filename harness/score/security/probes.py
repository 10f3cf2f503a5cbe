"""Dynamic probe results: the JUnit report of a fixture's probes -> one result per probe, CWE-tagged.
A passing probe means the app resisted, a failing one that the attack worked (its message is the
evidence), a skipped or erroring one that the result could not be told."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.records.security import ProbeResult, Verdict
from harness.score.tests import parse_junit

CRASH_CWE = "CWE-703"


def parse_probes(xml: bytes) -> list[ProbeResult]:
    cwes: dict[str, str] = {}
    for element in ET.fromstring(xml).iter("testcase"):  # noqa: S314 - the tester's own report
        for prop in element.iter("property"):
            if prop.get("name") == "cwe":
                cwes[element.get("name", "")] = prop.get("value", "")
    results = []
    for case in parse_junit(xml).cases:
        name = case.nodeid.rsplit("::", 1)[-1]
        result: Verdict = (
            "resisted"
            if case.outcome == "passed"
            else ("exploited" if case.outcome == "failed" else "inconclusive")
        )
        results.append(
            ProbeResult(
                probe=name,
                cwe=cwes.get(name, ""),
                result=result,
                evidence=case.message[:1500],
                seconds=case.seconds,
            )
        )
    return results


def crash_result(log_tail: str) -> ProbeResult:
    return ProbeResult(
        probe="app_survives_probes",
        cwe=CRASH_CWE,
        result="exploited",
        evidence=f"the app stopped while being probed: {log_tail[:600]}",
    )
