"""A sample's gateway alone in a process of its own, for tests that measure what an attack costs it (its
memory and CPU time, read from /proc): ``python -m tests.agents.gateway_process SOCKET FOLDER UPSTREAM_URL``.
Prints ``ready`` once it listens and serves until its stdin closes."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.agents.gateway import Budgets, Gateway, HttpUpstream, Ledger
from harness.config import AgentSettings

KEY = "sk-ant-canary-key-for-the-process-0123456789"


def main(socket: str, folder: str, upstream_url: str) -> None:
    settings = AgentSettings()
    ledger = Ledger(Budgets(10**6, 10**12, 10**9, 10**6), settings.prices, settings)
    upstream = HttpUpstream(upstream_url, KEY, max_retries=0, timeout_s=60)
    with Gateway(Path(socket), upstream, ledger, frozenset({"claude-sonnet-4-6"}), Path(folder)):
        print("ready", flush=True)
        sys.stdin.read()
    upstream.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
