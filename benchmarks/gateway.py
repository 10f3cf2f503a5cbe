"""The model gateway's cost: the latency it adds per request, and the Claude Code layer's build time and size.

Latency: the scripted Messages API on 127.0.0.1 (tests/fake_api.py) answers a streamed request with a
tool call of ``--kb`` kilobytes; the same request is sent alternately straight to it and through a gateway
on a unix socket (key swap, allowlist, ledger, SSE assembly, exchange log), ``--requests`` times each.
Prints the medians and the added milliseconds. Relay: with ``--relay``, the same streamed request sent
alternately to the gateway's socket and to the socket of a relay container on this machine's engine (the
route of an engine elsewhere: the engine's attach streams, the relay process, the tunnel), reached through
the relay volume's folder on this machine. Layer: with ``--layer``, removes the claude-code image and
builds it again (the binary cached on the host), ``--repeats`` times; prints the median build time and
the image size next to the workspace image it extends. Flood: with ``--flood N``, two samples' gateways in
one process, N idle connections held open to one, and the other's latency before, during and after.

    .venv/bin/python -m benchmarks.gateway [--requests 300] [--kb 20] [--relay] [--layer --repeats 3]
                                           [--flood 5000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from harness.agents.gateway import Budgets, Gateway, HttpUpstream, Ledger
from harness.config import AgentSettings, load_config
from tests.fake_api import fake_api, tool_message

MODEL = "claude-sonnet-4-6"


def latency(requests: int, kb: int) -> None:
    settings = AgentSettings()
    body = {"model": MODEL, "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    answer = tool_message(
        "Write", {"file_path": "/workspace/a.py", "content": "x" * (kb * 1000)}, model=MODEL
    )
    with tempfile.TemporaryDirectory() as scratch, fake_api() as api:
        api.then = lambda _seen: answer
        ledger = Ledger(Budgets(10**6, 10**12, 10**9, 10**6), settings.prices, settings)
        upstream = HttpUpstream(api.url, "benchmark-key", 0, 60)
        with Gateway(
            Path(scratch) / "api.sock", upstream, ledger, frozenset({MODEL}), Path(scratch)
        ) as gateway:
            direct = httpx.Client(base_url=api.url)
            proxied = httpx.Client(
                transport=httpx.HTTPTransport(uds=str(gateway.socket_path)), base_url="http://gw"
            )
            times: dict[str, list[float]] = {"direct": [], "gateway": []}
            for _ in range(requests):
                for name, client in (("direct", direct), ("gateway", proxied)):
                    started = time.perf_counter()
                    response = client.post("/v1/messages", json=body, headers={"x-api-key": "placeholder"})
                    assert response.status_code == 200 and b"message_stop" in response.content
                    times[name].append(time.perf_counter() - started)
        upstream.close()
    direct_ms = statistics.median(times["direct"]) * 1000
    gateway_ms = statistics.median(times["gateway"]) * 1000
    print(f"{requests} streamed requests of a {kb} kB answer each way")
    added = gateway_ms - direct_ms
    print(f"median direct {direct_ms:.2f} ms, through the gateway {gateway_ms:.2f} ms: +{added:.2f} ms")


def relay(requests: int, kb: int) -> None:
    from harness.agents.gateway.relay import start_relay
    from harness.images import ensure_images
    from harness.sandbox.docker_backend import DockerBackend
    from harness.sandbox.engine import connect

    settings, config = AgentSettings(), load_config()
    client = connect(config.sandbox.docker_host)
    images = ensure_images(client, config.images, lambda _line: None)
    body = {"model": MODEL, "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    answer = tool_message(
        "Write", {"file_path": "/workspace/a.py", "content": "x" * (kb * 1000)}, model=MODEL
    )
    pod = DockerBackend(client, images.base.tag).create_pod("benchmark-relay", "relay")
    times: dict[str, list[float]] = {"gateway": [], "relay": []}
    try:
        with tempfile.TemporaryDirectory() as scratch, fake_api() as api:
            api.then = lambda _seen: answer
            ledger = Ledger(Budgets(10**6, 10**12, 10**9, 10**6), settings.prices, settings)
            upstream = HttpUpstream(api.url, "benchmark-key", 0, 60)
            socket = Path(scratch) / "api.sock"
            with (
                Gateway(socket, upstream, ledger, frozenset({MODEL}), Path(scratch)),
                start_relay(pod, images.workspace.tag, "/run/crucible-gateway", socket),
            ):
                volume = next(v for v in client.volumes.list() if v.name.startswith(f"crucible-{pod.pod_id}"))
                relayed = Path(volume.attrs["Mountpoint"]) / "api.sock"
                clients = {
                    name: httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://gw")
                    for name, path in (("gateway", socket), ("relay", relayed))
                }
                for _ in range(requests):
                    for name, http in clients.items():
                        started = time.perf_counter()
                        response = http.post("/v1/messages", json=body)
                        assert response.status_code == 200 and b"message_stop" in response.content
                        times[name].append(time.perf_counter() - started)
            upstream.close()
    finally:
        pod.close()
    gateway_ms, relay_ms = (statistics.median(times[name]) * 1000 for name in ("gateway", "relay"))
    print(f"{requests} streamed requests of a {kb} kB answer to the gateway and through a relay container")
    added = relay_ms - gateway_ms
    print(f"median gateway {gateway_ms:.2f} ms, through the relay {relay_ms:.2f} ms: +{added:.2f} ms")


def flood(connections: int) -> None:
    """Two samples' gateways in one process: ``connections`` idle connections are opened to one and held,
    while the other is asked a streamed request every 20 ms; its latency before, during and after."""
    import resource
    import socket
    import threading

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections + 2_000), hard))
    settings = AgentSettings()
    body = {"model": MODEL, "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    answer = tool_message("Write", {"file_path": "/workspace/a.py", "content": "x" * 2000}, model=MODEL)
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    with tempfile.TemporaryDirectory() as scratch, fake_api() as api:
        api.then = lambda _seen: answer
        upstream = HttpUpstream(api.url, "benchmark-key", 0, 60)

        def gateway(name: str) -> Gateway:
            ledger = Ledger(Budgets(10**6, 10**12, 10**9, 10**6), settings.prices, settings)
            (Path(scratch) / name).mkdir()
            return Gateway(
                Path(scratch) / name / "api.sock", upstream, ledger, frozenset({MODEL}), Path(scratch) / name
            )

        with gateway("flooded") as flooded, gateway("other") as other:
            http = httpx.Client(
                transport=httpx.HTTPTransport(uds=str(other.socket_path)), base_url="http://gw"
            )
            phase = ["before"]
            done = threading.Event()

            def probe() -> None:
                while not done.is_set():
                    started = time.perf_counter()
                    assert http.post("/v1/messages", json=body).status_code == 200
                    phases[phase[0]].append(time.perf_counter() - started)
                    time.sleep(0.02)

            prober = threading.Thread(target=probe)
            prober.start()
            time.sleep(2)
            phase[0] = "during"
            held, opened = [], time.perf_counter()
            for _ in range(connections):
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.connect(str(flooded.socket_path))
                held.append(conn)
            opened = time.perf_counter() - opened
            time.sleep(2)
            for conn in held:
                conn.close()
            phase[0] = "after"
            time.sleep(2)
            done.set()
            prober.join()
        upstream.close()
    print(
        f"{connections} idle connections to one gateway (opened in {opened:.1f} s); the other one answered:"
    )
    for name, times in phases.items():
        ms = sorted(t * 1000 for t in times)
        print(f"  {name:>6}: {len(ms)} requests, median {statistics.median(ms):.2f} ms, max {ms[-1]:.2f} ms")


def layer(repeats: int) -> None:
    from harness.images import ensure_images
    from harness.images.claude_code import ensure_claude_code
    from harness.sandbox.engine import connect

    config = load_config()
    client = connect(config.sandbox.docker_host)
    images = ensure_images(client, config.images, lambda _line: None)
    version = config.agent.claude_code.version
    seconds = []
    for _ in range(repeats):
        built = ensure_claude_code(client, config.images, version, images.workspace.image_id, lambda _l: None)
        client.images.remove(built.tag, force=True)
        started = time.monotonic()
        built = ensure_claude_code(client, config.images, version, images.workspace.image_id, lambda _l: None)
        seconds.append(time.monotonic() - started)
    size = client.images.get(built.tag).attrs["Size"] / 1e6
    base = client.images.get(images.workspace.tag).attrs["Size"] / 1e6
    print(f"claude-code {version} layer: built in median {statistics.median(seconds):.1f} s over {repeats}")
    print(f"image {size:.0f} MB, of which {size - base:.0f} MB over the workspace image ({base:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--kb", type=int, default=20)
    parser.add_argument("--relay", action="store_true")
    parser.add_argument("--layer", action="store_true")
    parser.add_argument("--flood", type=int, default=0, help="idle connections to one of two gateways")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    latency(args.requests, args.kb)
    if args.relay:
        relay(args.requests, args.kb)
    if args.layer:
        layer(args.repeats)
    if args.flood:
        flood(args.flood)


if __name__ == "__main__":
    main()
