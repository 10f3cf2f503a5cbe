"""Which engines the claude-code runtime can use: those of this machine, where the gateway's socket
folder can be mounted."""

from __future__ import annotations

import pytest

from harness.pipeline.generate import on_this_machine


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
