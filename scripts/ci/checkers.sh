#!/usr/bin/env bash
# Third-party checkers nobody here wrote, run on the repository (see docs/ci.md, "Checkers"): cargo-machete (unused
# dependencies), cargo-deny (licenses, bans, sources; deny.toml), actionlint and zizmor (the workflow), checkov
# (Dockerfiles, k8s/ and the rendered chart; .checkov.yaml). Every finding fails the run; accepted findings are
# suppressed in the committed config files, each with its reason.
#
# Needs: cargo-machete and cargo-deny (`cargo install --locked`, .ci/run does it), the tools of
# scripts/ci/requirements.txt on PATH (actionlint, zizmor, Helm's engine through scripts/ci/helm), and checkov from
# scripts/ci/requirements-checkov.txt in its own virtualenv (CHECKOV, default .venv-checkov/bin/checkov).
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n== %s\n' "$*" >&2; }

step "cargo machete (unused dependencies)"
cargo machete

step "cargo deny (licenses, bans, sources)"
# Advisories need the RustSec database from github.com, which is not a package registry and cannot be fetched
# everywhere; `XTASK_DENY_ADVISORIES=1` adds the check where it can (cargo-deny fetches the database itself).
if [ "${XTASK_DENY_ADVISORIES:-0}" = 1 ]; then
  cargo deny --locked check
else
  cargo deny --offline --locked check licenses bans sources
fi

step "actionlint (the workflow)"
actionlint -no-color

step "zizmor --offline (the workflow)"
zizmor --offline --no-progress .github/workflows

step "checkov (Dockerfiles, k8s/, the rendered chart)"
CHECKOV="${CHECKOV:-.venv-checkov/bin/checkov}"
# Offline: no Prisma Cloud API lookups (checkov otherwise resolves api0.prismacloud.io on start).
export BC_SKIP_MAPPING=TRUE
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for values in values-dev.yaml values-prod.yaml; do
  mkdir -p "$rendered/${values%.yaml}"
  helm template todo helm/todo --namespace todo -f "helm/todo/$values" \
    --set database.existingSecret=todo-db >"$rendered/${values%.yaml}/todo.yaml"
done
# The dev values (which k8s/ is rendered from) leave networkPolicy.enabled off: minikube's default CNI does not
# enforce NetworkPolicies. CKV2_K8S_6 ("pods should be covered by a NetworkPolicy") is therefore checked on the prod
# render only. A --skip-check on the command line replaces the config file's list, so the list is carried over.
skips="$(sed -n 's/^  - \(CKV[A-Z0-9_]*\)$/\1/p' .checkov.yaml | paste -sd, -)"
checkov() { "$CHECKOV" --config-file .checkov.yaml --skip-download --quiet --compact "$@"; }
checkov --framework dockerfile --file docker/todo-api/Dockerfile --file docker/todo-web/Dockerfile
checkov --framework kubernetes --skip-check "$skips,CKV2_K8S_6" --directory k8s
checkov --framework kubernetes --skip-check "$skips,CKV2_K8S_6" --directory "$rendered/values-dev"
checkov --framework kubernetes --directory "$rendered/values-prod"
