"""The static scan on correct code: the fixtures' reference solutions raise no finding of any severity,
and the benign token-scheme words (`token_type = "bearer"`) are suppressed while a real hard-coded
password is still reported. Real semgrep, bandit and ruff; no Docker."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.records.security import SecurityReport
from harness.score.security.static import benign_token_word, static_scan
from harness.workspace import pack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REFERENCES = ["jwt-auth", "order-management", "contacts-split-name"]


@pytest.fixture(scope="module")
def reports() -> dict[str, SecurityReport]:
    def scan(name: str) -> SecurityReport:
        return static_scan(pack(FIXTURES / name / "reference")[0])

    with ThreadPoolExecutor(max_workers=len(REFERENCES)) as pool:
        return dict(zip(REFERENCES, pool.map(scan, REFERENCES), strict=True))


@pytest.mark.parametrize("fixture", REFERENCES)
def test_a_reference_solution_has_no_static_finding(reports: dict[str, SecurityReport], fixture: str) -> None:
    report = reports[fixture]
    assert report.tool_errors == []
    listed = [
        f"{f.file}:{f.line} {f.tool}:{f.rule} {f.cwe} {f.severity} | {f.snippet}" for f in report.findings
    ]
    assert listed == [], "\n".join(listed)


def test_token_scheme_words_are_suppressed_and_a_password_is_not(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "app").mkdir(parents=True)
    (workspace / "app" / "schemas.py").write_text(
        "from typing import Literal\n\nfrom pydantic import BaseModel\n\n\n"
        "class TokenPair(BaseModel):\n"
        "    access_token: str\n"
        '    token_type: Literal["bearer"] = "bearer"\n\n\n'
        'token_type = "bearer"\n'
        'REFRESH_TOKEN_TYPE = "refresh"\n\n\n'
        "def body(token: str) -> dict[str, str]:\n"
        '    return {"access_token": token, "token_type": "Bearer"}\n'
    )
    (workspace / "app" / "config.py").write_text('password = "hunter2"\n')
    report = static_scan(pack(workspace)[0])
    assert report.tool_errors == []
    assert [(f.file, f.line, f.cwe) for f in report.findings] == [("app/config.py", 1, "CWE-259")]
    assert report.suppressed >= 4  # ruff on lines 8, 11 and 12; bandit on 11, 12 and 16


@pytest.mark.parametrize(
    ("source", "benign"),
    [
        ('token_type: Literal["bearer"] = "bearer"', True),
        ('token_type = "bearer"', True),
        ('TOKEN_KIND = "Refresh"', True),
        ('body = {"token_type": "bearer"}', True),
        ('out = TokenOut(token_type="bearer")', True),
        ('ok = token_type != "Bearer"', True),
        ('def f(token_type="bearer"):\n    pass', True),
        ('password = "hunter2"', False),
        ('db_password = "bearer"', False),
        ('secret_token = "access"', False),
        ('body = {"access_token": "abc", "token_type": "bearer"}', False),
        ('def f(token_type="bearer", password="hunter2"):\n    pass', False),
        ('token_type = "bearer" +', False),
        ("x = 1", False),
    ],
)
def test_benign_token_word(source: str, benign: bool) -> None:
    assert benign_token_word(source, 1) is benign
