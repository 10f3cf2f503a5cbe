"""The agent's tools, shaped like Claude Code's (Read, Write, Edit, Bash, Glob, Grep), executed inside
the workspace container: Bash as an exec of its own, the file tools through toolbox.py."""

from __future__ import annotations

import itertools
import json
from importlib import resources
from typing import Any

from harness._util.archive import tar_files
from harness.sandbox import Container

TOOLBOX_DIR = "/opt/crucible-tools"
WORKSPACE = "/workspace"
MAX_RESULT_CHARS = 30_000
BASH_DEFAULT_MS, BASH_MAX_MS = 120_000, 600_000

_PATH = {"type": "string", "description": "absolute path of the file"}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Read": {
        "description": "Read a file: lines numbered from 1 (number, tab, text), up to 2000 from `offset`.",
        "input_schema": {
            "type": "object",
            "required": ["file_path"],
            "properties": {
                "file_path": _PATH,
                "offset": {"type": "integer", "description": "first line, from 1"},
                "limit": {"type": "integer", "description": "how many lines"},
            },
        },
    },
    "Write": {
        "description": "Write a file, replacing it. An existing file must be Read first.",
        "input_schema": {
            "type": "object",
            "required": ["file_path", "content"],
            "properties": {"file_path": _PATH, "content": {"type": "string"}},
        },
    },
    "Edit": {
        "description": "Replace old_string by new_string in a file that was Read. old_string must occur "
        "exactly once unless replace_all is true.",
        "input_schema": {
            "type": "object",
            "required": ["file_path", "old_string", "new_string"],
            "properties": {
                "file_path": _PATH,
                "old_string": {"type": "string"},
                "new_string": {"type": "string"},
                "replace_all": {"type": "boolean", "default": False},
            },
        },
    },
    "Bash": {
        "description": "Run a shell command in /workspace (no network). Output over 30000 characters is cut.",
        "input_schema": {
            "type": "object",
            "required": ["command"],
            "properties": {
                "command": {"type": "string"},
                "timeout": {"type": "integer", "description": "milliseconds, default 120000, at most 600000"},
                "description": {"type": "string"},
                "run_in_background": {"type": "boolean"},
            },
        },
    },
    "Glob": {
        "description": "Find files by glob pattern (for example **/*.py), newest first.",
        "input_schema": {
            "type": "object",
            "required": ["pattern"],
            "properties": {"pattern": {"type": "string"}, "path": {"type": "string"}},
        },
    },
    "Grep": {
        "description": "Search file contents with a regular expression.",
        "input_schema": {
            "type": "object",
            "required": ["pattern"],
            "properties": {
                "pattern": {"type": "string"},
                "path": {"type": "string"},
                "glob": {"type": "string"},
                "type": {"type": "string"},
                "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]},
                "-i": {"type": "boolean"},
                "-n": {"type": "boolean"},
                "-A": {"type": "integer"},
                "-B": {"type": "integer"},
                "-C": {"type": "integer"},
                "head_limit": {"type": "integer"},
                "multiline": {"type": "boolean"},
            },
        },
    },
}
ORDER = ("Read", "Write", "Edit", "Bash", "Glob", "Grep")


def definitions(allowed: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Tool definitions for the request, in a fixed order, limited to ``allowed`` when given."""
    names = [name for name in ORDER if allowed is None or name in allowed]
    return [{"name": name, **SCHEMAS[name]} for name in names]


def toolbox_archive() -> bytes:
    source = (resources.files("harness.agents") / "toolbox.py").read_bytes()
    return tar_files({"toolbox.py": source})


def _clip(text: str) -> str:
    return (
        text
        if len(text) <= MAX_RESULT_CHARS
        else text[:MAX_RESULT_CHARS] + "\n[output cut at 30000 characters]"
    )


class ToolRunner:
    """Executes tool calls in one workspace container; remembers which files the agent may overwrite."""

    def __init__(self, container: Container, allowed: tuple[str, ...] | None) -> None:
        self.container = container
        self.allowed = {d["name"] for d in definitions(allowed)}
        self.fresh: set[str] = set()
        self._ids = itertools.count(1)

    def run(self, name: str, arguments: Any) -> tuple[str, bool]:
        """The tool's answer and whether it is an error (given back to the model, never raised)."""
        if name not in self.allowed:
            return f"Unknown tool {name!r}; available: {', '.join(sorted(self.allowed))}", True
        if not isinstance(arguments, dict):
            return f"{name} takes a JSON object of arguments", True
        missing = [key for key in SCHEMAS[name]["input_schema"]["required"] if key not in arguments]
        if missing:
            return f"{name} is missing required argument(s): {', '.join(missing)}", True
        if name == "Bash":
            return self._bash(arguments)
        return self._file_tool(name, arguments)

    def _bash(self, arguments: dict[str, Any]) -> tuple[str, bool]:
        command = arguments["command"]
        if not isinstance(command, str):
            return "command must be a string", True
        try:
            millis = min(int(arguments.get("timeout") or BASH_DEFAULT_MS), BASH_MAX_MS)
        except (TypeError, ValueError):
            return "timeout must be a number of milliseconds", True
        done = self.container.exec(
            ["sh", "-c", command],
            timeout=max(millis / 1000, 1),
            workdir=WORKSPACE,
            output_cap=MAX_RESULT_CHARS * 4,
        )
        text = (done.out + (("\n" if done.out and done.err else "") + done.err)).rstrip()
        if done.timed_out:
            text += f"\n[killed after {millis / 1000:.0f} s]"
        elif done.exit_code != 0:
            text += f"\n[exit code {done.exit_code}]"
        return _clip(text or "(no output)"), done.exit_code != 0 or done.timed_out

    def _file_tool(self, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        request = f"crucible-tool-{next(self._ids)}.json"
        payload = json.dumps({"tool": name, "input": arguments, "fresh": sorted(self.fresh)})
        self.container.put_archive("/tmp", tar_files({request: payload}, mode=0o600, uid=1000))
        done = self.container.exec(["python3", f"{TOOLBOX_DIR}/toolbox.py", f"/tmp/{request}"], timeout=60)
        try:
            answer = json.loads(done.out)
        except json.JSONDecodeError:
            return f"{name} failed: {done.describe()}", True
        if answer["ok"] and name in ("Read", "Write", "Edit"):
            self.fresh.add(str(arguments["file_path"]))
        return _clip(str(answer["text"])), not answer["ok"]
