#!/usr/bin/env bash
# Benchmarks of the xtask and the app, recorded in docs/benchmarks.md. Every comparison is interleaved (A B, B A,
# A B ... by scripts/bench_pairs.py), judged on the ratio of each pair, and printed with min / median / max, the
# 95% confidence interval of the median ratio and the load average:
#   1. the fake tools: a no-op `xtask up` rerun (target < 150 ms), the tool calls it makes (no `docker build`),
#      and its per-image CPU cost at 1000 images against 64 (target <= 1.5x: linear scheduling);
#   2. a real Docker engine: a no-op `cargo xtask build --skip-gate vuln` (what users type) against Docker's own
#      fully cached parallel `docker build` of the same two images (target <= 1.0x), the bare xtask binary
#      against the same (target <= 0.2x), the image sizes and the start-up time;
#   3. PostgreSQL: todo-api's GET and POST /api/tasks under wrk at 100 connections against pgbench running the
#      same statements over as many connections as the API's pool (target >= 0.9x), with p99 and peak RSS.
#
# Usage: bash scripts/bench.sh [--write-doc] [--skip fakes|scale|docker|api]... [--images A,B] [--duration S]
#   --write-doc    replace the figures block of docs/benchmarks.md with this run's (xtask/tests/it/benchmarks_doc.rs
#                  checks the block's format and digest, so the figures cannot be edited by hand)
#   --skip PART    leave a part out (repeatable)
#   --images A,B   image counts of the scaling comparison (default 64,1000)
#   --duration S   seconds of each wrk / pgbench run (default 4)
#   --db-conns N   the API's DATABASE_POOL_SIZE and pgbench's clients (default 10, the API's default pool)
# The API part needs wrk, pgbench and PostgreSQL: they are installed through apt (and PostgreSQL started with
# scripts/ci/postgres.sh) when missing, as root; BENCH_DATABASE_URL or TODO_TEST_DATABASE_URL picks the database.
# Everything is bounded: each command has a timeout, every comparison a pair and time limit, and every server or
# container the script starts is stopped on exit. Servers listen on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

WRITE_DOC=0
SKIP=" "
IMAGES=64,1000
DURATION=4
DB_CONNS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --write-doc) WRITE_DOC=1 ;;
    --skip) SKIP="$SKIP$2 "; shift ;;
    --images) IMAGES=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --db-conns) DB_CONNS=$2; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

