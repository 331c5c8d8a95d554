#!/usr/bin/env bash
# Starts a local container registry (Debian's docker-registry: the CNCF distribution registry v2) for the registry
# push tests, and prints the `export XTASK_TEST_REGISTRY=127.0.0.1:PORT` line.
#
# Idempotent: installs docker-registry via apt only if missing, writes its own config (loopback only, no auth, its
# own storage folder, deletes enabled) and starts it in the background only when nothing answers on the port yet.
# Progress goes to stderr; stdout carries only the export line, so CI can run:  eval "$(scripts/ci/registry.sh)"
#
# The Debian package's own service (/etc/docker/registry/config.yml) listens on :5000 on every interface with
# htpasswd auth; this one is separate and never touches it.
set -euo pipefail

port="${XTASK_TEST_REGISTRY_PORT:-5055}"
dir="${XTASK_TEST_REGISTRY_DIR:-${TMPDIR:-/tmp}/xtask-test-registry}"

log() { echo "registry.sh: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/"; }

if ! command -v docker-registry >/dev/null 2>&1; then
  log "installing docker-registry via apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >&2
fi

if ! answers 2>/dev/null; then
  mkdir -p "$dir/storage"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  log "starting docker-registry on 127.0.0.1:$port (storage $dir/storage, log $dir/registry.log)"
  nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"
  for _ in $(seq 1 50); do
    if answers 2>/dev/null; then break; fi
    sleep 0.2
  done
  if ! answers; then
    log "docker-registry did not answer on 127.0.0.1:$port; its log:"
    tail -n 20 "$dir/registry.log" >&2 || true
    exit 1
  fi
fi

echo "export XTASK_TEST_REGISTRY=127.0.0.1:$port"
