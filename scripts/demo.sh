#!/usr/bin/env bash
# Set up everything, then run the main job: check the machine, build (or reuse) the images, run the
# smoke pod, and score the jwt-auth reference solution. Results land in reports/runs/ (reports/latest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/crucible doctor
.venv/bin/crucible images build
.venv/bin/crucible smoke
.venv/bin/crucible score --fixture jwt-auth fixtures/jwt-auth/reference
