"""Prompt variants: the sub-agent format, git revisions, models and prices (no Docker)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.agents.variants import load_variant, parse_variant, prompt_diff, resolve_model
from harness.config import load_config
from harness.errors import ConfigError, UserError

PROJECT = Path(__file__).parents[2]
SEED = PROJECT.parent / "shared" / "seeds" / "backend-engineer.md"


def test_the_seed_sub_agent_file_loads() -> None:
    variant = parse_variant(SEED.read_text(), str(SEED))
    assert variant.name == "backend-engineer" and variant.model == "sonnet" and variant.tools is None
    assert variant.description.startswith("Use this agent") and len(variant.body) > 1000
    assert len(variant.digest) == 12


def test_bundled_variants_load_and_differ() -> None:
    specs = sorted(f"agents/{p.name}" for p in (PROJECT / "agents").glob("*.md"))
    variants = [load_variant(spec, PROJECT) for spec in specs]
    assert len(variants) >= 3 and len({v.digest for v in variants}) == len(variants)
    checklist = next(v for v in variants if v.name == "backend-engineer-checklist")
    terse = next(v for v in variants if v.name == "backend-engineer-terse")
    assert checklist.tools == ("Read", "Write", "Edit", "Bash", "Glob", "Grep") and terse.tools is None
    diff = prompt_diff(terse, checklist)
    assert diff.startswith("--- agents/backend-engineer-terse.md") and "+Security checklist:" in diff


def test_front_matter_forms() -> None:
    listed = parse_variant(
        "---\nname: a-b\ndescription: d\ntools:\n  - Read\n  - Bash\ncolor: red\n---\nbody\n", "x"
    )
    assert listed.tools == ("Read", "Bash") and listed.extra == {"color": "red"} and listed.model == "inherit"
    lenient = parse_variant(
        "---\nname: a\ndescription: has: colons: inside\ntools: Read, Grep\n---\nbody", "x"
    )
    assert lenient.description == "has: colons: inside" and lenient.tools == ("Read", "Grep")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter at all", "no YAML front matter"),
        ("---\ndescription: d\n---\nbody", "field 'name' is missing"),
        ("---\nname: Backend_Engineer\ndescription: d\n---\nbody", "lowercase words joined by hyphens"),
        ("---\nname: a\ndescription: d\n---\n\n", "the prompt body is empty"),
        ("---\nname: a\ndescription: d\ntools: 5\n---\nbody", "field 'tools'"),
        ("---\n- just\n- a list\n---\nbody", "must be a mapping"),
    ],
)
def test_malformed_variants_name_the_file_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_variant(text, "agents/broken.md")
    assert info.value.one_line().startswith("agents/broken.md: ")


def test_variant_from_a_git_revision(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "agents").mkdir()
    target = tmp_path / "agents" / "v.md"
    target.write_text("---\nname: v\ndescription: first\n---\nversion one\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    target.write_text("---\nname: v\ndescription: second\n---\nversion two\n")
    old, new = load_variant("agents/v.md@HEAD", tmp_path), load_variant("agents/v.md", tmp_path)
    assert old.body == "version one" and new.body == "version two" and old.digest != new.digest
    assert old.label == "v@HEAD" and new.label == "v"
    with pytest.raises(UserError, match=r"git cannot read agents/v\.md at no-such-rev"):
        load_variant("agents/v.md@no-such-rev", tmp_path)
    with pytest.raises(UserError, match="unknown variant"):
        load_variant("agents/missing.md", tmp_path)


def test_model_aliases_and_prices(tmp_path: Path) -> None:
    settings = load_config(tmp_path).agent
    variant = parse_variant("---\nname: a\ndescription: d\nmodel: opus\n---\nbody", "a.md")
    assert resolve_model(variant, settings)[0] == "claude-opus-4-8"
    inherit = parse_variant("---\nname: a\ndescription: d\n---\nbody", "a.md")
    assert resolve_model(inherit, settings)[0] == settings.models[settings.inherit]
    unknown = parse_variant("---\nname: a\ndescription: d\nmodel: claude-mystery-9\n---\nbody", "a.md")
    with pytest.raises(ConfigError, match=r"claude-mystery-9.*has no price"):
        resolve_model(unknown, settings)
