"""Helpers shared by the tests that run `crucible` as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).parent.parent


def run_crucible(
    *args: str,
    reports: Path,
    timeout: float = 1800,
    keep_api_key: bool = False,
    env: dict[str, str] | None = None,
    project: Path = PROJECT,
) -> subprocess.CompletedProcess[str]:
    """`crucible -C <project> --set reports_dir=<reports> ARGS` in a subprocess (``env`` added to ours)."""
    env = {k: v for k, v in os.environ.items() if keep_api_key or k != "ANTHROPIC_API_KEY"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "harness", "-C", str(project), "--set", f'reports_dir="{reports}"', *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )
