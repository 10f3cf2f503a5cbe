"""What a sample may spend through the gateway, and what it has spent: requests, input and output tokens,
dollars (the price table applied to the usage of each response, server-side tool uses included) and wall
time. The first budget used up is remembered, and the record names it.

Budgets hold under concurrency: each admitted request reserves its worst case (an estimate of its input
plus its ``max_tokens``, which is clamped to what the budget has left), the reservations of requests in
flight count as spent, and each settles on the real usage when its answer is complete. An answer whose
usage never arrived (the upstream broke after the sandbox hung up) is charged its whole reservation."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness.agents.gateway.policy import content_blocks
from harness.config import AgentSettings, Price
from harness.records.generation import Stop, Usage

BYTES_PER_TOKEN = 2  # input estimate: text, code and JSON run 3 to 4 bytes a token; 2 leaves room
TOKENS_PER_IMAGE = 1_600  # the API scales images down to about 1.15 megapixels, about 1,600 tokens
TOKENS_PER_PDF = 300_000  # the API reads at most 100 pages of a PDF, each as text and as a picture
OVERHEAD_TOKENS = 1_000  # the API's own prompt around tools
MIN_OUTPUT = 1_024  # a request that could not get this many output tokens is not worth sending


@dataclass(frozen=True)
class Budgets:
    requests: int
    tokens: int
    dollars: float
    wall_s: float

    @classmethod
    def of(cls, settings: AgentSettings) -> Budgets:
        """The sample's budgets from `[agent]`: requests are bounded by max_turns, and input, cached and
        output tokens together by max_tokens."""
        return cls(
            requests=settings.max_turns,
            tokens=settings.max_tokens,
            dollars=settings.max_dollars,
            wall_s=settings.wall_time_s,
        )


@dataclass(frozen=True)
class Reservation:
    """What one admitted request may cost at most: its input estimate and the output it may ask for."""

    model: str
    input_tokens: int
    output_tokens: int
    dollars: float

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def estimate_input(request: dict[str, Any], body_bytes: int) -> int:
    """An upper estimate of the request's input tokens: its bytes over ``BYTES_PER_TOKEN``, except the
    inline data of image and PDF content blocks (where the policy finds blocks), which count
    ``TOKENS_PER_IMAGE`` and ``TOKENS_PER_PDF`` each; and the API's overhead."""
    inline, tokens = 0, OVERHEAD_TOKENS
    for block in content_blocks(request):
        source = block.get("source")
        data = source.get("data") if isinstance(source, dict) else None
        if not isinstance(source, dict) or source.get("type") != "base64" or not isinstance(data, str):
            continue
        if block.get("type") == "image":
            inline, tokens = inline + len(data), tokens + TOKENS_PER_IMAGE
        elif block.get("type") == "document" and source.get("media_type") == "application/pdf":
            inline, tokens = inline + len(data), tokens + TOKENS_PER_PDF
    return tokens + math.ceil(max(body_bytes - inline, 0) / BYTES_PER_TOKEN)


@dataclass
class Ledger:
    budgets: Budgets
    prices: dict[str, Price]
    settings: AgentSettings
    usage: Usage = field(default_factory=Usage)
    requests: int = 0
    counted: int = 0  # count_tokens requests (free, but bounded like the others)
    dollars: float = 0.0
    reserved_tokens: int = 0
    reserved_dollars: float = 0.0
    stopped_by: Stop | None = None
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _open: set[int] = field(default_factory=set, repr=False)
    _kept: list[Reservation] = field(default_factory=list, repr=False)

    def admit(self, model: str, input_tokens: int, max_output: int) -> Reservation | Stop:
        """Reserve one request's worst case, its output clamped to what is left; or the budget that
        forbids it (remembered as the one that stopped the sample, if none did before)."""
        price = self.prices.get(model)
        most = max(1.0, self.settings.cache_write_multiplier, self.settings.cache_write_1h_multiplier)
        per_in = price.input / 1e6 * most if price else 0.0
        per_out = price.output / 1e6 if price else 0.0
        with self._lock:
            stop = self.stopped_by or self._exhausted()  # once stopped, the sample stays stopped
            if stop is None:
                output, binding = (
                    min(max_output, self.budgets.tokens - self._tokens() - input_tokens),
                    "tokens",
                )
                if per_out:
                    left = self.budgets.dollars - self.dollars - self.reserved_dollars - input_tokens * per_in
                    if (affordable := math.floor(left / per_out)) < output:
                        output, binding = affordable, "dollars"
                if output < min(max_output, MIN_OUTPUT):
                    stop = "budget:dollars" if binding == "dollars" else "budget:tokens"
            if stop is not None:
                if self.stopped_by is None:
                    self.stopped_by = stop
                return stop
            reservation = Reservation(
                model, input_tokens, output, round(input_tokens * per_in + output * per_out, 6)
            )
            self.requests += 1
            self.reserved_tokens += reservation.tokens
            self.reserved_dollars += reservation.dollars
            self._open.add(id(reservation))
            self._kept.append(reservation)
            return reservation

    def admit_count(self) -> Stop | None:
        """A count_tokens request: free, but refused once the sample is stopped or has used as many
        count requests as it may make requests."""
        with self._lock:
            stop = self.stopped_by or self._exhausted()
            if stop is None and self.counted >= self.budgets.requests:
                stop = "budget:requests"
            if stop is None:
                self.counted += 1
            return stop

    def _tokens(self) -> int:
        return self.usage.total + self.reserved_tokens

    def _exhausted(self) -> Stop | None:
        b = self.budgets
        if self.requests >= b.requests:
            return "budget:requests"
        if self._tokens() >= b.tokens:
            return "budget:tokens"
        if self.dollars + self.reserved_dollars >= b.dollars:
            return "budget:dollars"
        if time.monotonic() - self.started >= b.wall_s:
            return "budget:time"
        return None

    def settle(self, reservation: Reservation, usage: dict[str, Any] | None) -> float:
        """Release ``reservation`` and charge the answer's real ``usage`` (None: it never arrived, so the
        whole reservation is charged); the dollars charged (0 if it was settled already, by ``close``)."""
        if usage is None:
            usage = {"input_tokens": reservation.input_tokens, "output_tokens": reservation.output_tokens}
        spent = Usage().plus(usage)
        price = self.prices.get(reservation.model)
        cost = spent.dollars(price, self.settings) if price else 0.0
        with self._lock:
            if id(reservation) not in self._open:
                return 0.0
            self._open.discard(id(reservation))
            self._kept = [r for r in self._kept if r is not reservation]
            self.reserved_tokens -= reservation.tokens
            self.reserved_dollars = max(0.0, self.reserved_dollars - reservation.dollars)
            self.usage = self.usage.plus(usage)
            self.dollars = round(self.dollars + cost, 6)
        return cost

    def close(self) -> None:
        """The sample is over: every request still in flight is charged its whole reservation (what
        settles later is not counted again), so the record holds all the sample may have spent."""
        with self._lock:
            left = list(self._kept)
        for reservation in left:
            self.settle(reservation, None)
