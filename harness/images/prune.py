"""Removing Crucible's images from an engine.

App images pile up (one per distinct set of requirements a generated backend asked for); the pod images
(base, runtime, PostgreSQL, workspace) are rebuilt on demand from their content keys. The engine refuses
to remove an image that another image was built on, so images go children first, and it refuses (or,
forced, breaks) an image a container still uses, so those are kept and counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import SandboxError

APP_PREFIX = "crucible-app-"
ANY_PREFIX = "crucible-"


@dataclass
class Pruned:
    removed: list[str] = field(default_factory=list)  # tags (or ids) of what went
    in_use: list[str] = field(default_factory=list)  # kept: a container still uses it or an image above it


def _tags(summary: dict[str, Any]) -> list[str]:
    return [t for t in summary.get("RepoTags") or [] if t != "<none>:<none>"]


def _name(summary: dict[str, Any]) -> str:
    tags = _tags(summary)
    return tags[0] if tags else str(summary["Id"]).removeprefix("sha256:")[:12]


def _targets(images: dict[str, dict[str, Any]], prefix: str) -> set[str]:
    """The ids of images tagged ``prefix*`` and of everything built on top of them."""
    chosen = {i for i, s in images.items() if any(t.startswith(prefix) for t in _tags(s))}
    while True:
        children = {i for i, s in images.items() if s.get("ParentId") in chosen} - chosen
        if not children:
            return chosen
        chosen |= children


def prune_images(client: Any, everything: bool = False) -> Pruned:
    """Remove app images (``everything``: all of Crucible's images) that no container uses."""
    try:
        images = {s["Id"]: s for s in client.api.images(all=True)}
        used = {c["ImageID"] for c in client.api.containers(all=True)}
    except Exception as exc:
        raise SandboxError(f"listing images failed: {type(exc).__name__}: {exc}") from exc
    targets = _targets(images, ANY_PREFIX if everything else APP_PREFIX)
    # an image in use keeps its ancestors: removing them would fail anyway
    keep: set[str] = set()
    for image_id in targets & used:
        while image_id in images:
            keep.add(image_id)
            image_id = images[image_id].get("ParentId") or ""
    result = Pruned(in_use=sorted(_name(images[i]) for i in targets & keep if _tags(images[i])))
    left = targets - keep
    while left:
        parents = {images[i].get("ParentId") for i in left}
        leaves = [i for i in left if i not in parents]
        for image_id in leaves:
            try:
                client.api.remove_image(image_id, force=True)
            except Exception as exc:
                if "No such image" not in str(exc):  # gone with a child it was the last parent of
                    raise SandboxError(
                        f"removing image {_name(images[image_id])} failed: {type(exc).__name__}: {exc}"
                    ) from exc
            if _tags(images[image_id]):
                result.removed.append(_name(images[image_id]))
            left.discard(image_id)
    result.removed.sort()
    return result
