"""What a sample may spend through the gateway, and what it has spent: requests, input and output tokens,
dollars (the price table applied to the usage of each response) and wall time. The gateway asks before
every request; the first budget used up is remembered, and the record names it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from harness.config import AgentSettings, Price
from harness.records.generation import Stop, Usage


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


@dataclass
class Ledger:
    budgets: Budgets
    prices: dict[str, Price]
    settings: AgentSettings
    usage: Usage = field(default_factory=Usage)
    requests: int = 0
    dollars: float = 0.0
    stopped_by: Stop | None = None
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self) -> Stop | None:
        """Count one more request, or the budget that forbids it (remembered as the one that stopped the
        sample, if none did before)."""
        with self._lock:
            stop = self._exhausted()
            if stop is None:
                self.requests += 1
            elif self.stopped_by is None:
                self.stopped_by = stop
            return stop

    def _exhausted(self) -> Stop | None:
        b = self.budgets
        if self.requests >= b.requests:
            return "budget:requests"
        if self.usage.total >= b.tokens:
            return "budget:tokens"
        if self.dollars >= b.dollars:
            return "budget:dollars"
        if time.monotonic() - self.started >= b.wall_s:
            return "budget:time"
        return None

    def charge(self, model: str, usage: dict[str, object]) -> float:
        """Add one response's usage; its price in dollars (0 for a model without a price)."""
        spent = Usage().plus(usage)
        price = self.prices.get(model)
        cost = spent.dollars(price, self.settings) if price else 0.0
        with self._lock:
            self.usage = self.usage.plus(usage)
            self.dollars = round(self.dollars + cost, 6)
        return cost
