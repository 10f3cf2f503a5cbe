#!/usr/bin/env bash
# Outside CI: prove every fixture's content against the real engine (its coverage map, its reference
# scoring 1.00, each mutant caught where its mutant.toml says): the `proof` tests. Run it whenever
# fixtures/ changes; CI proves one fixture whole and checks every fixture's files without Docker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/pytest -m proof -p no:cacheprovider "$@"
