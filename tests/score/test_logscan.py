"""The app-log scan for secrets (CWE-532) on recorded logs, and the tester plugin that writes down what the
tests send, driven on real httpx requests (no Docker)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.score.security.logscan import environment_secrets, scan_log, sent_secrets

PLUGIN = Path(__file__).parents[2] / "harness" / "score" / "security" / "inpod" / "sent_secrets.py"
PASSWORD = "correct horse battery 42"
LOG = """INFO:     Started server process [7]
INFO:     127.0.0.1:40112 - "POST /auth/register HTTP/1.1" 201 Created
login attempt {'email': 'ada@accounts.example.com', 'password': 'correct horse battery 42'}
INFO:     127.0.0.1:40112 - "POST /auth/login HTTP/1.1" 200 OK
login attempt {'email': 'bob@accounts.example.com', 'password': 'correct horse battery 42'}
"""


def test_a_password_the_tests_sent_is_found_with_its_line_masked() -> None:
    sent = json.dumps({"value": PASSWORD, "origin": "field password of the body of POST /auth/login"})
    result = scan_log(LOG, sent_secrets(sent + "\nnot json\n"))
    assert result.result == "exploited" and result.cwe == "CWE-532"
    assert "field password of the body of POST /auth/login (2 lines)" in result.evidence
    assert "First: line 3: login attempt" in result.evidence
    assert PASSWORD not in result.evidence and "[secret co…42]" in result.evidence


def test_a_clean_log_and_short_values_pass() -> None:
    assert scan_log(LOG, {"a-token-never-logged": "x"}).result == "resisted"
    assert sent_secrets(json.dumps({"value": "short", "origin": "x"})) == {}
    assert scan_log("", {}).result == "resisted"


def test_environment_secrets_by_name_and_the_database_password() -> None:
    env = {
        "JWT_SECRET": "crucible-fixture-secret-5f0c1e7a",
        "ADMIN_PASSWORD": "admin-pass-7c41e2d9",
        "ADMIN_EMAIL": "admin@accounts.example.com",
        "DATABASE_URL": "postgresql://app:s3cret-db-pass@127.0.0.1:5432/app",
        "STAFF_API_KEY": "crucible-staff-key-3e8b",
        "PORT": "8000",
    }
    found = environment_secrets(env)
    assert found == {
        "crucible-fixture-secret-5f0c1e7a": "the environment variable JWT_SECRET",
        "admin-pass-7c41e2d9": "the environment variable ADMIN_PASSWORD",
        "s3cret-db-pass": "the password in DATABASE_URL",
        "crucible-staff-key-3e8b": "the environment variable STAFF_API_KEY",
    }
    leaked = scan_log("connecting to postgresql://app:s3cret-db-pass@127.0.0.1/app\n", found)
    assert leaked.result == "exploited" and "the password in DATABASE_URL (1 lines)" in leaked.evidence


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Path]]:
    out = tmp_path / "sent.jsonl"
    monkeypatch.setenv("CRUCIBLE_SENT_SECRETS", str(out))
    spec = importlib.util.spec_from_file_location("sent_secrets_under_test", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    original = httpx.Client.send, httpx.AsyncClient.send
    spec.loader.exec_module(module)
    yield module, out
    httpx.Client.send, httpx.AsyncClient.send = original


def test_the_plugin_writes_down_every_credential_a_request_carries(plugin: tuple[object, Path]) -> None:
    module, out = plugin

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    with httpx.Client(transport=httpx.MockTransport(answer), base_url="http://app") as client:
        client.post(
            "/auth/login",
            json={
                "email": "a@b.example",
                "password": PASSWORD,
                "nested": [{"refresh_token": "rt-0123456789"}],
            },
            headers={
                "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
                "Idempotency-Key": "not-a-secret-1",
            },
        )
        client.post("/token", data={"username": "ada", "password": "form-password-1"})
        client.get("/orders", headers={"X-API-Key": "customer-key-abcdef"})
        client.get("/orders", headers={"X-API-Key": "customer-key-abcdef"})  # written once
    found = sent_secrets(out.read_text())
    assert found == {
        "eyJhbGciOiJIUzI1NiJ9.e30.sig": "the Authorization header of POST /auth/login",
        PASSWORD: "field password of the body of POST /auth/login",
        "rt-0123456789": "field nested.refresh_token of the body of POST /auth/login",
        "form-password-1": "field password of the form of POST /token",
        "customer-key-abcdef": "the x-api-key header of GET /orders",
    }
    assert module is not None
