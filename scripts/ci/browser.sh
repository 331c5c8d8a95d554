#!/usr/bin/env bash
# Installs what the browser suite (apps/todo-web/e2e, run by apps/todo-web/tests/browser.rs) needs: Debian's
# chromium from apt and the suite's pinned npm packages (playwright-core, axe-core) with `npm ci`.
#
# Idempotent: apt only when /usr/bin/chromium is missing; `npm ci` only when node_modules does not match the lock.
# Never downloads a browser: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, and the suite launches /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { echo "browser.sh: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# CHROMIUM_PATH may name another Chromium already there (a GitHub runner's Chrome); otherwise Debian's package.
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  log "installing chromium via apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
"$chromium" --version >&2 2>/dev/null || true

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing: install Node.js 18+ and npm"; exit 1; }
done

e2e=apps/todo-web/e2e
# npm writes node_modules/.package-lock.json on install; the same content as package-lock.json's packages means
# the installed tree is current and `npm ci` (which deletes and reinstalls) can be skipped.
if ! node -e '
  const fs = require("fs");
  const want = JSON.parse(fs.readFileSync(process.argv[1] + "/package-lock.json")).packages;
  const have = JSON.parse(fs.readFileSync(process.argv[1] + "/node_modules/.package-lock.json")).packages;
  for (const [k, v] of Object.entries(want)) if (k && (!have[k] || have[k].version !== v.version)) process.exit(1);
' "$e2e" 2>/dev/null; then
  log "npm ci in $e2e"
  (cd "$e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund >&2)
fi
