"""Where the gateway sends what it admits: the Messages API (or any server speaking it) over HTTP with the
real key added here, on the host, and the SDK's retry behaviour: 429 (honouring `retry-after`), 529 and
other 5xx answers, and broken connections, are retried with capped exponential backoff and jitter before
any byte reaches the sandbox."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from harness.errors import InfraError

RETRIED = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_WAIT_S = 60.0


class UpstreamError(InfraError):
    """The upstream could not be reached after every retry."""


@dataclass
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    chunks: Iterator[bytes]
    close: Callable[[], None]

    @classmethod
    def whole(cls, status: int, data: bytes, kind: str) -> UpstreamResponse:
        """An answer made here, all of it at once (a cassette's or a script's)."""
        return cls(status, {"content-type": kind}, iter([data]), lambda: None)


class Upstream(Protocol):
    key_added: bool
    secrets: tuple[str, ...]  # what must never reach the sandbox or a file (masked wherever it appears)

    def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        """Forward one admitted request; the response as it streams in."""
        ...


def retry_wait(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): the server's `retry-after` when it gives one
    (capped), else 0.5 s doubling to 8 s, with up to 25% jitter taken off."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_WAIT_S)
        except ValueError:
            pass
    jitter = 1.0 - 0.25 * random.random()  # noqa: S311 - jitter, not a secret
    return float(min(0.5 * 2**attempt, 8.0) * jitter)


class HttpUpstream:
    key_added = True

    def __init__(self, base_url: str, api_key: str, max_retries: int, timeout_s: float) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout_s, connect=30.0)
        )
        self._key, self._retries = api_key, max_retries
        url = self._client.base_url
        self.secrets = tuple(s for s in (api_key, url.password) if s)
        self._shown = str(url.copy_with(username=None, password=None))  # for messages: no credentials

    def send(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        outgoing = {**headers, "x-api-key": self._key, "accept-encoding": "identity"}
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._client.send(
                    self._client.build_request(method, path, headers=outgoing, content=body), stream=True
                )
            except httpx.TransportError as exc:
                if last:
                    raise UpstreamError(f"the model API at {self._shown} failed: {exc}") from exc
                time.sleep(retry_wait(attempt, None))
                continue
            if response.status_code in RETRIED and not last:
                wait = retry_wait(attempt, response.headers.get("retry-after"))
                response.close()
                time.sleep(wait)
                continue
            return UpstreamResponse(
                response.status_code, response.headers, response.iter_raw(), response.close
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._client.close()
