#!/usr/bin/env bash
# Set up everything, then run the main job: check the machine, build (or reuse) the images, and run
# the smoke pod. The result lands in reports/latest/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/crucible doctor
.venv/bin/crucible images build
.venv/bin/crucible smoke
