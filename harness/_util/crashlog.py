"""Turning a crash log into one line a person understands."""

from __future__ import annotations

import re

_EXCEPTION_LINE = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Warning)|KeyError|[\w.]+Error)\b(:.*)?$"
)
_FRAME_LINE = re.compile(r'^File "([^"<]+)", line (\d+)')


def summarise_failure(log: str, fallback_lines: int = 3) -> str:
    """The gist of a crash log for a person: the last exception and where it was raised, else the
    last few lines."""
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if _EXCEPTION_LINE.match(lines[index]):
            where = next(
                (m for m in (_FRAME_LINE.match(line) for line in reversed(lines[:index])) if m), None
            )
            place = f" ({where.group(1)}, line {where.group(2)})" if where else ""
            return f"{lines[index][:300]}{place}"
    return " | ".join(lines[-fallback_lines:])[-600:]
