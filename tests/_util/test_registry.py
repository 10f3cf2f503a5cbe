"""Extension points by name: an unknown name is one line that names the setting and lists the choices."""

from __future__ import annotations

import pytest

from harness._util.registry import Registry
from harness.errors import ConfigError
from harness.execute import EXECUTORS
from harness.sandbox import BACKENDS
from harness.score.migrations.drivers import DRIVERS
from harness.score.security.linters import LINTERS


def test_lookup_and_unknown_name() -> None:
    registry: Registry[int] = Registry("colour", "paint.colour")
    registry.add("red", 1)

    @registry.register("blue")
    def _blue() -> None: ...

    assert registry.get("red") == 1 and "blue" in registry and list(registry) == ["blue", "red"]
    with pytest.raises(ConfigError) as raised:
        registry.get("green")
    assert raised.value.one_line() == "paint.colour green is unknown (no such colour): use one of: blue, red"
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("red", 2)


@pytest.mark.parametrize(
    ("registry", "names"),
    [
        (BACKENDS, ["docker", "local"]),
        (EXECUTORS, ["local", "ray"]),
        (DRIVERS, ["alembic", "django"]),
        (LINTERS, ["bandit", "ruff", "semgrep"]),
    ],
    ids=["backends", "executors", "drivers", "linters"],
)
def test_every_extension_point_is_a_registry(registry: Registry[object], names: list[str]) -> None:
    assert list(registry) == names
    with pytest.raises(ConfigError, match="use one of: " + ", ".join(names)):
        registry.get("nope")