log() { echo "bench: $*" >&2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtask-bench.XXXXXX")
CONTAINERS=()
API_PID=""
cleanup() {
  if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; fi
  if [ "${#CONTAINERS[@]}" -gt 0 ]; then timeout 60 docker rm -f "${CONTAINERS[@]}" >/dev/null 2>&1 || true; fi
  if [ -n "${BENCH_SCHEMA:-}" ]; then timeout 30 psql -q -X "$DB_URL" -c "DROP SCHEMA IF EXISTS $BENCH_SCHEMA CASCADE" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

RESULTS="$WORK/results.txt"
: >"$RESULTS"
PAIRS=(python3 "$REPO/scripts/bench_pairs.py")
json() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }
# count NAME VALUE TARGET VERDICT: a figure that is counted or read, not timed.
count() { echo "count | $1 | $2 | target $3 | $4" | tee -a "$RESULTS"; }
# as_root CMD...: root in CI containers, sudo elsewhere.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+changes"
HEADER="bench | scripts/bench.sh | commit $commit | $(date -u +%Y-%m-%dT%H:%MZ) | xtask debug build"
MACHINE="machine | $(nproc) cpus x $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//; s/ *$//') | \
$(awk '/MemTotal/ { printf "%.0f GB", $2/1024/1024 }' /proc/meminfo) | $(uname -sr) | $(rustc --version | cut -d' ' -f1-2) | load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$HEADER"
echo "$MACHINE"

log "building the xtask and the fake tools (debug, once)"
timeout 900 cargo build --quiet -p xtask --bins --locked >&2
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
XTASK="$TARGET_DIR/debug/xtask"
# The fake tools in release: they stand in for docker, minikube, ... and are not what is measured, but each call
# parses the fake daemon's JSON state (about 1.6 KB per image), which a debug build parses ~10x slower; with 1000
# images that made the first `up` (the scaling comparison's setup) take over half an hour on a busy machine.
log "building the fake tools (release, once)"
timeout 900 cargo build --quiet --release -p xtask --bin xtask-fake --locked >&2
FAKE="$TARGET_DIR/release/xtask-fake"

# ---------------------------------------------------------------------------------------------------------------
# 1. The fake tools: copies of the demo project (xtask/tests/fixtures/demo, as the integration tests use it).
SB="$WORK/fake"
mkdir -p "$SB/bin"
for tool in docker minikube kubectl helm trivy kubectl-ai kagent; do ln -s "$FAKE" "$SB/bin/$tool"; done
# fake_env DIR: the tests' sandbox environment for the project in DIR (its own fake state), nothing real leaking in.
fake_env() {
  local v args=(env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_BUILDKIT -u KUBECONFIG -u HELM_NAMESPACE -u MINIKUBE_PROFILE
    -u GEMINI_API_KEY -u OPENAI_API_KEY)
  for v in $(env | grep -o '^FAKE_[A-Z_]*' || true); do args+=(-u "$v"); done
  args+=("PATH=$SB/bin:$PATH" "FAKE_DIR=$1/fake" "XTASK_ROOT=$1/project" CI=true NO_COLOR=1 DEMO_DB_PASSWORD=pw-for-bench-123)
  printf '%s\n' "${args[@]}"
}
# project N: a demo project with N images (the demo's two plus copies of its api image, each with its own context
# and content: identical copies would all be one image under N tags, and every `docker image inspect` of a tag would
# list all N tags (as Docker does), a quadratic output no real project of N distinct images has).
project() {
  local n=$1 dir="$SB/p$1"
  mkdir -p "$dir/fake" "$dir/project"
  cp -R xtask/tests/fixtures/demo/. "$dir/project/"
  python3 - "$dir/project" "$n" <<'PY'
import shutil, sys
root, n = sys.argv[1], int(sys.argv[2])
text = open(f"{root}/xtask.yaml").read()
extra = ""
for i in range(3, n + 1):
    shutil.copytree(f"{root}/images/api", f"{root}/images/api{i}")
    with open(f"{root}/images/api{i}/api", "a") as f:
        f.write(f" copy {i}")
    extra += (f"  - name: api{i}\n    context: images/api{i}\n    dockerfile: images/api{i}/Dockerfile\n"
              f"    tag: demo-api{i}:1.0.0\n    port: 8080\n")
head, sep, tail = text.partition("cluster:\n")
open(f"{root}/xtask.yaml", "w").write(head + extra + sep + tail)
PY
  echo "$dir"
}
# up_cmd DIR: `xtask up` for that project, as a JSON array.
up_cmd() { mapfile -t e < <(fake_env "$1"); json "${e[@]}" "$XTASK" up; }
first_up() {
  mapfile -t e < <(fake_env "$1")
  (cd "$1/project" && "${e[@]}" timeout 1800 "$XTASK" up >"$WORK/first.out" 2>&1) || {
    tail -n 30 "$WORK/first.out" >&2
    log "the first xtask up on the fakes failed"
    exit 1
  }
}

if ! skipped fakes; then
  log "fakes: a no-op xtask up and the calls it makes"
  D2=$(project 2)
  first_up "$D2"
  # calls [build]: tool calls (or `docker build` calls) the fakes have logged so far.
  calls() {
    python3 - "$D2/fake/calls.jsonl" "$@" <<'PY'
import json, sys
starts = [c for c in map(json.loads, open(sys.argv[1])) if c.get("event") == "start"]
if sys.argv[2:] == ["build"]:
    starts = [c for c in starts if c.get("tool") == "docker" and (c.get("args") or [None])[0] == "build"]
print(len(starts))
PY
  }
  c0=$(calls) b0=$(calls build)
  mapfile -t e < <(fake_env "$D2")
  "${e[@]}" timeout 60 "$XTASK" up >/dev/null 2>&1
  c1=$(calls) b1=$(calls build)
  count "tool calls per no-op xtask up (fakes)" "$(( c1 - c0 ))" "-" "-"
  count "docker build calls in a no-op xtask up (fakes)" "$(( b1 - b0 ))" "0" "$([ $(( b1 - b0 )) -eq 0 ] && echo met || echo missed)"
  "${PAIRS[@]}" measure --name "no-op xtask up (fakes, 2 images)" --label "xtask up" \
    --cmd "$(up_cmd "$D2")" --runs 20 --target '< 150' --out "$RESULTS"
fi

if ! skipped scale; then
  small=${IMAGES%,*} big=${IMAGES#*,}
  log "fakes: no-op xtask up with $small and $big images (the first up of $big images can take minutes)"
  DS=$(project "$small") DB=$(project "$big")
  first_up "$DS"
  first_up "$DB"
  # Judged on CPU time (the xtask's and the fakes', user + sys): the cost of the work, which a busy machine does not
  # stretch the way it stretches the wall time (printed beside it).
  "${PAIRS[@]}" compare --name "no-op xtask up per image, $big vs $small images (fakes)" --figure cpu \
    --a-label "$big images" --a "$(up_cmd "$DB")" --a-per "$big" \
    --b-label "$small images" --b "$(up_cmd "$DS")" --b-per "$small" \
    --pairs 5 --max-pairs 10 --max-seconds 300 --timeout 600 --target '<= 1.5' --out "$RESULTS"
fi

# ---------------------------------------------------------------------------------------------------------------
# 2. A real Docker engine.
if skipped docker; then
  :
elif ! timeout 20 docker info >/dev/null 2>&1; then
  log "no Docker engine answers: the Docker figures are left out (start one with: bash scripts/ci/docker.sh)"
else
  log "docker: warm-up build (a cold release build of the apps takes 1-2 minutes)"
  # Tags of the benchmark's own (bench-todo-api:0.1.0, ...), so builds of todo-api:0.1.0 from other checkouts on the
  # same daemon cannot change what is cached while the pairs run.
  sed -e 's/^project: .*/project: todobench/' -e 's/tag: todo-\(api\|web\):/tag: bench-todo-\1:/' xtask.yaml >"$WORK/xtask.yaml"
  real_env=(env "XTASK_ROOT=$REPO" CI=true NO_COLOR=1)
  xt_flags=(--config "$WORK/xtask.yaml" build --skip-gate vuln)
  "${real_env[@]}" timeout 900 "$XTASK" "${xt_flags[@]}" >"$WORK/warm.out" 2>&1 || {
    tail -n 40 "$WORK/warm.out" >&2
    log "xtask build failed"
    exit 1
  }
  # The same -f/-t/context as the xtask's build steps, both at once (as the xtask runs them).
  cat >"$WORK/docker-builds.sh" <<'SH'
#!/usr/bin/env bash
set -e
docker build -q -f docker/todo-api/Dockerfile -t bench-todo-api:0.1.0 docker/todo-api >/dev/null &
docker build -q -f docker/todo-web/Dockerfile -t bench-todo-web:0.1.0 docker/todo-web >/dev/null &
wait -n && wait -n
SH
  ids_before=$(docker image inspect --format '{{.Id}}' bench-todo-api:0.1.0 bench-todo-web:0.1.0)
  docker_par=$(json bash "$WORK/docker-builds.sh")
  "${PAIRS[@]}" compare --name "no-op cargo xtask build vs docker build x2 cached, parallel" \
    --a-label "cargo xtask build --skip-gate vuln" --a "$(json "${real_env[@]}" cargo xtask "${xt_flags[@]}")" \
    --b-label "docker build x2" --b "$docker_par" --pairs 20 --max-pairs 40 --target '<= 1.0' --out "$RESULTS"
  "${PAIRS[@]}" compare --name "no-op xtask binary build vs docker build x2 cached, parallel" \
    --a-label "xtask build --skip-gate vuln" --a "$(json "${real_env[@]}" "$XTASK" "${xt_flags[@]}")" \
    --b-label "docker build x2" --b "$docker_par" --pairs 20 --max-pairs 40 --target '<= 0.2' --out "$RESULTS"
  ids_after=$(docker image inspect --format '{{.Id}}' bench-todo-api:0.1.0 bench-todo-web:0.1.0)
  count "image ids unchanged by the cached docker builds" "$([ "$ids_before" = "$ids_after" ] && echo yes || echo no)" \
    "yes" "$([ "$ids_before" = "$ids_after" ] && echo met || echo missed)"

  for tag in bench-todo-api:0.1.0 bench-todo-web:0.1.0; do
    size=$(docker image inspect --format '{{.Size}}' "$tag")
    gz=$(timeout 120 docker save "$tag" | gzip | wc -c)
    count "$tag uncompressed / docker save + gzip, MB" "$(awk -v s="$size" -v g="$gz" 'BEGIN { printf "%.2f / %.2f", s / 1e6, g / 1e6 }')" \
      "<= 20 / 10" "$(awk -v s="$size" -v g="$gz" 'BEGIN { print (s <= 20e6 && g <= 10e6) ? "met" : "missed" }')"
  done

  # docker run -> /health answers (polled every 50 ms) -> Docker says healthy (--health-interval=1s: the images'
  # own interval is 30 s and Docker 20.10 has no --start-interval). 5 runs each.
  for app in todo-api todo-web; do
    case $app in
      todo-api) extra=(-e "DATABASE_URL=postgres://bench:unused@127.0.0.1:1/bench") ;;  # /health needs no database
      todo-web) extra=(-e "BACKEND_URL=http://127.0.0.1:1") ;;
    esac
    health_ms=() healthy_ms=() app_ms=()
    for _ in 1 2 3 4 5; do
      t0=$(date +%s%N)
      id=$(timeout 60 docker run -d -p 127.0.0.1::8080 --health-interval=1s "${extra[@]}" "bench-$app:0.1.0")
      t_run=$(date +%s%N)
      CONTAINERS+=("$id")
      port=$(docker port "$id" 8080/tcp | sed -n 's/^127\.0\.0\.1://p' | head -n 1)
      t_health="" t_healthy=""
      deadline=$(( $(date +%s) + 45 ))
      while [ -z "$t_healthy" ] && [ "$(date +%s)" -lt "$deadline" ]; do
        if [ -z "$t_health" ] && curl -fsS --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then t_health=$(date +%s%N); fi
        if [ "$(docker inspect --format '{{.State.Health.Status}}' "$id")" = healthy ]; then
          t_healthy=$(date +%s%N)
          [ -n "$t_health" ] || t_health=$t_healthy
        fi
        [ -n "$t_healthy" ] || sleep 0.05
      done
      [ -n "$t_healthy" ] || { log "$app did not become healthy within 45 s"; docker logs "$id" | tail -n 20 >&2; exit 1; }
      health_ms+=($(( (t_health - t0) / 1000000 )))
      app_ms+=($(( (t_health - t_run) / 1000000 )))
      healthy_ms+=($(( (t_healthy - t0) / 1000000 )))
      timeout 60 docker rm -f "$id" >/dev/null
    done
    h=$(printf '%s\n' "${health_ms[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%d / %d / %d", a[1], a[3], a[5] }')
    y=$(printf '%s\n' "${healthy_ms[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%d / %d / %d", a[1], a[3], a[5] }')
    a=$(printf '%s\n' "${app_ms[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%d / %d / %d", a[1], a[3], a[5] }')
    amax=$(printf '%s\n' "${app_ms[@]}" | sort -n | tail -n 1)
    # Judged on the app's own part (from `docker run -d` returning to /health answering): the rest is the daemon
    # creating the container, which a loaded machine stretches whatever the image.
    count "$app docker run -> /health, ms (5 runs)" "$h" "-" "-"
    count "$app docker run returned -> /health (the app's start), ms" "$a" "max < 1000" "$([ "$amax" -lt 1000 ] && echo met || echo missed)"
    count "$app docker run -> healthy (--health-interval=1s), ms" "$y" "-" "-"
  done
