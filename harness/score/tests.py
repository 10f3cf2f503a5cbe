"""Hidden acceptance tests: JUnit XML from the tester container -> per-test outcomes and pass rate."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.records.tests import CaseResult, Outcome, SuiteScore

OUTCOME_OF: dict[str, Outcome] = {"failure": "failed", "error": "error", "skipped": "skipped"}


def _nodeid(case: ET.Element) -> str:
    """``test_auth.py::test_login`` from pytest's classname ``tests.test_auth`` and name ``test_login``
    (``test_auth.py::TestX::test_y`` for a method of a class)."""
    parts = [p for p in case.get("classname", "").split(".") if p]
    if parts and parts[0] == "tests":
        parts = parts[1:]
    classes: list[str] = []
    while parts and parts[-1][:1].isupper():
        classes.insert(0, parts.pop())
    module = "/".join(parts) + ".py" if parts else ""
    return "::".join([x for x in (module, *classes) if x] + [case.get("name", "")])


def parse_junit(xml: bytes) -> SuiteScore:
    """Score a pytest JUnit XML report. Skipped tests count in ``total`` but not in the pass rate."""
    root = ET.fromstring(xml)  # noqa: S314 - see the import
    cases: list[CaseResult] = []
    for element in root.iter("testcase"):
        outcome: Outcome = "passed"
        message = ""
        for child in element:
            if child.tag in ("failure", "error", "skipped"):
                outcome = OUTCOME_OF[child.tag]
                message = (child.get("message") or (child.text or "")).strip()[:2000]
                break
        cases.append(
            CaseResult(
                nodeid=_nodeid(element),
                outcome=outcome,
                seconds=float(element.get("time", 0) or 0),
                message=message,
            )
        )
    counted = [c for c in cases if c.outcome != "skipped"]
    passed = sum(c.outcome == "passed" for c in cases)
    return SuiteScore(
        total=len(cases),
        passed=passed,
        failed=sum(c.outcome == "failed" for c in cases),
        errors=sum(c.outcome == "error" for c in cases),
        skipped=sum(c.outcome == "skipped" for c in cases),
        pass_rate=passed / len(counted) if counted else 0.0,
        all_pass=bool(counted) and passed == len(counted),
        seconds=sum(c.seconds for c in cases),
        cases=cases,
    )
