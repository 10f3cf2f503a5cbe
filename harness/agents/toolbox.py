"""Runs INSIDE the workspace container: the file tools of the agent (Read, Write, Edit, Glob, Grep).
Standard library only. Reads one JSON request {"tool", "input", "fresh"} from the file named by its
argument and prints one JSON answer {"ok": bool, "text": str}. Bash is not here: the host runs it as an
exec of its own."""

import fnmatch
import json
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

MAX_LINE = 2000
DEFAULT_LIMIT = 2000
SKIP_DIRS = {".git", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache", ".pytest_cache"}
TYPES = {
    "py": ["*.py", "*.pyi"],
    "js": ["*.js", "*.mjs"],
    "ts": ["*.ts", "*.tsx"],
    "md": ["*.md"],
    "toml": ["*.toml"],
    "yaml": ["*.yaml", "*.yml"],
    "json": ["*.json"],
    "sql": ["*.sql"],
    "html": ["*.html"],
    "ini": ["*.ini", "*.cfg"],
}


class ToolError(Exception):
    pass


def _absolute(path: Any) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ToolError(f"file_path must be an absolute path, got {path!r}")
    return os.path.normpath(path)


def read(args: dict[str, Any], fresh: set[str]) -> str:
    path = _absolute(args.get("file_path"))
    if os.path.isdir(path):
        raise ToolError(f"{path} is a directory; use Bash `ls` or Glob to list it")
    if not os.path.isfile(path):
        raise ToolError(f"File does not exist: {path}")
    offset = max(int(args.get("offset") or 1), 1)
    limit = int(args.get("limit") or DEFAULT_LIMIT)
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    if not lines:
        return "(the file is empty)"
    chosen = lines[offset - 1 : offset - 1 + limit]
    out = [f"{number:>6}\t{line[:MAX_LINE]}" for number, line in enumerate(chosen, start=offset)]
    return "\n".join(out)


def write(args: dict[str, Any], fresh: set[str]) -> str:
    path = _absolute(args.get("file_path"))
    content = args.get("content")
    if not isinstance(content, str):
        raise ToolError("content must be a string")
    if os.path.exists(path) and path not in fresh:
        raise ToolError(f"{path} exists and has not been read yet: Read it before overwriting it")
    os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
    existed = os.path.exists(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)
    return f"{'Updated' if existed else 'Created'} {path} ({len(content.splitlines())} lines)"


def edit(args: dict[str, Any], fresh: set[str]) -> str:
    path = _absolute(args.get("file_path"))
    old, new = args.get("old_string"), args.get("new_string")
    if not isinstance(old, str) or not isinstance(new, str):
        raise ToolError("old_string and new_string must be strings")
    if old == new:
        raise ToolError("new_string must differ from old_string")
    if not os.path.isfile(path):
        raise ToolError(f"File does not exist: {path}")
    if path not in fresh:
        raise ToolError(f"{path} has not been read yet: Read it before editing it")
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    count = text.count(old)
    if count == 0:
        raise ToolError("old_string was not found in the file")
    if count > 1 and not args.get("replace_all"):
        raise ToolError(f"old_string occurs {count} times; give more context or set replace_all")
    text = text.replace(old, new) if args.get("replace_all") else text.replace(old, new, 1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return f"Edited {path} ({count if args.get('replace_all') else 1} replacement(s))"


def _walk(root: str) -> Iterator[str]:
    if os.path.isfile(root):
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            yield os.path.join(folder, name)


def glob_tool(args: dict[str, Any], fresh: set[str]) -> str:
    root = os.path.normpath(args.get("path") or "/workspace")
    pattern = args.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ToolError("pattern is required")
    regex = re.compile(fnmatch.translate(pattern).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*"))
    found: list[str] = []
    for path in _walk(root):
        relative = os.path.relpath(path, root)
        if (
            regex.match(relative)
            or fnmatch.fnmatch(relative, pattern)
            or fnmatch.fnmatch(os.path.basename(path), pattern)
        ):
            found.append(path)
    found.sort(key=lambda p: os.path.getmtime(p), reverse=True)
    return "\n".join(found[:100]) if found else "No files found"


def grep(args: dict[str, Any], fresh: set[str]) -> str:
    flags = re.IGNORECASE if args.get("-i") else 0
    if args.get("multiline"):
        flags |= re.DOTALL | re.MULTILINE
    try:
        regex = re.compile(args.get("pattern") or "", flags)
    except re.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from exc
    root = os.path.normpath(args.get("path") or "/workspace")
    mode = args.get("output_mode") or "files_with_matches"
    globs = [args["glob"]] if args.get("glob") else TYPES.get(args.get("type") or "", [])
    before = int(args.get("-B") or args.get("-C") or 0)
    after = int(args.get("-A") or args.get("-C") or 0)
    numbered = args.get("-n", True)
    limit = int(args.get("head_limit") or 250)
    out: list[str] = []
    for path in _walk(root):
        if globs and not any(fnmatch.fnmatch(os.path.basename(path), g) for g in globs):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (UnicodeDecodeError, OSError):
            continue
        lines = text.splitlines()
        hits = [i for i, line in enumerate(lines) if regex.search(line)]
        if args.get("multiline") and not hits and regex.search(text):
            hits = [0]
        if not hits:
            continue
        if mode == "files_with_matches":
            out.append(path)
        elif mode == "count":
            out.append(f"{path}:{len(hits)}")
        else:
            shown = sorted(
                {j for i in hits for j in range(max(0, i - before), min(len(lines), i + after + 1))}
            )
            out += [f"{path}:{j + 1}:{lines[j]}" if numbered else f"{path}:{lines[j]}" for j in shown]
        if len(out) >= limit:
            break
    return "\n".join(out[:limit]) if out else "No matches found"


TOOLS = {"Read": read, "Write": write, "Edit": edit, "Glob": glob_tool, "Grep": grep}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    os.unlink(sys.argv[1])
    try:
        text = TOOLS[request["tool"]](request.get("input") or {}, set(request.get("fresh") or []))
        answer = {"ok": True, "text": text}
    except ToolError as exc:
        answer = {"ok": False, "text": str(exc)}
    except (OSError, ValueError, TypeError) as exc:
        answer = {"ok": False, "text": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
