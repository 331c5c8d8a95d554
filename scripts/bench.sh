#!/usr/bin/env bash
# Benchmarks of the xtask, recorded in docs/benchmarks.md:
#   1. `xtask up` on the fake tools (they answer at once, so this is the xtask's own overhead): a first run on a
#      fresh checkout and a no-op rerun (target < 150 ms), and the `docker build` calls a rerun issues (target 0);
#   2. with a real Docker engine: a no-op `xtask build --skip-gate vuln` on this repository against Docker's own
#      fully cached `docker build` of the same two images (target: xtask <= 0.2x Docker's time);
#   3. the real images: size against the budget, and the time from `docker run` to the app answering /health
#      (target < 1 s) and to Docker reporting `healthy`.
#
# Usage: bash scripts/bench.sh [--release] [--runs N]
#   --release   measure a release build of the xtask (default: the debug build that `cargo xtask` runs)
#   --runs N    samples per measurement (default 20; the first-run and start-up figures use fewer)
# Uses hyperfine when installed (`apt-get install -y hyperfine`), else a loop timed with `date +%s%N`.
# Everything is bounded: each command has a timeout, and every container the script starts is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

PROFILE=debug
RUNS=20
while [ $# -gt 0 ]; do
  case "$1" in
    --release) PROFILE=release ;;
    --runs) RUNS=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
START_RUNS=5

