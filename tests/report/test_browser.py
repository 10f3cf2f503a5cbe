"""The HTML report in a real headless Chromium (Debian's chromium + chromedriver, driven by selenium):
it loads without console errors, shows the overview and the charts, and a sample section expands."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.report import write_report
from tests.report.test_report import stored_run

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def browser() -> object:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        message = (
            "Debian's chromium and chromium-driver are needed: apt-get install -y chromium chromium-driver"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or ""), options=options)


def test_report_in_headless_chromium(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    run = stored_run(tmp_path)
    files = write_report([run], run, baseline="base")
    driver = browser()
    try:
        driver.get(files.html.as_uri())  # type: ignore[attr-defined]
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]
        assert errors == [], errors
        table = driver.find_element(By.ID, "overview-table")  # type: ignore[attr-defined]
        assert table.is_displayed() and "base" in table.text and "cand" in table.text
        charts = driver.find_elements(By.CSS_SELECTOR, "#charts svg")  # type: ignore[attr-defined]
        assert len(charts) == 4 and all(c.is_displayed() and c.size["height"] > 50 for c in charts)
        section = driver.find_element(By.ID, "sample-cand.f1.e1")  # type: ignore[attr-defined]
        assert section.get_attribute("open") is None
        section.find_element(By.TAG_NAME, "summary").click()
        assert section.get_attribute("open") is not None
        assert "Failing hidden tests" in section.text and "test_admin.py::test_x" in section.text
        failing = section.find_element(By.XPATH, ".//details[summary/code[text()='test_admin.py::test_x']]")
        failing.find_element(By.TAG_NAME, "summary").click()
        assert "expected 403, got 200" in failing.text
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "report.png"))  # type: ignore[attr-defined]
    finally:
        driver.quit()  # type: ignore[attr-defined]
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def write_transcript(run: Any, sample: str) -> None:
    from harness.records.transcript import ResponseEvent, ToolEvent, event_line

    events = [
        ResponseEvent(
            turn=1,
            stop_reason="tool_use",
            content=[
                {
                    "type": "text",
                    "text": "Plan: **models** first.\n\n- then `routes`\n\n<script>alert(1)</script>",
                }
            ],
        ),
        ToolEvent(
            turn=1,
            name="Write",
            input={
                "file_path": "app/models.py",
                "content": '"""Accounts."""\n\nfrom datetime import datetime\n\n\nclass User:\n    name: str\n',
            },
            output="wrote 7 lines",
        ),
        ToolEvent(
            turn=2,
            name="Edit",
            input={
                "file_path": "app/models.py",
                "old_string": "    name: str\n",
                "new_string": "    name: str\n    email: str\n",
            },
            output="edited",
        ),
        ToolEvent(turn=3, name="Bash", input={"command": "pytest -q tests"}, output="3 passed in 0.2s"),
    ]
    path = run.path / "samples" / sample / "transcript.jsonl"
    path.write_text("".join(event_line(e) for e in events))


def test_a_transcript_shows_code_as_code(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    run = stored_run(tmp_path)
    write_transcript(run, "cand.f1.e1")
    files = write_report([run], run, baseline="base")
    driver = browser()
    try:
        driver.get(files.html.as_uri())  # type: ignore[attr-defined]
        section = driver.find_element(By.ID, "sample-cand.f1.e1")  # type: ignore[attr-defined]
        section.find_element(By.TAG_NAME, "summary").click()
        transcript = section.find_element(By.XPATH, ".//details[starts-with(summary, 'Transcript')]")
        transcript.find_element(By.TAG_NAME, "summary").click()
        model = transcript.find_element(By.CSS_SELECTOR, "div.model")
        assert model.find_element(By.TAG_NAME, "strong").text == "models"  # Markdown, not asterisks
        assert "<script>alert(1)</script>" in model.text  # raw HTML shown as text, never run
        calls = {
            c.find_element(By.TAG_NAME, "summary").text: c
            for c in transcript.find_elements(By.CSS_SELECTOR, "details.tool")
        }
        assert set(calls) == {"Write app/models.py", "Edit app/models.py", "Bash: pytest -q tests"}, set(
            calls
        )
        for call in calls.values():
            call.find_element(By.TAG_NAME, "summary").click()
        write = calls["Write app/models.py"]
        assert "from datetime import datetime" in write.text and "class User:" in write.text
        assert "\\n" not in write.text and '"content"' not in write.text
        assert write.find_elements(By.CSS_SELECTOR, "span[style]"), "the file is not highlighted"
        edit = calls["Edit app/models.py"].text.splitlines()
        assert "+    email: str" in edit and "-    name: str" not in edit and "\\n" not in "".join(edit)
        assert "pytest -q tests" in calls["Bash: pytest -q tests"].text
        ARTIFACTS.mkdir(exist_ok=True)
        driver.execute_script("arguments[0].scrollIntoView()", transcript)  # type: ignore[attr-defined]
        driver.save_screenshot(str(ARTIFACTS / "transcript.png"))  # type: ignore[attr-defined]
    finally:
        driver.quit()  # type: ignore[attr-defined]
    assert (ARTIFACTS / "transcript.png").stat().st_size > 10_000
