"""The model gateway on the host: the one way model traffic leaves a sandbox (see server.py)."""

from harness.agents.gateway.ledger import Budgets, Ledger
from harness.agents.gateway.server import Gateway
from harness.agents.gateway.upstream import HttpUpstream, Upstream, UpstreamError

__all__ = ["Budgets", "Gateway", "HttpUpstream", "Ledger", "Upstream", "UpstreamError"]
