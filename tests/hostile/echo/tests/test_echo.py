"""The echo fixture's hidden tests. HIDDEN-TEST-MARKER-5d1c9e: no workspace may ever see this line."""

import os

import httpx

BASE_URL = os.environ["BASE_URL"]


def test_health() -> None:
    assert httpx.get(f"{BASE_URL}/health", timeout=10).status_code == 200


def test_echo_returns_the_body() -> None:
    body = {"n": 7, "words": ["a", "b"]}
    answer = httpx.post(f"{BASE_URL}/echo", json=body, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"echo": body}


def test_invalid_json_is_422() -> None:
    answer = httpx.post(f"{BASE_URL}/echo", content=b"{nope", timeout=10)
    assert answer.status_code == 422


def test_unknown_path_is_404() -> None:
    assert httpx.get(f"{BASE_URL}/nowhere", timeout=10).status_code == 404
