"""The gateway as an attack surface, tried from the sandbox's side over its real socket, in front of a
scripted Messages API on loopback with a canary key: no egress through the API on either endpoint (and
exactly the opted-in tool with the opt-in), budgets that hold under concurrency and hang-ups, answers that
never carry the key, cookies or organisation headers, and one log line for every refusal."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from harness.agents.gateway.policy import Policy
from harness.config import AgentSettings
from tests.agents.test_gateway import KEY, MODEL, SETTINGS, Running, ask, started
from tests.agents.test_gateway_policy import EGRESS
from tests.fake_api import Answer, Seen, message, text_message

ENDPOINTS = ("/v1/messages?beta=true", "/v1/messages/count_tokens?beta=true")


def raw(running: Running, data: bytes) -> bytes:
    """Send ``data`` on a new connection to the gateway; what came back before it closed."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(str(running.gateway.socket_path))
        with contextlib.suppress(OSError):  # refused and closed before all was sent
            conn.sendall(data)
        out = b""
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                out += chunk
        return out


def post_raw(body: object, *headers: bytes) -> bytes:
    data = json.dumps(body).encode()
    head = b"POST /v1/messages HTTP/1.1\r\nconnection: close\r\ncontent-length: %d\r\n" % len(data)
    return head + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + data


def test_no_request_that_makes_the_api_reach_out_gets_upstream_on_either_endpoint(tmp_path: Path) -> None:
    with started(tmp_path) as running:
        statuses = [
            running.post(body, path=path).status_code for body in EGRESS.values() for path in ENDPOINTS
        ]
        betas = ("web-fetch-2025-09-10", "files-api-2025-04-14", "mcp-client-2025-11-20", "skills-2025-10-02")
        for path in ENDPOINTS:
            statuses += [
                running.post(ask(), path=path, **{"anthropic-beta": beta}).status_code for beta in betas
            ]
        assert set(statuses) == {403} and running.api.seen == []
        lines = running.log()
        assert len(lines) == len(statuses) and {line.decision for line in lines} == {"refused:policy"}
        assert all(line.reason for line in lines)


def test_with_the_opt_in_exactly_the_allowed_tool_passes_and_is_recorded(tmp_path: Path) -> None:
    with started(tmp_path, policy=Policy(server_tools=frozenset({"web_search"}))) as running:
        answer = text_message("found it")
        answer["usage"] |= {"server_tool_use": {"web_search_requests": 3}}
        running.api.script.append(Answer(answer))
        assert running.post(EGRESS["web search tool"]).status_code == 200
        for other in ("web fetch tool", "mcp_servers", "a URL image", "code execution tool"):
            assert running.post(EGRESS[other]).status_code == 403
        assert [seen.body["tools"][0]["type"] for seen in running.api.seen] == ["web_search_20250305"]
        forwarded = [line for line in running.log() if line.decision == "forwarded"]
        assert [line.server_tools for line in forwarded] == [["web_search"]]
        # the searches are priced: 3 at $10 a thousand, beside the tokens
        assert running.exchanges()[-1].dollars == round((100 * 3 + 10 * 15) / 1e6 + 0.03, 6)
        assert running.gateway.ledger.usage.server_tools == {"web_search_requests": 3}


