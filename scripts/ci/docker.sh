#!/usr/bin/env bash
# Makes a Docker engine answer for the real-image tests: installs Debian's docker.io if there is no dockerd, and
# starts dockerd in the background when `docker info` gets no answer. Idempotent. Progress goes to stderr.
set -euo pipefail

log() { echo "docker.sh: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io via apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi

if docker info >/dev/null 2>&1; then
  log "the Docker engine already answers"
  exit 0
fi

log "starting dockerd (log: ${TMPDIR:-/tmp}/xtask-dockerd.log)"
as_root sh -c "nohup dockerd >'${TMPDIR:-/tmp}/xtask-dockerd.log' 2>&1 &"
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "dockerd is up"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; its log:"
tail -n 30 "${TMPDIR:-/tmp}/xtask-dockerd.log" >&2 || true
exit 1
