"""The PostgreSQL client of the migration checks: reads and seeds a pod's databases from the tester
container (the only one that holds the superuser's password) through ``inpod/pgsnap.py``, a script that
runs inside the tester and never on the host (with ``inpod/pgseed.py``, the rows it seeds). The catalog
is read by a process of the tester, never by the migrate container that runs the workspace's code, so a
submission cannot shape what its schema is judged on."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from importlib import resources
from typing import Any

from harness._util.archive import tar_files
from harness.errors import SandboxError
from harness.images import TESTER_PYTHON
from harness.sandbox import Container
from harness.score.migrations.channel import Channel
from harness.score.migrations.snapshot import Snapshot

PGSNAP = "/opt/crucible-probe/pgsnap.py"
PROBE_TIMEOUT_S = 120.0


class PgClient:
    """Asks pgsnap.py in the tester container about one database, as the superuser: one long-lived
    pgsnap process per database, shared by every client of that database and started on first use."""

    def __init__(self, tester: Container, superuser_url: str) -> None:
        self.tester = tester
        self.url = superuser_url
        self._servers: dict[str, Channel] = {}
        self._start_lock = threading.Lock()
        inpod = resources.files("harness.score.migrations") / "inpod"
        scripts = {name: (inpod / name).read_bytes() for name in ("pgsnap.py", "pgseed.py")}
        tester.put_archive("/opt/crucible-probe", tar_files(scripts, uid=1000))

    def on(self, database: str) -> PgClient:
        clone = object.__new__(PgClient)
        clone.__dict__.update(self.__dict__)
        clone.url = self.url.rsplit("/", 1)[0] + "/" + database
        return clone

    def _server(self) -> Channel:
        with self._start_lock:
            server = self._servers.get(self.url)
            if server is None or not server.alive:
                database = self.url.rsplit("/", 1)[1]
                server = Channel.start(
                    self.tester, [TESTER_PYTHON, PGSNAP, self.url], f"the schema probe of {database}"
                )
                self._servers[self.url] = server
            return server

    def _run(self, action: str, *args: Any) -> Any:
        answer = self._server().ask({"action": action, "args": list(args)}, timeout=PROBE_TIMEOUT_S)
        if "error" in answer:
            raise SandboxError(f"schema probe {action} failed: {answer['error']}")
        return answer["result"]

    def snapshot(self) -> Snapshot:
        return Snapshot.model_validate(self._run("snapshot"))

    def seed(self, rows: int, offset: int) -> dict[str, Any]:
        return dict(self._run("seed", rows, offset))

    def rows(self, tables: Mapping[str, list[str]]) -> dict[str, Any]:
        return dict(self._run("rows", dict(tables)))

    def run_script(self, script: str) -> str:
        """Run an SQL script in one transaction; the database's error, or "" when it worked."""
        return str(self._run("script", script)["error"])

    def query(self, queries: list[str]) -> list[dict[str, Any]]:
        """Each query's ``rows`` (lists of JSON values) or ``error``; nothing they change is kept."""
        return list(self._run("queries", queries))

    def create_database(self, name: str) -> None:
        self._run("create_database", name)

    def close(self) -> None:
        """End every pgsnap process this client (or a clone) started."""
        with self._start_lock:
            for server in self._servers.values():
                server.close()
            self._servers.clear()
