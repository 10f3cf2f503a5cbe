"""The first user message of a generation: the fixture's spec and API contract, wrapped in what the
sandbox offers and how the result will be run."""

from __future__ import annotations

from importlib import resources

from harness.fixtures import Fixture

INTRO = """\
You are working in /workspace, {where}, inside a sandbox without network
access. Implement the backend described below, completely, as production code.

How your work will be run and judged (the runtime contract):
- /workspace is the project root. Python 3.11. List third-party packages in /workspace/requirements.txt
  with exact versions; only packages that publish wheels can be installed, and nothing is downloaded at
  run time.
- /workspace/service.toml says how to start the service and which tool owns the schema:
    [service]
    start = "uvicorn app.main:app --host 0.0.0.0 --port $PORT"
    [migrations]
    tool = "alembic"        # alembic | django | none
- Before the service starts, the migrations run (`alembic upgrade head` from the root; put
  `prepend_sys_path = .` in alembic.ini). Every migration needs a working downgrade. The schema must
  come from migrations alone.
- At run time the environment has DATABASE_URL (PostgreSQL 15), PORT and the variables the spec names.
  The service is ready when GET /health answers 200.

The sandbox has PostgreSQL running (DATABASE_URL is set) and these packages installed, so you can run
your code, your migrations and your tests (pytest) before you finish:
{packages}

When you are done, reply with a short summary of what you built.

"""


def toolbox_packages() -> str:
    text = (resources.files("harness.images") / "workspace-requirements.txt").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return "\n".join(f"  {line}" for line in lines)


def task_text(fixture: Fixture) -> str:
    where = (
        "the project directory, which already holds the existing project to change"
        if fixture.spec.kind == "brownfield"
        else "an empty project directory"
    )
    spec = (fixture.root / "spec.md").read_text()
    contract = (fixture.root / "openapi.yaml").read_text()
    intro = INTRO.format(where=where, packages=toolbox_packages())
    return f"{intro}# Specification\n\n{spec}\n\n# API contract (openapi.yaml)\n\n```yaml\n{contract}```\n"
