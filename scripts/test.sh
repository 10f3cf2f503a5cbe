#!/usr/bin/env bash
# Set up everything, then run the whole test suite: lint, types, and every test (Docker ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check harness tests benchmarks scripts evals
.venv/bin/ruff format --check harness tests benchmarks scripts evals
.venv/bin/mypy
.venv/bin/pytest "$@"
# the eval suite itself: the bundled variants x fixtures, replayed when no ANTHROPIC_API_KEY is set
.venv/bin/pytest evals/ -p no:cacheprovider