def test_upstream_gets_the_parsed_request_re_serialised_with_known_headers_only(tmp_path: Path) -> None:
    with started(tmp_path) as running:
        running.api.then = lambda _seen: text_message("ok")
        sent = b'{"model": "claude-sonnet-4-6",  "max_tokens": 1000000, "messages": [{"role": "user", "content": "hi"}]}'
        headers = {
            "x-api-key": "placeholder",
            "content-type": "text/plain",
            "cookie": "session=1",
            "x-forwarded-for": "10.0.0.1",
            "x-evil": "1",
            "anthropic-beta": "claude-code-20250219",
            "x-claude-code-agent-id": "a0123456789abcdef",
            "x-stainless-lang": "js",
        }
        assert (
            running.client.post("/v1/messages?beta=true&x=1", content=sent, headers=headers).status_code
            == 200
        )
        seen = running.api.seen[-1]
        assert seen.body["max_tokens"] == SETTINGS.max_output_tokens  # clamped to the configured limit
        assert seen.path == "/v1/messages"  # a query other than beta=true is not passed on
        assert seen.headers["x-api-key"] == KEY and seen.headers["content-type"] == "application/json"
        assert seen.headers["anthropic-beta"] == "claude-code-20250219"
        assert seen.headers["x-claude-code-agent-id"] == "a0123456789abcdef"
        assert not {"cookie", "x-forwarded-for", "x-evil"} & set(seen.headers)
        # a body naming two models: refused, although its last value is allowed
        twice = b'{"model":"claude-opus-4-8","model":"claude-sonnet-4-6","max_tokens":9,"messages":[]}'
        refused = running.client.post("/v1/messages", content=twice)
        assert refused.status_code == 400 and len(running.api.seen) == 1
        assert running.log()[-1].decision == "refused:body" and "twice" in running.log()[-1].reason


def costly(seen: Seen) -> dict[str, Any]:
    """An answer of 80,000 tokens in and as many out as the request allowed (80,000 at most): $1.44."""
    time.sleep(0.3)  # long enough for every concurrent request to be in flight at once
    answer = message(
        [{"type": "text", "text": "long"}], "end_turn", MODEL, min(80_000, seen.body["max_tokens"])
    )
    answer["usage"]["input_tokens"] = 80_000
    return answer


