"""Migration tools a workspace may use, each driven through its own command lines inside the pod's
migrate container: the revision graph in apply order, and commands to move one step up or down. The
command lines are given to a ``Command`` (in the checks, one long-lived process per database runs them
in-process: ``session.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from harness._util.registry import Registry
from harness.errors import SubmissionError
from harness.sandbox import ExecResult

ALEMBIC_GRAPH = """
import json
from alembic.config import Config
from alembic.script import ScriptDirectory
script = ScriptDirectory.from_config(Config("alembic.ini"))
order = list(script.walk_revisions("base", "heads"))
order.reverse()
def down(r):
    d = r.down_revision
    return list(d) if isinstance(d, (tuple, list)) else ([d] if d else [])
nodes = [{"id": r.revision, "down": down(r), "doc": (r.doc or "").strip()} for r in order]
print(json.dumps({"heads": list(script.get_heads()), "conflicts": [], "nodes": nodes}))
"""
DJANGO_GRAPH = """
import json
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
executor = MigrationExecutor(connection)
loader = executor.loader
plan = executor.migration_plan(loader.graph.leaf_nodes(), clean_start=True)
seen = {}
nodes = []
for migration, _ in plan:
    app, name = migration.app_label, migration.name
    previous = seen.get(app)
    seen[app] = name
    doc = "; ".join(op.describe() for op in migration.operations)
    nodes.append({"id": f"{app}.{name}", "down": [f"{app}.{previous}" if previous else f"{app}.zero"],
                  "doc": doc})
conflicts = [f"{app}: {', '.join(names)}" for app, names in loader.detect_conflicts().items()]
print(json.dumps({"heads": [f"{a}.{n}" for a, n in loader.graph.leaf_nodes()], "conflicts": conflicts,
                  "nodes": nodes}))
"""


@dataclass(frozen=True)
class Node:
    id: str
    down: str  # the target that undoes this node alone
    doc: str


@dataclass(frozen=True)
class Graph:
    heads: list[str]
    conflicts: list[str]
    nodes: list[Node]

    @property
    def single_head(self) -> bool:
        return not self.conflicts


# A migration command line run against one database (its DATABASE_URL set) in the migrate container
Command = Callable[[list[str]], ExecResult]


class Driver(Protocol):
    tool: str

    def graph(self, command: Command) -> Graph: ...

    def up_to(self, command: Command, node: Node) -> ExecResult: ...

    def down_from(self, command: Command, node: Node) -> ExecResult: ...

    def all_up(self, command: Command) -> ExecResult: ...

    def all_down(self, command: Command) -> ExecResult: ...


def _read_graph(result: ExecResult, tool: str) -> Graph:
    if not result.ok:
        raise SubmissionError(f"cannot read the {tool} migration graph: {result.gist()}")
    data = json.loads(result.out.strip().splitlines()[-1])
    nodes = [
        Node(n["id"], n["down"][0] if len(n["down"]) == 1 else "", n["doc"][:200]) for n in data["nodes"]
    ]
    return Graph(list(data["heads"]), list(data["conflicts"]), nodes)


class AlembicDriver:
    tool = "alembic"

    def graph(self, command: Command) -> Graph:
        graph = _read_graph(command(["python", "-c", ALEMBIC_GRAPH]), self.tool)
        conflicts = [] if len(graph.heads) <= 1 else [f"{len(graph.heads)} heads: {', '.join(graph.heads)}"]
        return Graph(graph.heads, conflicts, graph.nodes)

    def up_to(self, command: Command, node: Node) -> ExecResult:
        return command(["alembic", "upgrade", node.id])

    def down_from(self, command: Command, node: Node) -> ExecResult:
        return command(["alembic", "downgrade", node.down or "-1"])

    def all_up(self, command: Command) -> ExecResult:
        return command(["alembic", "upgrade", "heads"])

    def all_down(self, command: Command) -> ExecResult:
        return command(["alembic", "downgrade", "base"])


class DjangoDriver:
    tool = "django"

    def graph(self, command: Command) -> Graph:
        return _read_graph(command(["python", "manage.py", "shell", "-c", DJANGO_GRAPH]), self.tool)

    def up_to(self, command: Command, node: Node) -> ExecResult:
        app, name = node.id.split(".", 1)
        return command(["python", "manage.py", "migrate", "--noinput", app, name])

    def down_from(self, command: Command, node: Node) -> ExecResult:
        app, name = node.down.split(".", 1)
        return command(["python", "manage.py", "migrate", "--noinput", app, name])

    def all_up(self, command: Command) -> ExecResult:
        return command(["python", "manage.py", "migrate", "--noinput"])

    def all_down(self, command: Command) -> ExecResult:
        """Every app back to zero, dependants first (the reverse of the apply order)."""
        apps: list[str] = []
        for node in reversed(self.graph(command).nodes):
            app = node.id.split(".", 1)[0]
            if app not in apps:
                apps.append(app)
        result = command(["true"])
        for app in apps:
            result = command(["python", "manage.py", "migrate", "--noinput", app, "zero"])
            if not result.ok:
                return result
        return result


DRIVERS: Registry[Callable[[], Driver]] = Registry("migration tool", "[migrations] tool")
DRIVERS.add("alembic", AlembicDriver)
DRIVERS.add("django", DjangoDriver)
