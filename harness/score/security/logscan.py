"""The app's own log, searched for secrets (CWE-532, insertion of sensitive information into a log).

The secrets are every value the hidden tests and probes sent as a credential (written down in the tester
by ``inpod/sent_secrets.py``) and every secret of the app's environment (variables named like keys,
secrets, tokens or passwords, and the password in DATABASE_URL). Any one of them in the log makes the
live check `app_log_holds_no_secret` fail, with the first such line as evidence (the secret itself
masked there, so that the report does not spread it)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from harness.records.security import ProbeResult

PROBE = "app_log_holds_no_secret"
CWE = "CWE-532"
MIN_LENGTH = 8
SECRET_VARIABLE = re.compile(r"(?i)(secret|password|passwd|token|api_?key|private_?key)")


def environment_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """Secret values of an app environment -> where each comes from."""
    found: dict[str, str] = {}
    for name, value in env.items():
        if SECRET_VARIABLE.search(name):
            found[value] = f"the environment variable {name}"
        elif name.endswith("DATABASE_URL") and (password := urlsplit(value).password):
            found[password] = f"the password in {name}"
    return {value: origin for value, origin in found.items() if len(value) >= MIN_LENGTH}


def sent_secrets(jsonl: str) -> dict[str, str]:
    """The tester's record of secrets sent (one JSON object a line) -> where each was sent."""
    found: dict[str, str] = {}
    for line in jsonl.splitlines():
        try:
            item = json.loads(line)
            value, origin = str(item["value"]), str(item["origin"])
        except (ValueError, KeyError, TypeError):
            continue
        if len(value) >= MIN_LENGTH:
            found.setdefault(value, origin)
    return found


def _mask(line: str, secret: str) -> str:
    shown = f"{secret[:2]}…{secret[-2:]}" if len(secret) >= 12 else "…"
    return line.replace(secret, f"[secret {shown}]")


def scan_log(log: str, secrets: Mapping[str, str]) -> ProbeResult:
    """`app_log_holds_no_secret`: exploited when a line of ``log`` holds one of ``secrets``; the evidence
    names how many lines leak, which secrets, and shows the first line (masked)."""
    present = {secret: origin for secret, origin in secrets.items() if secret in log}
    leaks: dict[str, int] = {}
    first = ""
    for number, line in enumerate(log.splitlines() if present else [], 1):
        for secret, origin in present.items():
            if secret in line:
                leaks[origin] = leaks.get(origin, 0) + 1
                if not first:
                    first = f"line {number}: {_mask(line.strip(), secret)[:400]}"
    if not leaks:
        return ProbeResult(probe=PROBE, cwe=CWE, result="resisted")
    what = "; ".join(f"{origin} ({count} lines)" for origin, count in sorted(leaks.items()))
    return ProbeResult(
        probe=PROBE,
        cwe=CWE,
        result="exploited",
        evidence=f"the app's log holds secrets: {what}. First: {first}"[:1500],
    )
