"""Gateway cassettes without Docker: what replay ignores and what it does not, recording through the
gateway and serving the recording back through the same socket, and a clear mismatch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from harness.agents.gateway import Budgets, Gateway, HttpUpstream, Ledger
from harness.agents.gateway.cassette import CassetteUpstream, CassetteWriter, digest, read_cassette
from harness.agents.gateway.sse import MessageAssembler
from harness.config import AgentSettings
from tests.fake_api import Answer, fake_api, text_message

SETTINGS = AgentSettings()
MODEL = "claude-sonnet-4-6"


def request(
    text: str, when: str = "2026-12-01", session: str = "0d6f3c1e-1111-4a2b-9c3d-0123456789ab"
) -> dict[str, Any]:
    system = [
        {
            "type": "text",
            "text": "x-anthropic-billing-header: cc_version=2.1.197.781; cc_entrypoint=sdk-cli;",
        },
        {
            "type": "text",
            "text": f"Body.\n<env>\nOS Version: Linux 6.18.44\n</env>\nToday is {when}.",
            "cache_control": {"type": "ephemeral"},
        },
    ]
    reminder = f"<system-reminder>Today's date is {when}.</system-reminder>"
    return {
        "model": MODEL,
        "stream": True,
        "max_tokens": 32000,
        "metadata": {"user_id": json.dumps({"session_id": session})},
        "system": system,
        "tools": [{"name": "Write", "input_schema": {}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": reminder}, {"type": "text", "text": text}]}
        ],
    }


def test_replay_ignores_dates_sessions_versions_and_the_os_line_but_not_the_conversation() -> None:
    base = digest(request("Build it."))
    later = request("Build it.", when="2027-01-15", session="9a8b7c6d-2222-4e5f-8a9b-abcdefabcdef")
    later["system"][0]["text"] = later["system"][0]["text"].replace("781", "694")
    later["system"][1]["text"] = later["system"][1]["text"].replace("6.18.44", "6.1.0")
    assert digest(later) == base
    assert digest(request("Build it now.")) != base
    other_model = {**request("Build it."), "model": "claude-opus-4-8"}
    assert digest(other_model) != base


def gateway_on(upstream: Any, folder: Path, on_exchange: Any = None) -> Gateway:
    ledger = Ledger(Budgets(50, 10**7, 100.0, 600.0), SETTINGS.prices, SETTINGS)
    return Gateway(folder / "s" / "api.sock", upstream, ledger, frozenset({MODEL}), folder, on_exchange)


def post(gateway: Gateway, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.HTTPTransport(uds=str(gateway.socket_path))
    with httpx.Client(transport=transport, base_url="http://gw") as client:
        return client.post("/v1/messages?beta=true", json=body, headers={"x-api-key": "placeholder"})


def answer_text(response: httpx.Response) -> str:
    assembler = MessageAssembler()
    assembler.feed(response.content)
    return str(assembler.message["content"][0]["text"])


def test_a_recording_made_through_the_gateway_replays_through_it_and_stops_at_a_mismatch(
    tmp_path: Path,
) -> None:
    cassette = tmp_path / "e1.claude-code.jsonl"
    with fake_api() as api:
        api.script += [Answer(text_message("first")), Answer(text_message("second"))]
        writer = CassetteWriter(cassette, {"variant": "agents/x.md", "hand_made": True})
        upstream = HttpUpstream(api.url, "key", 0, 30)
        with gateway_on(upstream, tmp_path / "record", writer) as gateway:
            assert answer_text(post(gateway, request("one"))) == "first"
            assert answer_text(post(gateway, request("two"))) == "second"
        upstream.close()
    writer.annotate(workspace_digest="abc")
    meta, entries = read_cassette(cassette)
    assert meta["workspace_digest"] == "abc" and meta["runtime"] == "claude-code" and len(entries) == 2
    replay = CassetteUpstream(cassette)
    with gateway_on(replay, tmp_path / "replay") as gateway:
        assert answer_text(post(gateway, request("one", when="2027-03-03"))) == "first"
        refused = post(gateway, request("three"))
    assert refused.status_code == 400 and "crucible replay: request 2" in refused.json()["error"]["message"]
    assert replay.mismatch is not None and '"three"' in replay.mismatch and '"two"' in replay.mismatch
