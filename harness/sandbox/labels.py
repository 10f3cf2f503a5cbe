"""Finding and removing what Crucible left on an engine, by the labels every container, network and
volume it creates carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _label_filters(labels: Mapping[str, str | None]) -> dict[str, list[str]]:
    return {"label": [key if value is None else f"{key}={value}" for key, value in labels.items()]}


def labelled_containers(client: Any, labels: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """Summaries (``Id``, ``Names``, ``Labels``, ``State``) of the containers carrying ``labels``.

    One list call: the SDK's ``containers.list`` inspects each container afterwards and fails when
    another thread removes one in between, which concurrent samples do all the time."""
    return list(client.api.containers(all=True, filters=_label_filters(labels)))


def remove_labelled(client: Any, labels: Mapping[str, str | None]) -> dict[str, int]:
    """Force-remove every container, network and volume carrying ``labels`` (None: any value)."""
    filters = _label_filters(labels)
    counts = {"containers": 0, "networks": 0, "volumes": 0}
    for container in labelled_containers(client, labels):
        try:
            client.api.remove_container(container["Id"], force=True, v=True)
            counts["containers"] += 1
        except Exception:  # noqa: S112 - removed concurrently by someone else
            continue
    for kind, collection in (("networks", client.networks), ("volumes", client.volumes)):
        for item in collection.list(filters=filters):
            try:
                item.remove()
                counts[kind] += 1
            except Exception:  # noqa: S112 - still in use or already gone
                continue
    return counts
