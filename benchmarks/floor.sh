#!/usr/bin/env bash
# The floor: the container work of one warm evaluation of a workspace, done by hand with the docker CLI
# and nothing else: the same pod layout (holder without network, PostgreSQL, tester, migrate, app), the
# same commands in the same order (migrate, wait for /health, hidden tests, probes, schema snapshots),
# the same migration checks beside the tests (a plain base -> head -> base and the per-revision stairway
# with snapshots and seeded rows), and the static lint beside the pod. benchmarks/floor.py times it
# against `crucible score`.
#
#   benchmarks/floor.sh BASE RUNTIME POSTGRES APP WORKSPACE TESTS PROBES PGSNAP PORT ENVFILE
set -euo pipefail
base=$1 runtime=$2 postgres=$3 app=$4 workspace=$5 tests=$6 probes=$7 pgsnap=$8 port=$9 envfile=${10}
id="floor-$$-$RANDOM"
rules="$(cd "$(dirname "$0")/.." && pwd)/harness/score/security/rules/backend.yml"
py=/opt/crucible/tester/bin/python
password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
su="postgresql://postgres:${password}@127.0.0.1:5432"
trap 'docker rm -f "$id-holder" "$id-postgres" "$id-tester" "$id-migrate" "$id-app" >/dev/null 2>&1 || true' EXIT
common=(--cap-drop ALL --security-opt no-new-privileges --init --label "crucible.floor=$id")
net=(--network "container:$id-holder")

docker run -d --name "$id-holder" "${common[@]}" --network none --memory 32m --pids-limit 16 "$base" sleep 3600 >/dev/null
docker run -d --name "$id-postgres" "${common[@]}" "${net[@]}" --user postgres --memory 512m \
  --tmpfs /pgdata:rw,mode=1777,size=512m -e POSTGRES_PASSWORD="$password" "$postgres" /usr/local/bin/crucible-pg-start >/dev/null
until docker exec "$id-postgres" pg_isready -q -h 127.0.0.1 -p 5432; do sleep 0.2; done
docker run -d --name "$id-tester" "${common[@]}" "${net[@]}" --user sandbox -w /hidden --env-file "$envfile" \
  -e BASE_URL="http://127.0.0.1:$port" -e DATABASE_URL="$su/app" -e APP_DATABASE_URL=postgresql://app:app@127.0.0.1:5432/app \
  "$runtime" sleep 3600 >/dev/null
docker exec "$id-tester" mkdir -p /opt/crucible-probe 2>/dev/null || true
docker cp "$pgsnap" "$id-tester:/tmp/pgsnap.py" >/dev/null
snap() { docker exec "$id-tester" "$py" /tmp/pgsnap.py "$@" >/dev/null; }
appenv=(--env-file "$envfile" -e DATABASE_URL=postgresql://app:app@127.0.0.1:5432/app -e PORT="$port")
docker create --name "$id-migrate" "${common[@]}" "${net[@]}" --user sandbox -w /app --memory 1g "${appenv[@]}" \
  "$app" sleep 3600 >/dev/null
docker cp "$workspace/." "$id-migrate:/app" >/dev/null
docker start "$id-migrate" >/dev/null
docker exec "$id-migrate" alembic upgrade head >/dev/null 2>&1

stairway() {
  local run=(docker exec -e DATABASE_URL=postgresql://app:app@127.0.0.1:5432)
  revisions=$(docker exec "$id-migrate" python -c "
from alembic.config import Config
from alembic.script import ScriptDirectory
s = ScriptDirectory.from_config(Config('alembic.ini'))
print(' '.join(r.revision for r in reversed(list(s.walk_revisions('base', 'heads')))))")
  for db in crucible_plain crucible_stairway; do
    docker exec "$id-tester" "$py" -c "import psycopg,sys
with psycopg.connect(sys.argv[1], autocommit=True) as c: c.execute(f'CREATE DATABASE {sys.argv[2]} OWNER app')" "$su/app" "$db"
  done
  snap snapshot "$su/crucible_plain"
  docker exec -e DATABASE_URL=postgresql://app:app@127.0.0.1:5432/crucible_plain "$id-migrate" alembic upgrade heads >/dev/null 2>&1
  docker exec -e DATABASE_URL=postgresql://app:app@127.0.0.1:5432/crucible_plain "$id-migrate" alembic downgrade base >/dev/null 2>&1
  snap snapshot "$su/crucible_plain"
  snap snapshot "$su/crucible_stairway"
  previous=base first=1 offset=100
  for rev in $revisions; do
    if [ "$first" = 0 ]; then snap seed "$su/crucible_stairway" 3 "$offset"; snap rows "$su/crucible_stairway" '{}'; fi
    docker exec -e DATABASE_URL=postgresql://app:app@127.0.0.1:5432/crucible_stairway "$id-migrate" alembic upgrade "$rev" >/dev/null 2>&1
    snap snapshot "$su/crucible_stairway"
    docker exec -e DATABASE_URL=postgresql://app:app@127.0.0.1:5432/crucible_stairway "$id-migrate" alembic downgrade "$previous" >/dev/null 2>&1
    snap snapshot "$su/crucible_stairway"
    if [ "$first" = 0 ]; then snap rows "$su/crucible_stairway" '{}'; fi
    docker exec -e DATABASE_URL=postgresql://app:app@127.0.0.1:5432/crucible_stairway "$id-migrate" alembic upgrade "$rev" >/dev/null 2>&1
    snap snapshot "$su/crucible_stairway"
    snap snapshot "$su/crucible_stairway"
    previous=$rev first=0 offset=$((offset + 100))
  done
}

lint() {
  local copy; copy=$(mktemp -d)
  (cd "$workspace" && find . -name '*.py' -exec cp --parents {} "$copy" \;)
  (cd "$copy" && semgrep scan --config "$rules" --json --metrics=off --disable-version-check --quiet --no-git-ignore . >/dev/null 2>&1) &
  (cd "$copy" && bandit -r . -f json -q >/dev/null 2>&1) &
  (cd "$copy" && ruff check --isolated --no-cache --select S --output-format json --exit-zero . >/dev/null 2>&1) &
  wait
  rm -rf "$copy"
}

lint & linting=$!
stairway & checking=$!
snap snapshot "$su/app"
docker create --name "$id-app" "${common[@]}" "${net[@]}" --user sandbox -w /app --memory 1g "${appenv[@]}" \
  "$app" sh -c "$(sed -n 's/^start = "\(.*\)"/\1/p' "$workspace/service.toml")" >/dev/null
docker cp "$workspace/." "$id-app:/app" >/dev/null
docker start "$id-app" >/dev/null
docker exec "$id-tester" "$py" -c "
import httpx, time
while True:
    try:
        if httpx.get('http://127.0.0.1:$port/health', timeout=1).status_code == 200: break
    except httpx.HTTPError: pass
    time.sleep(0.1)"
docker cp "$tests" "$id-tester:/hidden/tests" >/dev/null
docker exec "$id-tester" "$py" -m pytest -q -p no:cacheprovider --junitxml=/tmp/t.xml tests >/dev/null || true
docker cp "$probes" "$id-tester:/hidden/probes" >/dev/null
docker exec "$id-tester" "$py" -m pytest -q -p no:cacheprovider --junitxml=/tmp/p.xml probes >/dev/null || true
snap snapshot "$su/app"
wait "$checking" "$linting"
