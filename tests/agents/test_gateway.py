"""The model gateway on a real unix socket in front of a scripted Messages API on loopback: what passes,
what is refused and logged, where the key is added, retries, streaming without buffering, budgets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from harness.agents.gateway import Budgets, Gateway, HttpUpstream, Ledger
from harness.agents.gateway.policy import Policy
from harness.agents.gateway.sse import MessageAssembler, encode_events
from harness.config import AgentSettings
from harness.records.gateway import Exchange, GatewayLogLine
from tests.fake_api import Answer, FakeApi, fake_api, text_message, tool_message

KEY = "sk-ant-real-key-for-tests-0123456789"
MODEL = "claude-sonnet-4-6"
SETTINGS = AgentSettings()


def budgets(**overrides: float) -> Budgets:
    values = {
        "requests": 50,
        "tokens": 10**7,
        "dollars": 100.0,
        "wall_s": 600.0,
    }
    return Budgets(**(values | overrides))  # type: ignore[arg-type]


class Running:
    def __init__(self, api: FakeApi, gateway: Gateway, folder: Path) -> None:
        self.api, self.gateway, self.folder = api, gateway, folder
        self.client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(gateway.socket_path)), base_url="http://gw"
        )

    def post(
        self, body: dict[str, object], path: str = "/v1/messages?beta=true", **headers: str
    ) -> httpx.Response:
        sent = {"x-api-key": "placeholder", "anthropic-version": "2023-06-01"} | headers
        return self.client.post(path, json=body, headers=sent)

    def log(self) -> list[GatewayLogLine]:
        lines = self.gateway.log_path.read_text().splitlines()
        return [GatewayLogLine.model_validate_json(line) for line in lines]

    def exchanges(self) -> list[Exchange]:
        lines = self.gateway.exchanges_path.read_text().splitlines()
        return [Exchange.model_validate_json(line) for line in lines]


@contextmanager
def started(
    tmp_path: Path,
    policy: Policy | None = None,
    settings: AgentSettings = SETTINGS,
    base_url: str | None = None,
    **limits: float,
) -> Iterator[Running]:
    ledger = Ledger(budgets(**limits), settings.prices, settings)
    with fake_api() as api:
        upstream = HttpUpstream(base_url or api.url, KEY, max_retries=3, timeout_s=30)
        with Gateway(
            tmp_path / "sock" / "api.sock", upstream, ledger, frozenset({MODEL}), tmp_path, policy=policy
        ) as gateway:
            yield Running(api, gateway, tmp_path)
        upstream.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with started(tmp_path) as gateway:
        yield gateway


def ask(stream: bool = False, model: str = MODEL) -> dict[str, object]:
    return {
        "model": model,
        "max_tokens": 100,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_only_the_messages_endpoints_pass_and_the_rest_is_refused_and_logged(running: Running) -> None:
    assert running.client.head("/").status_code == 200
    assert running.client.get("/v1/models").status_code == 403
    refused = running.post(ask(), path="/v1/complete")
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    assert running.post(ask(), path="/v1/messages/count_tokens").json() == {"input_tokens": 42}
    assert running.api.seen and all(s.path.startswith("/v1/messages") for s in running.api.seen)
    decisions = [(line.method, line.path, line.decision) for line in running.log()]
    assert ("GET", "/v1/models", "refused:path") in decisions
    assert ("POST", "/v1/complete", "refused:path") in decisions


def test_the_sandbox_credential_is_dropped_and_the_real_key_added_on_the_host(running: Running) -> None:
    running.api.script.append(Answer(text_message("done")))
    answer = running.post(ask(), authorization="Bearer sandbox-token")
    assert answer.status_code == 200 and answer.json()["content"][0]["text"] == "done"
    seen = running.api.seen[-1].headers
    assert seen["x-api-key"] == KEY and "authorization" not in seen
    line = running.log()[-1]
    assert line.decision == "forwarded" and line.key_added
    assert set(line.credentials_dropped) == {"x-api-key", "authorization"}
    on_disk = "".join(p.read_text() for p in running.folder.glob("*.jsonl"))
    assert KEY not in on_disk and "placeholder" not in on_disk


def test_a_model_outside_the_allowlist_is_refused_before_any_upstream_call(running: Running) -> None:
    answer = running.post(ask(model="claude-opus-4-8"))
    assert answer.status_code == 403 and "claude-opus-4-8" in answer.json()["error"]["message"]
    assert running.api.seen == []
    assert running.log()[-1].decision == "refused:model"


def test_429_and_529_are_retried_before_the_sandbox_sees_an_answer(running: Running) -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    running.api.script += [
        Answer(error, status=429, headers={"retry-after": "0"}),
        Answer(error, status=529),
        Answer(text_message("third time")),
    ]
    answer = running.post(ask())
    assert answer.status_code == 200 and answer.json()["content"][0]["text"] == "third time"
    assert len(running.api.seen) == 3


def test_a_stream_passes_through_as_it_arrives_and_is_recorded_assembled(running: Running) -> None:
    hold = threading.Event()
    running.api.script.append(
        Answer(tool_message("Write", {"file_path": "/workspace/a.py", "content": "x = 1\n"}), hold=hold)
    )
    first: list[bytes] = []
    with running.client.stream("POST", "/v1/messages", json=ask(stream=True)) as response:
        chunks = response.iter_raw()
        first.append(next(chunks))  # arrives while upstream still holds the rest
        assert b"message_start" in first[0] and not hold.is_set()
        hold.set()
        rest = b"".join(chunks)
    assembler = MessageAssembler()
    assembler.feed(first[0] + rest)
    assert assembler.message["content"][0]["input"] == {"file_path": "/workspace/a.py", "content": "x = 1\n"}
    recorded = running.exchanges()[-1]
    assert recorded.stream and recorded.response["stop_reason"] == "tool_use"
    assert recorded.response["content"][0]["input"]["content"] == "x = 1\n"
    assert recorded.dollars == pytest.approx((100 * 3 + 20 * 15) / 1e6)


def test_past_the_request_budget_the_answer_is_an_api_error_naming_it(tmp_path: Path) -> None:
    with started(tmp_path, requests=2) as running:
        refused_after_two(running)


def refused_after_two(running: Running) -> None:
    running.api.then = lambda _seen: tool_message("Bash", {"command": "true"})
    assert [running.post(ask()).status_code for _ in range(2)] == [200, 200]
    refused = running.post(ask())
    assert refused.status_code == 400 and "budget:requests" in refused.json()["error"]["message"]
    assert refused.headers["x-crucible-budget"] == "budget:requests"
    assert running.gateway.ledger.stopped_by == "budget:requests" and len(running.api.seen) == 2
    assert running.log()[-1].decision == "refused:budget"


def test_the_dollar_budget_counts_the_price_of_each_answer(tmp_path: Path) -> None:
    # each answer costs $0.0009 (100 tokens in, 40 out); each request reserves its input estimate (about
    # 1,050 tokens at the hour-long cache write's $6 a million, $0.0063) and its max_tokens (100 at $15 a
    # million, $0.0015), so a fourth request no longer fits in $0.01 once three answers ($0.0027) are paid
    with started(tmp_path, dollars=0.01) as running:
        running.api.then = lambda _seen: text_message("long", output_tokens=40)
        assert [running.post(ask()).status_code for _ in range(4)] == [200, 200, 200, 400]
        assert running.gateway.ledger.dollars == pytest.approx(0.0027)
        assert running.gateway.ledger.stopped_by == "budget:dollars"


def test_the_sse_assembler_reads_any_chunking_of_the_stream_it_encodes() -> None:
    blocks = [
        {"type": "thinking", "thinking": "plan", "signature": "sig"},
        {"type": "text", "text": "héllo"},
        {"type": "tool_use", "id": "t1", "name": "Edit", "input": {"old_string": "a", "new_string": "b"}},
    ]
    message = {**text_message(""), "content": blocks, "stop_reason": "tool_use"}
    data = encode_events(message)
    for size in (1, 7, len(data)):
        assembler = MessageAssembler()
        for start in range(0, len(data), size):
            assembler.feed(data[start : start + size])
        assert assembler.message["content"] == blocks
        assert assembler.message["stop_reason"] == "tool_use"
        assert assembler.message["usage"] == message["usage"]
    assert json.loads(data.split(b"\n")[1][5:])["type"] == "message_start"