log() { echo "bench: $*" >&2; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtask-bench.XXXXXX")
CONTAINERS=()
cleanup() {
  if [ "${#CONTAINERS[@]}" -gt 0 ]; then
    timeout 60 docker rm -f "${CONTAINERS[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Results, printed together at the end: "name|figure|target|verdict".
RESULTS=()
result() { RESULTS+=("$1|$2|$3|$4"); }

# ---------------------------------------------------------------------------------------------------------------
# Timing: hyperfine when present (mean ± σ, min, max over N runs), else a date +%s%N loop (mean, min, max).
# bench NAME RUNS PREPARE COMMAND... ; prints one line and sets MEAN_MS.
# BENCH_HYPERFINE= (empty) forces the date loop.
HYPERFINE=${BENCH_HYPERFINE-$(command -v hyperfine || true)}
MEAN_MS=0
MEDIAN_MS=0
bench() {
  local name=$1 runs=$2 prepare=$3
  shift 3
  if [ -n "$HYPERFINE" ]; then
    local json="$WORK/hf.json" args=(--runs "$runs" --warmup 0 --export-json "$WORK/hf.json" --style none -N)
    [ -n "$prepare" ] && args+=(--prepare "$prepare")
    # -N: no intermediate shell, so the figure is the program's own time.
    timeout 900 "$HYPERFINE" "${args[@]}" "$(printf '%q ' "$@")" >/dev/null
    MEAN_MS=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f" % (r["mean"]*1000))' "$json")
    MEDIAN_MS=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f" % (r["median"]*1000))' "$json")
    python3 - "$json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
ms = lambda s: "%.1f ms" % (s * 1000)
print("%-48s mean %s ± %s, median %s  (min %s, max %s, %d runs, hyperfine)" % (sys.argv[2] + ":", ms(r["mean"]), ms(r["stddev"] or 0), ms(r["median"]), ms(r["min"]), ms(r["max"]), len(r["times"])))
PY
  else
    local i t0 t1 total=0 min=999999999 max=0 d all=()
    for i in $(seq 1 "$runs"); do
      [ -n "$prepare" ] && bash -c "$prepare"
      t0=$(date +%s%N)
      timeout 300 "$@" >/dev/null 2>&1
      t1=$(date +%s%N)
      d=$(( (t1 - t0) / 1000 ))
      total=$(( total + d )); [ "$d" -lt "$min" ] && min=$d; [ "$d" -gt "$max" ] && max=$d
      all+=("$d")
    done
    MEDIAN_MS=$(printf '%s\n' "${all[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')
    MEAN_MS=$(awk -v t="$total" -v n="$runs" 'BEGIN { printf "%.1f", t / n / 1000 }')
    awk -v name="$name:" -v t="$total" -v n="$runs" -v lo="$min" -v hi="$max" -v med="$MEDIAN_MS" \
      'BEGIN { printf "%-48s mean %.1f ms, median %s ms  (min %.1f ms, max %.1f ms, %d runs, date loop)\n", name, t/n/1000, med, lo/1000, hi/1000, n }'
  fi
}

verdict_lt() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? "met" : "MISSED" }'; }

# ---------------------------------------------------------------------------------------------------------------
echo "== machine"
echo "cpus: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "memory: $(awk '/MemTotal/ { printf "%.0f GB", $2/1024/1024 }' /proc/meminfo 2>/dev/null)"
echo "kernel: $(uname -srm)"
echo "rustc: $(rustc --version)"
echo "xtask binary: $PROFILE build"
if [ -n "$HYPERFINE" ]; then echo "timer: $("$HYPERFINE" --version)"; else echo "timer: date +%s%N loop"; fi

echo
echo "== building the xtask and the fake tools ($PROFILE, once)"
BUILD_FLAGS=(-p xtask --bins --locked)
[ "$PROFILE" = release ] && BUILD_FLAGS+=(--release)
t0=$(ms_now)
timeout 900 cargo build "${BUILD_FLAGS[@]}" >&2
echo "cargo build ${BUILD_FLAGS[*]}: $(( $(ms_now) - t0 )) ms"
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
XTASK="$TARGET_DIR/$PROFILE/xtask"
FAKE="$TARGET_DIR/$PROFILE/xtask-fake"

# ---------------------------------------------------------------------------------------------------------------
# 1. The fake tools: a copy of the demo project, xtask/tests/fixtures/demo.
SB="$WORK/fake"
mkdir -p "$SB/bin" "$SB/fake" "$SB/project"
for tool in docker minikube kubectl helm trivy kubectl-ai kagent; do
  ln -s "$FAKE" "$SB/bin/$tool"
done
P="$SB/project"
# The same demo project the integration tests use (xtask/tests/support/demo.rs copies it too).
cp -R xtask/tests/fixtures/demo/. "$P/"

# The sandbox environment of the tests: the fakes first on PATH, nothing of a real setup leaking in.
fake_env=(env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_BUILDKIT -u KUBECONFIG -u HELM_NAMESPACE -u MINIKUBE_PROFILE
  -u GEMINI_API_KEY -u OPENAI_API_KEY
  "PATH=$SB/bin:$PATH" "FAKE_DIR=$SB/fake" "XTASK_ROOT=$P" CI=true NO_COLOR=1 DEMO_DB_PASSWORD=pw-for-bench-123)
for v in $(env | grep -o '^FAKE_[A-Z_]*' || true); do fake_env+=(-u "$v"); done
# count_calls [TOOL [SUBCOMMAND]]: invocations started so far, from the fakes' FAKE_DIR/calls.jsonl.
count_calls() {
  python3 - "$SB/fake/calls.jsonl" "$@" <<'PY'
import json, sys
path, want = sys.argv[1], sys.argv[2:]
n = 0
for line in open(path):
    c = json.loads(line)
    if c.get("event") != "start":
        continue
    if want and c.get("tool") != want[0]:
        continue
    if len(want) > 1 and (c.get("args") or [None])[0] != want[1]:
        continue
    n += 1
print(n)
PY
}
# A fresh checkout and cluster: no xtask state, no fake daemon/cluster state, no call log.
RESET="rm -rf '$P/target' '$SB/fake/state' '$SB/fake/calls.jsonl'"

echo
echo "== xtask up on the fake tools (instant answers): the xtask's own overhead"
cd "$P"
bash -c "$RESET"
"${fake_env[@]}" timeout 120 "$XTASK" up >"$WORK/first.out" 2>&1 || {
  cat "$WORK/first.out" >&2
  log "xtask up failed on the fakes"
  exit 1
}
bench "xtask up, first run (fresh state)" "$RUNS" "$RESET" "${fake_env[@]}" "$XTASK" up
FIRST_MS=$MEAN_MS
# One real first run, then only no-op reruns.
bash -c "$RESET"
"${fake_env[@]}" timeout 120 "$XTASK" up >/dev/null 2>&1
builds_before=$(count_calls docker build)
calls_before=$(count_calls)
bench "xtask up, no-op rerun" "$RUNS" "" "${fake_env[@]}" "$XTASK" up
RERUN_MS=$MEAN_MS
CARGO_MS=""
if [ "$PROFILE" = debug ]; then
  # What a user types: `cargo xtask up` (the alias runs the debug build through cargo, which checks it is fresh).
  bench "cargo xtask up, no-op rerun (via cargo run)" "$RUNS" "" "${fake_env[@]}" \
    cargo run --quiet --manifest-path "$REPO/Cargo.toml" --package xtask --bin xtask -- up
  # Median: cargo recompiles the xtask in the first run after any change to xtask/src, an outlier for the mean.
  CARGO_MS=$MEDIAN_MS
fi
builds_after=$(count_calls docker build)
calls_after=$(count_calls)
reruns=$RUNS
[ -z "$CARGO_MS" ] || reruns=$(( 2 * RUNS ))
rerun_builds=$(( builds_after - builds_before ))
echo "docker build calls: $builds_before in the first run, $rerun_builds in $reruns no-op reruns"
echo "tool calls per no-op rerun: $(( (calls_after - calls_before) / reruns ))"
"${fake_env[@]}" timeout 60 "$XTASK" up 2>&1 >/dev/null | tail -n 1 | sed 's/; report: .*//; s/^/last rerun: /'
cd "$REPO"
result "xtask up, first run (fakes)" "$FIRST_MS ms" "-" "-"
result "xtask up, no-op rerun (fakes)" "$RERUN_MS ms" "< 150 ms" "$(verdict_lt "$RERUN_MS" 150)"
[ -z "$CARGO_MS" ] || result "cargo xtask up, no-op rerun (fakes), median" "$CARGO_MS ms" "-" "-"
result "docker build calls in no-op reruns" "$rerun_builds" "0" "$([ "$rerun_builds" -eq 0 ] && echo met || echo MISSED)"

# ---------------------------------------------------------------------------------------------------------------
if ! timeout 20 docker info >/dev/null 2>&1; then
  echo
  echo "== no Docker engine answers: real-image figures skipped (start one with: bash scripts/ci/docker.sh)"
else
  DOCKER_SERVER=$(docker version --format '{{.Server.Version}}')
  if docker buildx version >/dev/null 2>&1 && [ "${DOCKER_BUILDKIT:-1}" != 0 ]; then BUILDER=BuildKit; else BUILDER="legacy builder"; fi
  echo
  echo "== real Docker: engine $DOCKER_SERVER, client $(docker version --format '{{.Client.Version}}'), $BUILDER"
  real_env=(env "XTASK_ROOT=$REPO" CI=true NO_COLOR=1)
  log "warm build: xtask build --skip-gate vuln (a cold release build of the apps takes 1-2 minutes)"
  t0=$(ms_now)
  "${real_env[@]}" timeout 900 "$XTASK" build --skip-gate vuln >"$WORK/warm.out" 2>&1 || {
    tail -n 40 "$WORK/warm.out" >&2
    log "xtask build failed"
    exit 1
  }
  echo "warm-up build: $(( $(ms_now) - t0 )) ms ($(tail -n 1 "$WORK/warm.out" | sed 's/; report: .*//'))"

  # The same -f/-t/context as the xtask's build step, one after the other (as typed by hand) and both at once (as
  # the xtask runs them).
  cat >"$WORK/docker-builds.sh" <<'SH'
#!/usr/bin/env bash
set -e
if [ "$1" = parallel ]; then
  docker build -q -f docker/todo-api/Dockerfile -t todo-api:0.1.0 docker/todo-api >/dev/null &
  docker build -q -f docker/todo-web/Dockerfile -t todo-web:0.1.0 docker/todo-web >/dev/null &
  wait -n && wait -n
else
  docker build -q -f docker/todo-api/Dockerfile -t todo-api:0.1.0 docker/todo-api >/dev/null
  docker build -q -f docker/todo-web/Dockerfile -t todo-web:0.1.0 docker/todo-web >/dev/null
fi
SH
  ids_before=$(docker image inspect --format '{{.Id}}' todo-api:0.1.0 todo-web:0.1.0)
  bench "xtask build --skip-gate vuln, no-op" "$RUNS" "" "${real_env[@]}" "$XTASK" build --skip-gate vuln
  XT_MS=$MEAN_MS
  bench "docker build x2, fully cached, sequential" "$RUNS" "" bash "$WORK/docker-builds.sh" sequential
  SEQ_MS=$MEAN_MS
  bench "docker build x2, fully cached, parallel" "$RUNS" "" bash "$WORK/docker-builds.sh" parallel
  PAR_MS=$MEAN_MS
  ids_after=$(docker image inspect --format '{{.Id}}' todo-api:0.1.0 todo-web:0.1.0)
  [ "$ids_before" = "$ids_after" ] || log "WARNING: docker build produced other image ids (cache not used?)"
  ratio_seq=$(awk -v a="$XT_MS" -v b="$SEQ_MS" 'BEGIN { printf "%.3f", a / b }')
  ratio_par=$(awk -v a="$XT_MS" -v b="$PAR_MS" 'BEGIN { printf "%.3f", a / b }')
  echo "ratio xtask / docker: ${ratio_seq}x (sequential), ${ratio_par}x (parallel)"
  result "xtask build no-op (real repo)" "$XT_MS ms" "-" "-"
  result "docker build x2 cached, sequential / parallel" "$SEQ_MS / $PAR_MS ms" "-" "-"
  result "ratio xtask / docker (sequential)" "${ratio_seq}x" "<= 0.2x" "$(awk -v r="$ratio_seq" 'BEGIN { print (r <= 0.2) ? "met" : "MISSED" }')"
  result "ratio xtask / docker (parallel)" "${ratio_par}x" "<= 0.2x" "$(awk -v r="$ratio_par" 'BEGIN { print (r <= 0.2) ? "met" : "MISSED" }')"

  echo
  echo "== image sizes (budget 20 MB uncompressed, 10 MB compressed; decimal MB)"
  for tag in todo-api:0.1.0 todo-web:0.1.0; do
    size=$(docker image inspect --format '{{.Size}}' "$tag")
    gz=$(timeout 120 docker save "$tag" | gzip | wc -c)
    printf '%-16s uncompressed %8d B (%.2f MB, %.0f%% of budget), docker save | gzip %8d B (%.2f MB)\n' \
      "$tag" "$size" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')" "$(awk -v s="$size" 'BEGIN { print s / 20e6 * 100 }')" \
      "$gz" "$(awk -v s="$gz" 'BEGIN { print s / 1e6 }')"
    result "$tag size / gzip" "$(awk -v s="$size" -v g="$gz" 'BEGIN { printf "%.2f / %.2f MB", s / 1e6, g / 1e6 }')" \
      "<= 20 / 10 MB" "$(awk -v s="$size" -v g="$gz" 'BEGIN { print (s <= 20e6 && g <= 10e6) ? "met" : "MISSED" }')"
  done

  echo
  echo "== start-up: docker run -> /health answers (poll 50 ms) -> Docker says healthy (poll 50 ms)"
  # --health-interval=1s: the images' own interval is 30 s and Docker runs the first probe one interval after the
  # start, so `healthy` would take >= 30 s; Docker 20.10 has no --start-interval (Engine 25+). The probe command
  # itself (`<app> healthcheck`) is the image's.
  for app in todo-api todo-web; do
    case $app in
      todo-api) extra=(-e "DATABASE_URL=postgres://bench:unused@127.0.0.1:1/bench") ;;  # /health needs no database
      todo-web) extra=(-e "BACKEND_URL=http://127.0.0.1:1") ;;
    esac
    health_ms=() healthy_ms=()
    for i in $(seq 1 "$START_RUNS"); do
      t0=$(date +%s%N)
      id=$(timeout 60 docker run -d -p 127.0.0.1::8080 --health-interval=1s "${extra[@]}" "$app:0.1.0")
      CONTAINERS+=("$id")
      t_run=$(date +%s%N)
      port=$(docker port "$id" 8080/tcp | sed -n 's/^127\.0\.0\.1://p' | head -n 1)
      t_health=""
      t_healthy=""
      deadline=$(( $(date +%s) + 45 ))
      while [ -z "$t_healthy" ] && [ "$(date +%s)" -lt "$deadline" ]; do
        if [ -z "$t_health" ] && curl -fsS --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
          t_health=$(date +%s%N)
        fi
        if [ "$(docker inspect --format '{{.State.Health.Status}}' "$id")" = healthy ]; then
          t_healthy=$(date +%s%N)
          [ -n "$t_health" ] || t_health=$t_healthy
        fi
        [ -n "$t_healthy" ] || sleep 0.05
      done
      [ -n "$t_healthy" ] || { log "$app did not become healthy within 45 s"; docker logs "$id" | tail -n 20 >&2; exit 1; }
      printf '%s run %d: docker run -d returned %4d ms, /health %4d ms (%3d ms after the run returned), healthy %5d ms\n' \
        "$app" "$i" $(( (t_run - t0) / 1000000 )) $(( (t_health - t0) / 1000000 )) $(( (t_health - t_run) / 1000000 )) \
        $(( (t_healthy - t0) / 1000000 ))
      health_ms+=($(( (t_health - t0) / 1000000 )))
      healthy_ms+=($(( (t_healthy - t0) / 1000000 )))
      timeout 60 docker rm -f "$id" >/dev/null
    done
    med() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    mx() { printf '%s\n' "$@" | sort -n | tail -n 1; }
    h=$(med "${health_ms[@]}") hmax=$(mx "${health_ms[@]}") y=$(med "${healthy_ms[@]}")
    echo "$app: /health after $h ms (median of $START_RUNS, max $hmax ms), healthy after $y ms (median)"
    result "$app docker run -> /health (median, max)" "$h, $hmax ms" "< 1000 ms" "$(verdict_lt "$hmax" 1000)"
    result "$app docker run -> healthy (interval 1s)" "$y ms" "-" "-"
  done
fi

echo
echo "== summary"
printf '%-48s %-22s %-12s %s\n' "measure" "figure" "target" "verdict"
for r in "${RESULTS[@]}"; do
  IFS='|' read -r a b c d <<<"$r"
  printf '%-48s %-22s %-12s %s\n' "$a" "$b" "$c" "$d"
done
