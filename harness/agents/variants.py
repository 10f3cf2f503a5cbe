"""Prompt variants: Claude Code sub-agent files (Markdown with YAML front matter; the body is the
system prompt), read from the working tree or from git (`agents/backend-engineer.md@main`)."""

from __future__ import annotations

import difflib
import hashlib
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.config import AgentSettings, Price
from harness.errors import ConfigError, UserError

NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.S)


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    model: str  # an alias (sonnet, opus, haiku, inherit) or a full model id
    tools: tuple[str, ...] | None  # None: every tool
    body: str
    source: str  # path, or path@revision
    extra: dict[str, Any] = field(default_factory=dict)
    runtime: str = "loop"  # what runs it: Crucible's loop or the real Claude Code

    @property
    def digest(self) -> str:
        """A content hash of what shapes the agent: model, tools, the prompt text, and the runtime when
        it is not the built-in loop."""
        text = f"{self.model}\n{','.join(self.tools or ('*',))}\n{self.body}"
        if self.runtime != "loop":
            text += f"\nruntime={self.runtime}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """A short id for sample names and reports: the file's stem, plus the revision when from git,
        plus the runtime in brackets when it is not the built-in loop (`backend-engineer[claude-code]`)."""
        stem = Path(self.source.split("@", 1)[0]).stem
        label = f"{stem}@{self.source.split('@', 1)[1]}" if "@" in self.source else stem
        return label if self.runtime == "loop" else f"{label}[{self.runtime}]"


def _tools(value: Any, source: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        items = [t.strip() for t in value.split(",")]
    elif isinstance(value, list) and all(isinstance(t, str) for t in value):
        items = [t.strip() for t in value]
    else:
        raise ConfigError(
            f"{source}: field 'tools' must be a comma-separated string or a list of names",
            "write it as `tools: Read, Write, Bash`",
        )
    return tuple(t for t in items if t)


KEY_LINE = re.compile(r"^([A-Za-z][\w-]*):(?:\s+(.*))?$")


def _lenient(block: str) -> dict[str, Any]:
    """``key: value`` lines; indented lines continue the previous value; quotes around a value dropped."""
    meta: dict[str, Any] = {}
    key = None
    for line in block.splitlines():
        match = KEY_LINE.match(line)
        if match:
            key = match.group(1)
            meta[key] = (match.group(2) or "").strip()
        elif key and line.strip() and line[:1].isspace():
            meta[key] = f"{meta[key]} {line.strip()}".strip()
        elif line.strip() and not line.lstrip().startswith("#"):
            return {}
    for name, value in meta.items():
        if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            meta[name] = value[1:-1]
    return meta


def parse_variant(text: str, source: str) -> Variant:
    match = FRONT_MATTER.match(text)
    if not match:
        raise ConfigError(
            f"{source}: no YAML front matter",
            "start the file with a `---` block holding name and description",
        )
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        # Claude Code reads front matter line by line, so real files carry descriptions with ": " in
        # them that strict YAML rejects; read those the same lenient way.
        meta = _lenient(match.group(1))
        if not meta:
            raise ConfigError(
                f"{source}: front matter is neither YAML nor `key: value` lines ({str(exc).splitlines()[0]})",
                "fix the lines between the `---` markers",
            ) from exc
    if not isinstance(meta, dict):
        raise ConfigError(f"{source}: front matter must be a mapping", "write `key: value` lines")
    for key in ("name", "description"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise ConfigError(
                f"{source}: field '{key}' is missing or empty", f"add `{key}: ...` to the front matter"
            )
    name = meta["name"].strip()
    if not NAME.match(name):
        raise ConfigError(
            f"{source}: field 'name' ({name!r}) must be lowercase words joined by hyphens",
            "for example `name: backend-engineer`",
        )
    body = match.group(2).strip()
    if not body:
        raise ConfigError(
            f"{source}: the prompt body is empty", "write the system prompt below the front matter"
        )
    model = str(meta.get("model") or "inherit").strip()
    known = {"name", "description", "model", "tools"}
    return Variant(
        name=name,
        description=meta["description"].strip(),
        model=model,
        tools=_tools(meta.get("tools"), source),
        body=body,
        source=source,
        extra={k: v for k, v in meta.items() if k not in known},
    )


def load_variant(spec: str, project_root: Path) -> Variant:
    """``path`` (relative to the project) or ``path@revision`` (read from git)."""
    path_text, _, revision = spec.partition("@")
    if revision:
        try:
            proc = subprocess.run(
                ["git", "show", f"{revision}:{path_text}"],
                cwd=project_root,
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UserError(f"cannot run git for variant {spec}: {exc}", "install git") from exc
        if proc.returncode != 0:
            raise UserError(
                f"variant {spec}: git cannot read {path_text} at {revision} ({proc.stderr.strip()[:200]})",
                "check the path and the revision (`git log -- PATH`)",
            )
        return parse_variant(proc.stdout, spec)
    path = project_root / path_text
    if not path.is_file():
        known = ", ".join(
            sorted(str(p.relative_to(project_root)) for p in (project_root / "agents").glob("*.md"))
        )
        raise UserError(f"unknown variant {spec!r}", f"use one of: {known or 'none'} (or PATH@REVISION)")
    return parse_variant(path.read_text(), spec)


def prompt_diff(old: Variant, new: Variant) -> str:
    """A unified diff of two variants' front matter essentials and prompt bodies."""

    def lines(variant: Variant) -> list[str]:
        head = [
            f"model: {variant.model}",
            f"tools: {', '.join(variant.tools) if variant.tools else '(all)'}",
            "",
        ]
        return [line + "\n" for line in head + variant.body.splitlines()]

    return "".join(difflib.unified_diff(lines(old), lines(new), fromfile=old.source, tofile=new.source))


def resolve_model(variant: Variant, settings: AgentSettings) -> tuple[str, Price]:
    """The model id a variant runs on (its alias mapped through `[agent.models]`) and that model's price."""
    alias = settings.inherit if variant.model in ("inherit", "") else variant.model
    model = settings.models.get(alias, alias)
    price = settings.prices.get(model)
    if price is None:
        raise ConfigError(
            f"{variant.source}: model {variant.model!r} resolves to {model!r}, which has no price",
            f'add [agent.prices."{model}"] input/output to crucible.toml, or map the alias in [agent.models]',
        )
    return model, price