def test_concurrent_requests_never_charge_more_than_the_budget(tmp_path: Path) -> None:
    settings = AgentSettings(max_output_tokens=128_000)
    body = {**ask(), "max_tokens": 80_000, "messages": [{"role": "user", "content": "x" * 160_000}]}
    with started(tmp_path, settings=settings, dollars=2.0) as running:
        running.api.then = costly
        statuses: list[int] = []
        threads = [
            threading.Thread(target=lambda: statuses.append(running.post(body).status_code))
            for _ in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        ledger = running.gateway.ledger
        charged = sum(exchange.dollars for exchange in running.exchanges())
        assert statuses.count(200) >= 1 and set(statuses) <= {200, 400} and len(statuses) == 20
        assert charged <= 2.0 and ledger.dollars <= 2.0 and abs(charged - ledger.dollars) < 1e-6
        assert ledger.reserved_dollars < 1e-9 and ledger.reserved_tokens == 0
        assert ledger.stopped_by == "budget:dollars"
        assert all(seen.body["max_tokens"] <= 80_000 for seen in running.api.seen)


def fifty_blocks() -> dict[str, Any]:
    return message([{"type": "text", "text": f"part {i} "} for i in range(50)], "end_turn", MODEL, 5_000)


def hang_up_after_first_event(running: Running, answer: Answer) -> None:
    hold = threading.Event()
    answer.hold = hold
    running.api.script.append(answer)
    with running.client.stream("POST", "/v1/messages", json=ask(stream=True)) as response:
        assert b"message_start" in next(response.iter_raw())
    hold.set()
    for _ in range(200):
        if running.gateway.exchanges_path.exists():
            return
        time.sleep(0.05)


def test_a_stream_the_sandbox_hangs_up_on_is_charged_its_full_usage(tmp_path: Path) -> None:
    with started(tmp_path) as running:
        hang_up_after_first_event(running, Answer(fifty_blocks()))
        assert running.gateway.ledger.usage.output_tokens == 5_000
        assert running.exchanges()[-1].dollars == round((100 * 3 + 5_000 * 15) / 1e6, 6)
        line = running.log()[-1]
        assert line.decision == "failed" and "hung up" in line.reason


def test_a_hung_up_stream_whose_upstream_breaks_is_charged_its_reservation(tmp_path: Path) -> None:
    with started(tmp_path) as running:
        hang_up_after_first_event(running, Answer(fifty_blocks(), cut_after=10))
        usage = running.gateway.ledger.usage
        assert usage.output_tokens == 100 and usage.input_tokens > 1_000  # max_tokens and the estimate
        assert running.gateway.ledger.reserved_tokens == 0


def test_a_stream_that_ends_before_its_final_usage_is_charged_its_reservation(tmp_path: Path) -> None:
    with started(tmp_path) as running:
        running.api.script.append(Answer(fifty_blocks(), end_after=10))  # a clean end, no message_delta
        assert running.post(ask(stream=True)).status_code == 200
        usage = running.gateway.ledger.usage
        assert usage.output_tokens == 100 and usage.input_tokens > 1_000  # not message_start's 1 token


def test_count_tokens_is_refused_once_the_sample_is_stopped(tmp_path: Path) -> None:
    with started(tmp_path, requests=1) as running:
        running.api.then = lambda _seen: text_message("one")
        assert [running.post(ask()).status_code for _ in range(2)] == [200, 400]
        refused = running.post(ask(), path="/v1/messages/count_tokens")
        assert refused.status_code == 400 and refused.headers["x-crucible-budget"] == "budget:requests"
        assert [seen.path for seen in running.api.seen] == ["/v1/messages?beta=true"]


def test_answers_never_carry_the_key_cookies_or_organisation_headers(tmp_path: Path) -> None:
    leaky = {"set-cookie": "session=abc", "anthropic-organization-id": "org-canary-7", "request-id": "req_1"}
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": f"bad key {KEY}"}}
    with started(tmp_path) as running:
        running.api.script += [
            Answer(error, status=400, headers=leaky, echo_headers=True),
            Answer(text_message(f"the key is {KEY}"), headers=leaky, echo_headers=True),
            Answer(text_message(f"streamed {KEY}"), headers=leaky),
        ]
        answers = [running.post(ask()), running.post(ask()), running.post(ask(stream=True))]
        assert [a.status_code for a in answers] == [400, 200, 200]
        assert answers[0].headers["request-id"] == "req_1" and "bad key <redacted>" in answers[0].text
        for answer in answers:
            assert KEY not in answer.text and "org-canary-7" not in answer.text
            assert "set-cookie" not in answer.headers and "anthropic-organization-id" not in answer.headers
        assert "streamed <redacted>" in answers[2].text
    on_disk = "".join(path.read_text() for path in tmp_path.rglob("*.jsonl"))
    assert KEY not in on_disk and "<redacted>" in on_disk


def test_credentials_in_the_upstream_url_appear_nowhere(tmp_path: Path) -> None:
    # port 9 on loopback: nothing listens, so every attempt fails and the gateway answers 502
    with started(tmp_path, base_url="http://crucible:canary-url-password@127.0.0.1:9") as running:
        failed = running.post(ask())
        assert failed.status_code == 502 and "canary-url-password" not in failed.text
        assert "127.0.0.1:9" in failed.text
    on_disk = "".join(path.read_text() for path in tmp_path.rglob("*.jsonl"))
    assert "canary-url-password" not in on_disk and running.gateway.ledger.reserved_dollars < 1e-9


def test_every_refusal_at_any_layer_is_one_log_line(tmp_path: Path) -> None:
    attempts = [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"x-h%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
        (b"POST /v1/messages HTTP/3.0\r\n\r\n", 505),
        (b"CONNECT api.example.invalid:443 HTTP/1.1\r\n\r\n", 501),
        (b"TRACE / HTTP/1.1\r\n\r\n", 501),
        (b"POST /v1/messages HTTP/1.1\r\ncontent-length: -1\r\n\r\n" + b"{" * 1000, 400),
        (
            b"POST /v1/messages HTTP/1.1\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"POST /v1/messages HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n40000000\r\n" + b"x" * 1000, 413),
        (b"POST /v1/messages HTTP/1.1\r\nconnection: close\r\ncontent-length: 9\r\n\r\n[[[[[[[[[", 400),
        (
            b"POST /v1/messages HTTP/1.1\r\nconnection: close\r\ncontent-length: 4\r\n\r\n\xff\xfe\xfd\xfc",
            400,
        ),
        (post_raw({**ask(), "messages": [{"role": "user", "content": [{"type": ["text"]}]}]}), 403),
        (post_raw({**ask(), "tools": {"type": "web_search_20250305"}}), 400),
        (post_raw({**ask(), "messages": [{"role": "user", "content": "\ud800"}]}), 400),
        (
            b"POST /v1/messages HTTP/1.1\r\nconnection: close\r\ncontent-length: 200000\r\n\r\n"
            + b"[" * 100_000
            + b"]" * 100_000,
            400,
        ),
    ]
    with started(tmp_path) as running:
        answers = [raw(running, data) for data, _status in attempts]
        lines = running.log()
    assert [line.status for line in lines] == [status for _data, status in attempts]
    assert all(line.decision.startswith("refused:") for line in lines)
    for answer, (_data, status) in zip(answers, attempts, strict=True):
        assert answer.startswith(b"HTTP/1.") and f" {status} ".encode() in answer.split(b"\r\n")[0]
    assert running.api.seen == []


def test_thousands_of_idle_connections_to_one_gateway_do_not_stop_another(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 12_000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 12_000), hard))
    with started(tmp_path / "a") as flooded, started(tmp_path / "b") as other:
        other.api.then = flooded.api.then = lambda _seen: text_message("still here")
        threads_before = threading.active_count()
        held: list[socket.socket] = []
        answered: list[int] = []
        stop = threading.Event()

        def probe() -> None:
            with httpx.Client(
                transport=httpx.HTTPTransport(uds=str(other.gateway.socket_path)),
                base_url="http://gw",
                timeout=10,
            ) as client:
                while not stop.is_set():
                    answered.append(client.post("/v1/messages", json=ask()).status_code)
                    time.sleep(0.05)

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            for _ in range(5_000):
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.connect(str(flooded.gateway.socket_path))
                held.append(conn)
            threads_during = threading.active_count()
        finally:
            for conn in held:
                conn.close()
            time.sleep(0.5)
            stop.set()
            prober.join(30)
        after = other.post(ask())
        again = flooded.post(ask())
        busy = [line for line in flooded.log() if line.status == 503]
    assert answered and set(answered) == {200} and after.status_code == 200 and again.status_code == 200
    cap = SETTINGS.gateway.max_connections
    assert threads_during - threads_before <= cap + 4  # one thread per held connection, up to the cap
    # every connection beyond the cap got a 503 and a log line, but those the server reached only after
    # the held ones had begun to close (a freed slot took them, then their end)
    assert len(busy) >= 5_000 - 2 * cap and {line.decision for line in busy} == {"refused:limit"}