fi

# ---------------------------------------------------------------------------------------------------------------
# 3. The API against PostgreSQL's own rate.
if ! skipped api; then
  for tool in wrk pgbench psql; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      case $tool in
        wrk) log "installing wrk through apt"; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2 ;;
        *) log "installing PostgreSQL (for $tool) through scripts/ci/postgres.sh"; bash scripts/ci/postgres.sh >/dev/null ;;
      esac
    fi
  done
  [ -n "${BENCH_DATABASE_URL:-}" ] || BENCH_DATABASE_URL=${TODO_TEST_DATABASE_URL:-$(bash scripts/ci/postgres.sh | sed -n "s/^export TODO_TEST_DATABASE_URL=//p" | tr -d "'\"")}
  DB_URL=$BENCH_DATABASE_URL
  BENCH_SCHEMA="bench_$$"
  psql -q -X -v ON_ERROR_STOP=1 "$DB_URL" -c "CREATE SCHEMA $BENCH_SCHEMA" >/dev/null
  sep='?'; [[ "$DB_URL" == *\?* ]] && sep='&'
  SCHEMA_URL="$DB_URL${sep}options=-c%20search_path%3D$BENCH_SCHEMA"

  # The static binary the build staged when Docker ran; else a plain release build.
  API_BIN="$REPO/docker/todo-api/bin/todo-api"
  if [ ! -x "$API_BIN" ]; then
    log "api: building todo-api (release)"
    timeout 1800 cargo build --quiet --release --locked -p todo-api >&2
    API_BIN="$TARGET_DIR/release/todo-api"
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # HOST: on loopback only (the app's default is every interface, for containers).
  HOST=127.0.0.1 PORT=$port DATABASE_URL="$SCHEMA_URL" DATABASE_POOL_SIZE=$DB_CONNS LOG_LEVEL=warn "$API_BIN" >"$WORK/api.log" 2>&1 &
  API_PID=$!
  echo "$API_PID" >"$WORK/api.pid"
  for _ in $(seq 1 100); do curl -fsS --max-time 1 "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS --max-time 2 "http://127.0.0.1:$port/ready" >/dev/null || { cat "$WORK/api.log" >&2; log "todo-api did not become ready"; exit 1; }

  # The app's own statements (apps/todo-api/src/tasks.rs and task.rs: keep them in step), prepared once per
  # connection like the app's pool does.
  # pgbench reads `:name` as a variable, so the format's colons are written \x3a in an escape string: the same
  # constant to PostgreSQL.
  columns="id, title, description, to_char(due_date, 'YYYY-MM-DD') AS due_date, priority, status, \
to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD\"T\"HH24\\x3aMI\\x3aSS.US\"Z\"') AS created_at, \
to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD\"T\"HH24\\x3aMI\\x3aSS.US\"Z\"') AS updated_at"
  object="json_build_object('id', id, 'title', title, 'description', description, \
'due_date', to_char(due_date, 'YYYY-MM-DD'), 'priority', priority, 'status', status, \
'created_at', to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD\"T\"HH24\\x3aMI\\x3aSS.US\"Z\"'), \
'updated_at', to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD\"T\"HH24\\x3aMI\\x3aSS.US\"Z\"'))"
  # GET /api/tasks (the list aggregated to JSON text in PostgreSQL) binds status = NULL; pgbench cannot bind a
  # NULL, so the same statement has the NULL written in.
  echo "SELECT COALESCE(json_agg($object ORDER BY id), '[]')::text FROM tasks WHERE (NULL::text IS NULL OR status = NULL::text);" >"$WORK/select.sql"
  echo "INSERT INTO tasks (title, description, due_date, priority) VALUES ('load test task', NULL, NULL::text::date, 'high') RETURNING $columns;" >"$WORK/insert.sql"
  cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"title":"load test task","priority":"high"}'
