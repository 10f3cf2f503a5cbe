"""How the built-in loop reaches the model: the official `anthropic` SDK, pointed at the sample's model
gateway over its unix socket with a placeholder key. The gateway (harness/agents/gateway/) does the rest for
both runtimes alike: the real key, retries, budgets, the model allowlist, price accounting, recording and
replay. So the SDK here never retries (the gateway's upstream does), and a request the gateway refuses for
a budget comes back as ``BudgetExhausted`` naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, cast

from harness.errors import InfraError
from harness.records.generation import Stop

PLACEHOLDER_KEY = "sk-ant-crucible-placeholder-no-key-here"
BUDGET_HEADER = "x-crucible-budget"  # set by the gateway on a refusal for a used-up budget


class ProviderError(InfraError):
    """The model service failed (after retries) or a cassette cannot answer: an infra failure."""


class BudgetExhausted(Exception):
    """The gateway refused a request because the sample's ``stop`` budget is used up."""

    def __init__(self, stop: Stop) -> None:
        super().__init__(stop)
        self.stop = stop


class ModelClient(Protocol):
    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """One Messages API call: the request body in, the response body (a dict) out."""
        ...


class GatewayClient:
    """The Messages API as the loop sees it: the SDK over the gateway's socket."""

    def __init__(self, socket: Path, timeout: float = 600.0) -> None:
        import anthropic
        import httpx2  # the SDK's HTTP layer

        transport = httpx2.HTTPTransport(uds=str(socket))
        self._errors = anthropic
        self._client = anthropic.Anthropic(
            api_key=PLACEHOLDER_KEY,
            base_url="http://gateway.invalid",
            max_retries=0,
            timeout=timeout,
            http_client=httpx2.Client(transport=transport, timeout=timeout),
        )

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            message = self._client.messages.create(**request)
        except self._errors.APIStatusError as exc:
            if stop := exc.response.headers.get(BUDGET_HEADER):
                raise BudgetExhausted(cast(Stop, stop)) from None
            raise ProviderError(f"the Messages API failed with {exc.status_code}: {_message(exc)}") from exc
        except self._errors.APIError as exc:
            raise ProviderError(f"the model gateway could not be reached: {exc}") from exc
        return dict(message.model_dump(mode="json", exclude_none=True))

    def close(self) -> None:
        self._client.close()


def _message(exc: Any) -> str:
    """The API-shaped error's own message (the gateway's, the cassette's or the service's)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return str(error.get("message") if isinstance(error, dict) else exc.message)


def write_calls(folder: Path, root: str = "/workspace", prefix: str = "toolu_write") -> list[dict[str, Any]]:
    """Write tool calls that recreate every file of ``folder`` under ``root`` (for scripted agents)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return [
        {
            "type": "tool_use",
            "id": f"{prefix}_{i:02d}",
            "name": "Write",
            "input": {"file_path": f"{root}/{p.relative_to(folder)}", "content": p.read_text()},
        }
        for i, p in enumerate(files)
    ]
