"""Services a pod runs beside the code under test: PostgreSQL on the pod's loopback."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from harness.errors import SandboxError
from harness.sandbox.base import Container, ContainerSpec, Limits, Pod

DATABASE_URL = "postgresql://app:app@127.0.0.1:5432/app"
PG_LIMITS = Limits(memory_mb=512, cpus=1.0, pids=256, exec_timeout_s=60)


@dataclass(frozen=True)
class Postgres:
    container: Container
    superuser_url: str


def start_postgres(pod: Pod, image: str, ready_timeout: float = 60.0) -> Postgres:
    """Add a PostgreSQL container to ``pod`` and wait until it accepts connections on 127.0.0.1:5432.
    The superuser's password is new for every pod; only callers that get ``superuser_url`` know it."""
    password = secrets.token_hex(16)
    spec = ContainerSpec(
        name="postgres",
        image=image,
        command=["/usr/local/bin/crucible-pg-start"],
        user="postgres",
        workdir="/tmp",
        limits=PG_LIMITS,
        tmpfs={"/pgdata": "rw,mode=1777,size=512m"},
        env={"POSTGRES_PASSWORD": password},
    )
    container = pod.add(spec)
    deadline = time.monotonic() + ready_timeout
    while True:
        probe = container.exec(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], timeout=10)
        if probe.exit_code == 0:
            return Postgres(container, f"postgresql://postgres:{password}@127.0.0.1:5432/app")
        state = container.state()
        if not state.running or time.monotonic() > deadline:
            reason = "exited" if not state.running else f"not ready after {ready_timeout:.0f} s"
            raise SandboxError(f"PostgreSQL {reason}: {container.logs(4000).strip()[-500:]}")
        time.sleep(0.2)
