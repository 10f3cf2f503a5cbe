"""The PostgreSQL client of the migration checks: reads and seeds a pod's databases from the tester
container (the only one that holds the superuser's password) through ``inpod/pgsnap.py``, a script that
runs inside the tester and never on the host (with ``inpod/pgseed.py``, the rows it seeds)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from harness._util.archive import tar_files
from harness.errors import SandboxError
from harness.images import TESTER_PYTHON
from harness.sandbox import Container
from harness.score.migrations.snapshot import Snapshot

PGSNAP = "/opt/crucible-probe/pgsnap.py"


class PgClient:
    """Runs pgsnap.py in the tester container against one database as the superuser."""

    def __init__(self, tester: Container, superuser_url: str) -> None:
        self.tester = tester
        self.url = superuser_url
        inpod = resources.files("harness.score.migrations") / "inpod"
        scripts = {name: (inpod / name).read_bytes() for name in ("pgsnap.py", "pgseed.py")}
        tester.put_archive("/opt/crucible-probe", tar_files(scripts, uid=1000))

    def on(self, database: str) -> PgClient:
        clone = object.__new__(PgClient)
        clone.tester, clone.url = self.tester, self.url.rsplit("/", 1)[0] + "/" + database
        return clone

    def _run(self, *args: str) -> Any:
        done = self.tester.exec([TESTER_PYTHON, PGSNAP, args[0], self.url, *args[1:]], timeout=120)
        if not done.ok:
            raise SandboxError(f"schema probe {args[0]} failed: {done.describe()}")
        return json.loads(done.out)

    def snapshot(self) -> Snapshot:
        return Snapshot.model_validate(self._run("snapshot"))

    def seed(self, rows: int, offset: int) -> dict[str, Any]:
        return dict(self._run("seed", str(rows), str(offset)))

    def rows(self, tables: Mapping[str, list[str]]) -> dict[str, Any]:
        return dict(self._run("rows", json.dumps(dict(tables))))

    def _with_input(self, action: str, name: str, data: bytes) -> Any:
        self.tester.put_archive("/tmp/crucible-probe", tar_files({name: data}, uid=1000))
        return self._run(action, f"/tmp/crucible-probe/{name}")

    def run_script(self, script: str) -> str:
        """Run an SQL script in one transaction; the database's error, or "" when it worked."""
        return str(self._with_input("script", "script.sql", script.encode())["error"])

    def query(self, queries: list[str]) -> list[dict[str, Any]]:
        """Each query's ``rows`` (lists of JSON values) or ``error``; nothing they change is kept."""
        return list(self._with_input("queries", "queries.json", json.dumps(queries).encode()))

    def create_database(self, name: str) -> None:
        done = self.tester.exec(
            [
                TESTER_PYTHON,
                "-c",
                "import psycopg, sys\n"
                "with psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
                "    c.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]}')\n"
                "    c.execute(f'CREATE DATABASE {sys.argv[2]} OWNER app')\n",
                self.url,
                name,
            ],
            timeout=60,
        )
        if not done.ok:
            raise SandboxError(f"creating database {name} failed: {done.describe()}")
