"""The Debian mirror this machine's apt already uses, read from its sources (never hard-coded)."""

from __future__ import annotations

from pathlib import Path

from harness.errors import ConfigError

APT_DIR = Path("/etc/apt")


def _deb822_entries(text: str) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields:
            entries.append(fields)
    return entries


def mirror_candidates(apt_dir: Path = APT_DIR) -> list[tuple[str, list[str]]]:
    """(URI, suites) pairs of every ``deb`` source configured on the host, in file order."""
    found: list[tuple[str, list[str]]] = []
    sources_dir = apt_dir / "sources.list.d"
    for path in sorted(sources_dir.glob("*.sources")) if sources_dir.is_dir() else []:
        for entry in _deb822_entries(path.read_text(errors="replace")):
            if "deb" not in entry.get("types", "deb").split():
                continue
            suites = entry.get("suites", "").split()
            found.extend((uri, suites) for uri in entry.get("uris", "").split())
    lists = [apt_dir / "sources.list"]
    lists += sorted(sources_dir.glob("*.list")) if sources_dir.is_dir() else []
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) >= 3 and words[0] == "deb":
                rest = [w for w in words[1:] if not w.startswith("[")]
                if len(rest) >= 2:
                    found.append((rest[0], [rest[1]]))
    return found


def host_mirror(suite: str, override: str | None = None, apt_dir: Path = APT_DIR) -> str:
    """The mirror URI to debootstrap ``suite`` from: the override, else the host source that serves
    the plain suite (not its -security or -updates pockets)."""
    if override:
        return override.rstrip("/")
    candidates = mirror_candidates(apt_dir)
    for uri, suites in candidates:
        if suite in suites:
            return uri.rstrip("/")
    for uri, suites in candidates:
        if not any(s.endswith("-security") for s in suites):
            return uri.rstrip("/")
    raise ConfigError(
        f"no Debian mirror found in {apt_dir}/sources.list(.d)",
        "set images.apt_mirror in crucible.toml to your Debian mirror's URL",
    )