def test_an_oversized_answer_from_the_log_is_cut_and_the_log_stays_json(tmp_path: Path) -> None:
    with started(tmp_path) as running:
        path = "/v1/" + "p" * 3000
        running.client.get(path)
        line = running.log()[-1]
    assert line.decision == "refused:path" and len(line.path) <= 500
    assert json.loads(running.gateway.log_path.read_text().splitlines()[-1])["status"] == 403


def test_odd_headers_are_dropped_and_thinking_fits_under_the_clamped_max_tokens(tmp_path: Path) -> None:
    settings = AgentSettings(max_output_tokens=1_000)
    with started(tmp_path, settings=settings) as running:
        running.api.then = lambda _seen: text_message("ok")
        thinking = {"type": "enabled", "budget_tokens": 2_000}
        answer = raw(
            running,
            post_raw({**ask(), "max_tokens": 4_000, "thinking": thinking}, b"user-agent: caf\xc3\xa9"),
        )
        assert answer.startswith(b"HTTP/1.1 200")
        seen = running.api.seen[-1]
        assert seen.headers["user-agent"].startswith("python-httpx")  # the upstream client's, not the odd one
        assert seen.body["max_tokens"] == 1_000
        assert seen.body["thinking"] == {"type": "disabled"}  # 1,024 thinking tokens no longer fit
        assert running.gateway.ledger.reserved_tokens == 0 and running.log()[-1].decision == "forwarded"
