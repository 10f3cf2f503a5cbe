"""A sample's transcript as a reviewer reads it: each tool call by its kind (Write as the file it wrote,
highlighted; Edit as a diff of the old and new text; Bash as the command and its output; Read, Glob and
Grep as the query with the result folded), and the model's text as Markdown (raw HTML in it escaped)."""

from __future__ import annotations

import difflib
import json
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import BashLexer, DiffLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

FORMATTER = HtmlFormatter(noclasses=True, nowrap=False, style="friendly")
MAX_SHOWN = 20_000  # characters of one input or output shown
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def code(name: str, text: str) -> Markup:
    """``text`` highlighted as the file ``name`` would be (plain when the kind is unknown)."""
    try:
        lexer = get_lexer_for_filename(name, stripnl=False)
    except ClassNotFound:
        return Markup("<pre>") + escape(text) + Markup("</pre>")
    return Markup(highlight(text, lexer, FORMATTER))  # noqa: S704 - pygments escapes the source it formats


def markdown(text: str) -> Markup:
    return Markup(_MARKDOWN.render(text))  # noqa: S704 - html is off: markdown-it escapes raw HTML


def _pre(text: str) -> Markup:
    return Markup('<pre class="output">') + escape(text[:MAX_SHOWN]) + Markup("</pre>")


def _diff(path: str, old: str, new: str) -> Markup:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"{path} (before)", f"{path} (after)"
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return Markup(highlight(text[:MAX_SHOWN], DiffLexer(), FORMATTER))  # noqa: S704 - pygments escapes


def _folded(title: str, text: str) -> Markup:
    if not text:
        return Markup('<p class="muted">(no output)</p>')
    return (
        Markup("<details><summary>")
        + escape(title)
        + Markup("</summary>")
        + _pre(text)
        + Markup("</details>")
    )


def tool_view(name: str, given: dict[str, Any], output: str) -> tuple[str, Markup]:
    """A tool call's one-line summary and its body, by the tool's kind."""
    path = str(given.get("file_path") or given.get("path") or "")
    if name == "Write" and isinstance(given.get("content"), str):
        return f"Write {path}", code(path, given["content"]) + _folded("result", output)
    if (
        name == "Edit"
        and isinstance(given.get("old_string"), str)
        and isinstance(given.get("new_string"), str)
    ):
        every = " (every occurrence)" if given.get("replace_all") else ""
        body = _diff(path, given["old_string"], given["new_string"]) + _folded("result", output)
        return f"Edit {path}{every}", body
    if name == "Bash" and isinstance(given.get("command"), str):
        command = given["command"]
        first = command.strip().splitlines()[0] if command.strip() else ""
        shown = Markup(highlight(command, BashLexer(), FORMATTER))  # noqa: S704 - pygments escapes
        return f"Bash: {first[:100]}", shown + _folded("output", output)
    if name in ("Read", "Glob", "Grep"):
        query = " ".join(
            str(v) for k, v in given.items() if k in ("pattern", "glob", "file_path", "path") and v
        )
        return f"{name} {query}", _folded(f"result ({len(output.splitlines())} lines)", output)
    if name in ("Task", "Agent"):
        title = str(given.get("description") or given.get("subagent_type") or "sub-agent")
        body = markdown(str(given.get("prompt", ""))) + _folded("what the sub-agent answered", output)
        return f"{name}: {title}", body
    return name, _pre(json.dumps(given, indent=1)) + _folded("result", output)
