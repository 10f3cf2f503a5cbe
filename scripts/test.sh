#!/usr/bin/env bash
# Set up everything, then run the whole test suite: lint, types, the architecture's rules, and every test
# (Docker ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check harness tests benchmarks scripts evals
.venv/bin/ruff format --check harness tests benchmarks scripts evals
.venv/bin/mypy
# the layers of harness/ (import-linter), no import circle, modules and functions within their limits
.venv/bin/lint-imports --no-cache
.venv/bin/python scripts/check_architecture.py
# the 30 slowest tests are listed at the end, so that a slower CI shows where its time went; the proofs of
# every fixture's content (reference and mutants) run outside CI, in scripts/prove.sh
.venv/bin/pytest --durations=30 -m "not proof" "$@"
# the eval suite itself: the bundled variants x fixtures, replayed when no ANTHROPIC_API_KEY is set
.venv/bin/pytest evals/ -p no:cacheprovider -n 2
# nothing may outlive the suite
left=$(docker ps -aq --filter label=crucible.run | wc -l)
if [ "$left" -ne 0 ]; then
  echo "test.sh: $left containers with a crucible.run label outlived the tests:" >&2
  docker ps -a --filter label=crucible.run --format '{{.Names}} {{.Status}}' >&2
  exit 1
fi
echo "test.sh: no container left behind"
