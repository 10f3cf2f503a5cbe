"""How the claude-code runtime's containers reach the gateway on each engine: engines of this machine
mount the socket's folder; any other engine gets a relay container (or a clear error if told to mount)."""

from __future__ import annotations

import pytest

from harness.config import load_config
from harness.errors import ConfigError
from harness.pipeline.engine import gateway_route, on_this_machine


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("", True),
        ("unix:///var/run/docker.sock", True),
        ("tcp://127.0.0.1:2376", True),
        ("tcp://localhost:2376", True),
        ("tcp://10.0.0.7:2376", False),
        ("ssh://root@127.0.0.1:2222", True),
        ("ssh://builder@ci-node-3", False),
    ],
)
def test_only_engines_on_this_machine_can_mount_the_gateway_socket(url: str, local: bool) -> None:
    assert on_this_machine(url) is local
    assert gateway_route(url, "auto") == ("mount" if local else "relay")
    assert gateway_route(url, "relay") == "relay"


def test_mounting_on_an_engine_elsewhere_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"ci-node-3 is not on this machine.*gateway = \"relay\""):
        gateway_route("ssh://builder@ci-node-3", "mount")


def test_the_route_is_a_setting_of_each_engine() -> None:
    config = load_config(
        None,
        [
            'sandbox.engines=[{url="unix:///var/run/docker.sock"}, {url="tcp://127.0.0.1:2376", gateway="relay"}]'
        ],
    )
    assert [e.gateway for e in config.sandbox.engines] == ["auto", "relay"]
    with pytest.raises(ConfigError, match="gateway"):
        load_config(None, ['sandbox.engines=[{url="tcp://127.0.0.1:2376", gateway="tunnel"}]'])