wrk.headers["Content-Type"] = "application/json"
LUA
  # Before every run: the table back to 100 rows (GET returns them all, so its size must not drift).
  reset=$(json psql -q -X -v ON_ERROR_STOP=1 "$SCHEMA_URL" -c "TRUNCATE tasks RESTART IDENTITY; INSERT INTO tasks (title) SELECT 'task ' || g FROM generate_series(1, 100) g")
  pgbench_cmd() { json pgbench -n -M prepared -c "$DB_CONNS" -j 2 -T "$DURATION" -f "$1" "$SCHEMA_URL"; }
  log "api: GET and POST /api/tasks (wrk, 100 connections) against pgbench ($DB_CONNS connections), ${DURATION}s each"
  "${PAIRS[@]}" compare --name "GET /api/tasks, 100 connections, pool $DB_CONNS vs pgbench SELECT, $DB_CONNS connections" \
    --figure-a wrk --figure-b pgbench --a-label "todo-api" --b-label "pgbench" \
    --a "$(json wrk -t2 -c100 -d"${DURATION}s" --latency "http://127.0.0.1:$port/api/tasks")" --b "$(pgbench_cmd "$WORK/select.sql")" \
    --prepare-a "$reset" --prepare-b "$reset" --rss-pid-file "$WORK/api.pid" \
    --pairs 10 --max-pairs 16 --warmup 0 --timeout 60 --target '>= 0.9' --out "$RESULTS"
  "${PAIRS[@]}" compare --name "POST /api/tasks, 100 connections, pool $DB_CONNS vs pgbench INSERT, $DB_CONNS connections" \
    --figure-a wrk --figure-b pgbench --a-label "todo-api" --b-label "pgbench" \
    --a "$(json wrk -t2 -c100 -d"${DURATION}s" --latency -s "$WORK/post.lua" "http://127.0.0.1:$port/api/tasks")" \
    --b "$(pgbench_cmd "$WORK/insert.sql")" \
    --prepare-a "$reset" --prepare-b "$reset" --rss-pid-file "$WORK/api.pid" \
    --pairs 10 --max-pairs 16 --warmup 0 --timeout 60 --target '>= 0.9' --out "$RESULTS"
  grep -q '"level":"error"' "$WORK/api.log" && { log "todo-api logged errors under load:"; grep '"level":"error"' "$WORK/api.log" | tail -n 5 >&2; }
  kill "$API_PID"; wait "$API_PID" 2>/dev/null || true; API_PID=""
fi

# ---------------------------------------------------------------------------------------------------------------
# The figures block: header, machine, every result line, and a digest of them (so hand edits show).
{
  echo "$HEADER"
  echo "$MACHINE"
  cat "$RESULTS"
} >"$WORK/block.txt"
python3 scripts/bench_pairs.py digest "$WORK/block.txt" >>"$WORK/block.txt"
echo
echo "== figures"
cat "$WORK/block.txt"
if [ "$WRITE_DOC" = 1 ]; then
  python3 - docs/benchmarks.md "$WORK/block.txt" <<'PY'
import re, sys
doc, block = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
begin, end = "<!-- figures: begin (bash scripts/bench.sh --write-doc) -->", "<!-- figures: end -->"
if begin not in text or end not in text:
    sys.exit(f"bench.sh: {doc} has no figures markers ({begin} ... {end})")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc, "w").write(f"{head}{begin}\n```text\n{block}```\n{end}{tail}")
PY
  log "docs/benchmarks.md: figures block replaced"
fi
