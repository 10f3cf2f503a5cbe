"""The smoke pod: PostgreSQL and a Python process that talks to it over the pod's loopback only."""

from __future__ import annotations

import json
import time

from harness._util.archive import tar_files
from harness.images import TESTER_PYTHON, ImageSet
from harness.records import SmokeRecord
from harness.sandbox import ContainerSpec, SandboxBackend
from harness.sandbox.services import DATABASE_URL, start_postgres

SMOKE_SCRIPT = """
import json, os
import psycopg

rows = [(i, f"row {i}") for i in range(100)]
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("CREATE TABLE smoke (id integer PRIMARY KEY, label text NOT NULL)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO smoke VALUES (%s, %s)", rows)
    back = conn.execute("SELECT id, label FROM smoke ORDER BY id").fetchall()
    version = conn.execute("SHOW server_version").fetchone()[0]
print(json.dumps({"rows": len(back), "equal": [tuple(r) for r in back] == rows, "version": version}))
"""


def run_smoke(backend: SandboxBackend, images: ImageSet, run_id: str) -> SmokeRecord:
    seconds: dict[str, float] = {}
    started = time.monotonic()
    pod = backend.create_pod(run_id, "smoke")
    try:
        seconds["pod"] = time.monotonic() - started
        mark = time.monotonic()
        start_postgres(pod, images.postgres.tag)  # the app role is enough here
        seconds["postgres_ready"] = time.monotonic() - mark
        mark = time.monotonic()
        app = pod.add(
            ContainerSpec(
                name="app", image=images.runtime.tag, user="sandbox", env={"DATABASE_URL": DATABASE_URL}
            )
        )
        app.put_archive("/work", tar_files({"smoke.py": SMOKE_SCRIPT}, uid=1000))
        result = app.exec([TESTER_PYTHON, "smoke.py"], timeout=60)
        seconds["client"] = time.monotonic() - mark
    finally:
        mark = time.monotonic()
        pod.close()
        seconds["teardown"] = time.monotonic() - mark
    seconds["total"] = time.monotonic() - started
    if not result.ok:
        return SmokeRecord(
            run_id=run_id, backend=backend.name, ok=False, seconds=seconds, reason=result.describe()
        )
    report = json.loads(result.out.strip().splitlines()[-1])
    ok = bool(report["equal"]) and report["rows"] == 100
    return SmokeRecord(
        run_id=run_id,
        backend=backend.name,
        ok=ok,
        postgres_version=str(report["version"]),
        rows_round_tripped=int(report["rows"]),
        seconds=seconds,
        reason="" if ok else "rows read back differ from rows written",
    )
