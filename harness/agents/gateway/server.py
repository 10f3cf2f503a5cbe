"""The model gateway: an HTTP server on a unix socket, one per generating sample, and the only way model
traffic leaves a sandbox. The socket's folder is bind-mounted into the workspace container; the sandbox has
no network and no key.

What it does with each request (connection.py bounds the connections and bodies, policy.py decides what a
request may ask for, answer.py sanitises what comes back):
- only `HEAD /` (the CLI's pre-connect), `POST /v1/messages` and `POST /v1/messages/count_tokens` pass;
  anything else gets 403;
- the body must pass the request policy (no server-side tools, MCP servers, containers, URL or file
  sources, or betas off the allowlist, unless configured) and name an allowed model; what passes is
  forwarded re-serialised, with `max_tokens` clamped, and with a few known headers only: every credential
  the sandbox sends is dropped, and the upstream adds the real key on the host;
- a request must be admitted by the sample's ledger, which reserves its worst case (count_tokens is free but
  bounded and refused once the sample is stopped): past a budget the answer is an API-shaped 400 naming it
  (also in the `x-crucible-budget` header);
- the answer streams back event by event as it arrives (chunked, never buffered whole), masked, while the
  SSE events are assembled to settle the usage and to record the exchange.
Every decision is one line of ``gateway.jsonl``; every forwarded exchange one line of ``exchanges.jsonl``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.agents.gateway.answer import Masker, finish, relay
from harness.agents.gateway.connection import Handler, Refusal, Server, api_error
from harness.agents.gateway.ledger import Ledger, Reservation, estimate_input
from harness.agents.gateway.policy import Checked, Policy, PolicyError, parse
from harness.agents.gateway.upstream import Upstream, UpstreamError
from harness.agents.providers import BUDGET_HEADER
from harness.config import GatewaySettings
from harness.records import utc_now
from harness.records.gateway import Decision, Exchange, GatewayLogLine

MESSAGES, COUNT = "/v1/messages", "/v1/messages/count_tokens"
CREDENTIALS = ("x-api-key", "authorization", "anthropic-api-key", "cookie", "proxy-authorization")
FORWARDED = frozenset(
    {
        "anthropic-version",
        "accept",
        "user-agent",
        "x-app",
        "x-claude-code-session-id",
        "x-claude-code-agent-id",
    }
)
MAX_LOG_BYTES = 50_000_000


class Gateway:
    """Serve ``socket_path`` until closed (a context manager). ``models``: the allowlist; ``policy``: what
    a request may ask for; ``limits``: what one sample may hold (connections, bodies, time)."""

    def __init__(
        self,
        socket_path: Path,
        upstream: Upstream,
        ledger: Ledger,
        models: frozenset[str],
        folder: Path,
        on_exchange: Callable[[Exchange], None] | None = None,
        policy: Policy | None = None,
        limits: GatewaySettings | None = None,
    ) -> None:
        self.socket_path, self.upstream, self.ledger, self.models = socket_path, upstream, ledger, models
        self.log_path, self.exchanges_path = folder / "gateway.jsonl", folder / "exchanges.jsonl"
        self.policy = policy or Policy(max_output_tokens=ledger.settings.max_output_tokens)
        self.limits = limits or ledger.settings.gateway
        self.masker = Masker(upstream.secrets)
        self._on_exchange = on_exchange
        self._lock = threading.Lock()
        self._index, self._log_bytes, self._unlogged = 0, 0, 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Gateway:
        self.socket_path.unlink(missing_ok=True)
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        limits = self.limits
        max_body = int(limits.max_body_mb * 1_000_000)
        self._server = Server(
            str(self.socket_path),
            self,
            limits.max_connections,
            limits.idle_timeout_s,
            limits.read_timeout_s,
            max_body,
        )
        self.socket_path.chmod(0o666)  # the sandbox user must be able to connect
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="crucible-gateway", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket_path.unlink(missing_ok=True)
        self.ledger.close()  # what is still in flight is charged in full: the record holds all of it
        if self._unlogged:
            self._write_log(
                GatewayLogLine(
                    at=utc_now().isoformat(),
                    method="-",
                    path="-",
                    status=0,
                    decision="refused:limit",
                    reason=f"the log reached {MAX_LOG_BYTES} bytes: {self._unlogged} more lines not written",
                ),
                force=True,
            )

    def log(self, method: str, path: str, status: int, decision: Decision, **fields: Any) -> None:
        if "reason" in fields:
            fields["reason"] = self.masker.text(str(fields["reason"]))[:2000]
        line = GatewayLogLine(
            at=utc_now().isoformat(),
            method=method[:16],
            path=path[:500],
            status=status,
            decision=decision,
            **fields,
        )
        self._write_log(line)

    def _write_log(self, line: GatewayLogLine, force: bool = False) -> None:
        text = line.model_dump_json() + "\n"
        with self._lock:
            if self._log_bytes + len(text) > MAX_LOG_BYTES and not force:
                self._unlogged += 1
                return
            self._log_bytes += len(text)
            with self.log_path.open("a") as out:
                out.write(text)

    def handle(self, handler: Handler, path: str) -> None:
        if path not in (MESSAGES, COUNT):
            handler.refuse(Refusal(403, "refused:path", f"POST {handler.path} is not allowed"))
            return
        dropped = [h for h in CREDENTIALS if h in handler.headers]
        try:
            try:
                call = self._admit(handler, path, dropped)
            except (Refusal, PolicyError):
                raise
            except Exception as exc:  # a shape the checks did not foresee: refused, never a crash
                raise Refusal(400, "refused:body", f"unreadable request ({type(exc).__name__})") from None
        except Refusal as refusal:
            known = refusal if isinstance(refusal, _Refused) else None
            extra = {"model": known.model, "reason": known.stop or str(known)} if known else {}
            headers = {BUDGET_HEADER: known.stop} if known and known.stop else None
            close = refusal.decision in ("refused:http", "refused:limit")
            handler.refuse(refusal, close, headers, credentials_dropped=dropped, **extra)
            return
        self._forward(call)

    def _admit(self, handler: Handler, path: str, dropped: list[str]) -> _Call:
        body = handler.read_body()
        try:
            betas = self.policy.check_betas(", ".join(handler.headers.get_all("anthropic-beta") or []))
            checked = self.policy.check(parse(body), counting=path == COUNT)
        except ValueError as exc:
            raise Refusal(400, "refused:body", f"unreadable request ({exc})") from None
        except PolicyError as exc:
            raise Refusal(exc.status, "refused:policy", str(exc)) from None
        if checked.model not in self.models:
            raise _Refused(403, "refused:model", f"model {checked.model} is not allowed", checked.model)
        reservation: Reservation | None = None
        if path == COUNT:
            stop = self.ledger.admit_count()
        else:
            estimate = estimate_input(checked.request, len(body))
            admitted = self.ledger.admit(checked.model, estimate, checked.request["max_tokens"])
            stop = admitted if isinstance(admitted, str) else None
            reservation = None if isinstance(admitted, str) else admitted
        if stop is not None:
            raise _Refused(
                400, "refused:budget", f"the sample's budget is used up ({stop})", checked.model, stop
            )
        if reservation is not None:
            _clamp(checked.request, reservation.output_tokens)
        try:
            forwarded = checked.body()
        except ValueError as exc:
            if reservation is not None:
                self.ledger.settle(reservation, {})
            raise Refusal(400, "refused:body", f"unreadable request ({exc})") from None
        return _Call(handler, path, checked, forwarded, betas, dropped, reservation)

    def _forward(self, call: _Call) -> None:
        """Send the admitted request on and relay the answer; whatever fails on the way, the reservation is
        settled (in full once anything may have been sent) and the outcome is one log line."""
        handler, checked = call.handler, call.checked
        headers = {k.lower(): v for k, v in handler.headers.items() if _forwarded(k.lower(), v)}
        headers["content-type"] = "application/json"
        if call.betas:
            headers["anthropic-beta"] = ",".join(call.betas)
        query = "?beta=true" if handler.path.partition("?")[2] == "beta=true" else ""
        fields: dict[str, Any] = {"model": checked.model, "credentials_dropped": call.dropped}
        try:
            response = self.upstream.send("POST", call.path + query, headers, call.body)
        except Exception as exc:  # unreachable after every retry, or a request it could not send
            self._settle(call, {} if isinstance(exc, UpstreamError) else None)
            reason = str(exc) if isinstance(exc, UpstreamError) else f"the request could not be sent ({exc})"
            self.log("POST", handler.path, 502, "failed", reason=reason, **fields)
            handler.answer(502, api_error("api_error", self.masker.text(f"crucible gateway: {reason}")))
            return
        call.body = b""  # sent: no need to hold it through the answer
        try:
            relayed = relay(handler, response, self.masker)
        except Exception as exc:
            self._settle(call, None)
            self.log("POST", handler.path, 502, "failed", reason=f"the answer broke off ({exc})", **fields)
            handler.close_connection = True
            return
        dollars = self._settle(call, relayed.usage)
        self.log(
            "POST",
            handler.path,
            response.status,
            "forwarded" if relayed.complete else "failed",
            key_added=self.upstream.key_added,
            server_tools=checked.server_tools,
            reason="" if relayed.complete else "the sandbox hung up mid-answer",
            **fields,
        )
        self._record(call, relayed.streamed, response.status, relayed.answer, dollars)
        if relayed.complete:  # the last chunk only once the exchange is on record
            finish(handler)

    def _settle(self, call: _Call, usage: dict[str, Any] | None) -> float:
        return 0.0 if call.reservation is None else self.ledger.settle(call.reservation, usage)

    def _record(
        self, call: _Call, streamed: bool, status: int, answer: dict[str, Any], dollars: float
    ) -> None:
        with self._lock:
            self._index += 1
            exchange = Exchange(
                index=self._index,
                path=call.path,
                stream=streamed,
                request=call.checked.request,
                status=status,
                response=answer,
                dollars=dollars,
                seconds=round(time.monotonic() - call.started, 3),
                agent_id=call.handler.headers.get("x-claude-code-agent-id"),
            )
            with self.exchanges_path.open("a") as out:
                out.write(exchange.model_dump_json())  # written apart: a large request is not copied again
                out.write("\n")
        if self._on_exchange is not None:
            self._on_exchange(exchange)


class _Refused(Refusal):
    """A refusal of a request whose model is known (and, for a budget, the budget that stopped it)."""

    def __init__(self, status: int, decision: Decision, message: str, model: str, stop: str = "") -> None:
        super().__init__(status, decision, message)
        self.model, self.stop = model, stop


def _forwarded(header: str, value: str) -> bool:
    known = header in FORWARDED or header.startswith("x-stainless-")
    return known and value.isascii() and value.isprintable()


def _clamp(request: dict[str, Any], max_tokens: int) -> None:
    """``max_tokens`` as admitted, and a thinking budget that still fits under it (none, if the least the
    API takes, 1,024 tokens, no longer fits)."""
    request["max_tokens"] = max_tokens
    thinking = request.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(thinking, dict) and isinstance(budget, int) and budget >= max_tokens:
        fits = max_tokens > 1024
        request["thinking"] = {**thinking, "budget_tokens": max_tokens - 1} if fits else {"type": "disabled"}


@dataclass
class _Call:
    """One admitted request: who asked, what passed the policy, and what it reserved."""

    handler: Handler
    path: str
    checked: Checked
    body: bytes
    betas: list[str]
    dropped: list[str]
    reservation: Reservation | None
    started: float = field(default_factory=time.monotonic)
