#!/usr/bin/env python3
"""Static checks of the helm/todo chart and the k8s/ manifests rendered from it. No cluster needed.

Lints and renders the chart for every values variant with the `helm` on PATH (the real CLI, or scripts/ci/helm,
the CI adapter over Helm's engine), validates every manifest against the Kubernetes 1.28-1.31 schemas
(kubernetes-validate, strict), checks every render against the deployment policy with `cargo xtask manifests
--policy -` (the xtask holds that policy, the one `cargo xtask up` applies: hardening, probes, resources, labels,
selectors; XTASK names a built xtask binary to run instead of `cargo xtask`), and checks what this chart promises
beyond it: UID 1000 app pods, probe paths, exact defaults, autoscaling, the documented values, and that k8s/
matches a fresh render (`cargo xtask manifests --check`) and builds with kubectl kustomize.

    python3 -m venv .venv && .venv/bin/pip install -r scripts/ci/requirements.txt
    PATH="$PWD/scripts/ci:$PWD/.venv/bin:$PATH" .venv/bin/python scripts/ci/check-chart.py

Prints one line per check and `N passed, M failed`; exits 1 when any check failed.
`--write` regenerates the generated parts instead (README's Parameters section with Bitnami's readme-generator,
k8s/base/todo.yaml with `cargo xtask manifests`), then checks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = Path("helm/todo")
K8S_DIR = Path("k8s")
K8S_FILE = K8S_DIR / "base" / "todo.yaml"
README = CHART / "README.md"
KUBE_VERSIONS = ["1.28.0", "1.29.0", "1.30.0", "1.31.0"]
RELEASE = NAMESPACE = "todo"
APP_UID = 1000
# The defaults the chart promises (values.yaml), checked exactly in the default variant.
DEFAULT_RESOURCES = {
    "backend": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "frontend": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
}
DEFAULT_HPA = {"backend": (2, 10, 70), "frontend": (2, 5, 80)}
READINESS_PATH = {"backend": "/ready", "frontend": "/health"}


# --- reporting -------------------------------------------------------------------------------------------------


@dataclass
class Report:
    passed: int = 0
    failed: int = 0

    def check(self, name: str, problems: Iterable[str] | bool | str | None) -> bool:
        """Record one check. `problems` is a list of problems, a bool (True = ok), or one problem string."""
        if isinstance(problems, bool):
            problems = [] if problems else ["failed"]
        elif isinstance(problems, str):
            problems = [problems]
        problems = list(problems or [])
        if problems:
            self.failed += 1
            shown = "; ".join(problems[:5]) + (f"; ... {len(problems) - 5} more" if len(problems) > 5 else "")
            print(f"FAIL {name}: {shown}", flush=True)
        else:
            self.passed += 1
            print(f"ok   {name}", flush=True)
        return not problems


# --- helm ------------------------------------------------------------------------------------------------------


def helm_binary() -> str:
    found = shutil.which("helm")
    return found or str(ROOT / "scripts/ci/helm")


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], cwd=ROOT, capture_output=True, text=True, check=False)


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@dataclass
class Variant:
    """One way of installing the chart, and what its render must contain."""

    name: str
    files: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    defaults: bool = False  # the exact default resources and HPA bounds apply
    expect_secret: bool = True
    expect_postgresql: bool = True
    expect_ingress: bool = False
    expect_network_policies: bool = False
    expect_extensions: bool = False  # ci/extensions-values.yaml: podLabels, volumes, probes, ... reach the pod
    expect_digests: bool = False  # images pulled from a registry (postgres, the test image) pinned by digest
    secret_name: str = "todo-db"

    def args(self) -> list[str]:
        out: list[str] = []
        for f in self.files:
            out += ["-f", str(CHART / f)]
        for s in self.sets:
            out += ["--set", s]
        return out


def variants() -> list[Variant]:
    # Throwaway credentials, generated per run: no password is ever committed, not even a test one.
    password = secrets.token_urlsafe(18)
    pw = f"database.password={password}"
    return [
        Variant("values.yaml", sets=[pw], defaults=True),
        Variant("values-dev.yaml", files=["values-dev.yaml"], sets=[pw]),
        Variant("values-prod.yaml", files=["values-prod.yaml"], sets=[pw], expect_ingress=True,
                expect_network_policies=True, expect_digests=True),
        # PodDisruptionBudgets take percentages as well as counts.
        Variant("pdb percentage", files=["values-dev.yaml"], sets=[pw, "backend.pdb.minAvailable=50%"]),
        Variant("existingSecret", files=["ci/existing-secret-values.yaml"], expect_secret=False,
                secret_name="todo-db-credentials"),
        Variant("external-db url", sets=["postgresql.enabled=false",
                                         f"externalDatabase.url=postgres://todo:{password}@db.example.test:5432/todo"],
                expect_postgresql=False),
        Variant("external-db existingSecret", files=["ci/external-db-values.yaml"], expect_secret=False,
                expect_postgresql=False, secret_name="todo-external-db"),
        Variant("ingress", files=["ci/ingress-values.yaml"], sets=[pw], expect_ingress=True),
        Variant("extension points", files=["ci/extensions-values.yaml"], sets=[pw], expect_extensions=True),
    ]


# --- manifest checks -------------------------------------------------------------------------------------------


def kind_name(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def component_of(doc: dict[str, Any]) -> str:
    return ((doc.get("metadata") or {}).get("labels") or {}).get("component", "")


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") in ("Deployment", "StatefulSet")]


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, pod metadata, pod spec) of every workload's template and every bare Pod (the helm tests)."""
    out = []
    for doc in docs:
        if doc.get("kind") in ("Deployment", "StatefulSet"):
            template = doc["spec"]["template"]
            out.append((kind_name(doc), template.get("metadata") or {}, template["spec"]))
        elif doc.get("kind") == "Pod":
            out.append((kind_name(doc), doc.get("metadata") or {}, doc["spec"]))
    return out


def check_schemas(docs: list[dict[str, Any]], version: str) -> list[str]:
    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            problems.append(f"{kind_name(doc)}: {path}: {err.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as err:
            problems.append(f"{kind_name(doc)}: {err.message}")
    return problems


def xtask() -> list[str]:
    """The xtask, which holds the deployment policy: XTASK (a built binary; the tests pass theirs), else `cargo xtask`."""
    return [os.environ["XTASK"]] if os.environ.get("XTASK") else ["cargo", "xtask"]


def check_policy(rendered: str) -> list[str]:
    """The deployment policy (hardening, probes, resources, labels, selectors), asked of the xtask, its one home:
    the same rules `cargo xtask up` applies to every render. One problem per breach, as the xtask words it."""
    result = subprocess.run([*xtask(), "--quiet", "manifests", "--policy", "-"], cwd=ROOT, input=rendered,
                            capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return []
    problems = [line[len("  - "):] for line in result.stderr.splitlines() if line.startswith("  - ")]
    return problems or [f"`{' '.join(xtask())} manifests --policy -` failed (exit {result.returncode}): "
                        f"{result.stderr.strip()[-300:]}"]


def check_app_uid(docs: list[dict[str, Any]]) -> list[str]:
    """The app pods run as the UID/GID the images are built for (the policy asks only for a non-zero UID)."""
    problems = []
    for name, meta, spec in pod_specs(docs):
        if (meta.get("labels") or {}).get("component") not in ("backend", "frontend"):
            continue
        pod_sc = spec.get("securityContext") or {}
        for key in ("runAsUser", "runAsGroup", "fsGroup"):
            if pod_sc.get(key) != APP_UID:
                problems.append(f"{name}: pod {key} is {pod_sc.get(key)}, want {APP_UID}")
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            sc = c.get("securityContext") or {}
            if sc.get("runAsUser", APP_UID) != APP_UID:
                problems.append(f"{name}/{c['name']}: runAsUser is {sc.get('runAsUser')}, want {APP_UID}")
    return problems


def check_probe_paths(docs: list[dict[str, Any]]) -> list[str]:
    """The app containers probe the endpoints the apps serve (the policy asks only that the probes exist)."""
    problems = []
    for doc in workloads(docs):
        component = component_of(doc)
        if component not in READINESS_PATH:
            continue
        for c in doc["spec"]["template"]["spec"]["containers"]:
            where = f"{kind_name(doc)}/{c['name']}"
            paths = {p: ((c.get(p) or {}).get("httpGet") or {}).get("path") for p in
                     ("livenessProbe", "readinessProbe", "startupProbe")}
            want = {"livenessProbe": "/health", "readinessProbe": READINESS_PATH[component], "startupProbe": "/health"}
            problems += [f"{where}: {p} path {paths[p]}, want {want[p]}" for p in want if paths[p] != want[p]]
    return problems


def check_shutdown(docs: list[dict[str, Any]]) -> list[str]:
    """The app pods' shutdown adds up: the preStop wait, then the app's drain (DRAIN_TIMEOUT_SECONDS), then a
    margin for the exit, all within terminationGracePeriodSeconds; else the kubelet SIGKILLs requests mid-flight."""
    problems = []
    for doc in workloads(docs):
        if component_of(doc) not in READINESS_PATH or doc["kind"] != "Deployment":
            continue
        spec = doc["spec"]["template"]["spec"]
        grace = spec.get("terminationGracePeriodSeconds", 30)  # the Kubernetes default
        for c in spec["containers"]:
            where = f"{kind_name(doc)}/{c['name']}"
            cmd = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
            if len(cmd) != 3 or cmd[1] != "sleep":
                problems.append(f"{where}: preStop is not `<app> sleep N`: {cmd}")
                continue
            drain = next((e.get("value") for e in c.get("env", []) if e["name"] == "DRAIN_TIMEOUT_SECONDS"), None)
            if drain is None:
                problems.append(f"{where}: no DRAIN_TIMEOUT_SECONDS")
                continue
            need = int(cmd[2]) + float(drain) + 1
            if grace < need:
                problems.append(f"{where}: terminationGracePeriodSeconds {grace} < preStop {cmd[2]} + drain {drain} + 1")
    return problems


def check_default_resources(docs: list[dict[str, Any]]) -> list[str]:
    """The default variant renders exactly the resources values.yaml promises (the policy asks only that they exist)."""
    problems = []
    for doc in workloads(docs):
        want = DEFAULT_RESOURCES.get(component_of(doc))
        for c in doc["spec"]["template"]["spec"]["containers"]:
            res = c.get("resources") or {}
            if want and res != want:
                problems.append(f"{kind_name(doc)}/{c['name']}: resources {json.dumps(res, sort_keys=True)}, "
                                f"want {json.dumps(want, sort_keys=True)}")
    return problems


def check_rollout(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        strategy = doc["spec"].get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        if strategy.get("type") != "RollingUpdate" or rolling.get("maxUnavailable") != 1 or rolling.get("maxSurge") != 1:
            problems.append(f"{kind_name(doc)}: strategy is {strategy}, want RollingUpdate 1/1")
        annotations = doc["spec"]["template"].get("metadata", {}).get("annotations") or {}
        if "checksum/config" not in annotations:
            problems.append(f"{kind_name(doc)}: no checksum/config pod annotation")
    return problems


def check_scaling(docs: list[dict[str, Any]], exact: bool) -> list[str]:
    problems = []
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"}
    pdbs = {component_of(d): d for d in docs if d.get("kind") == "PodDisruptionBudget"}
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        name, component = doc["metadata"]["name"], component_of(doc)
        hpa = hpas.get(name)
        if hpa:
            if "replicas" in doc["spec"]:
                problems.append(f"{kind_name(doc)}: sets replicas although an HPA scales it")
            spec = hpa["spec"]
            cpu = [m["resource"]["target"].get("averageUtilization") for m in spec.get("metrics", [])
                   if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"]
            if spec.get("minReplicas", 1) < 2 or spec["maxReplicas"] < spec.get("minReplicas", 1) or not cpu:
                problems.append(f"HorizontalPodAutoscaler/{name}: bounds {spec.get('minReplicas')}-{spec['maxReplicas']}, cpu {cpu}")
            if exact and (spec.get("minReplicas"), spec["maxReplicas"], cpu[0] if cpu else None) != DEFAULT_HPA.get(component):
                problems.append(f"HorizontalPodAutoscaler/{name}: {spec.get('minReplicas')}-{spec['maxReplicas']} at "
                                f"{cpu}%, want {DEFAULT_HPA.get(component)}")
        elif doc["spec"].get("replicas", 1) < 2:
            problems.append(f"{kind_name(doc)}: {doc['spec'].get('replicas', 1)} replica(s), want >= 2")
        pdb = pdbs.get(component)
        floor = hpa["spec"].get("minReplicas", 1) if hpa else doc["spec"].get("replicas", 1)
        if not pdb:
            problems.append(f"{kind_name(doc)}: no PodDisruptionBudget")
        elif not pdb_allows_eviction(pdb["spec"], floor):
            problems.append(f"{kind_name(pdb)}: {pdb['spec']} at {floor} replica(s) blocks every node drain")
    return problems


def pdb_allows_eviction(spec: dict[str, Any], replicas: int) -> bool:
    """Whether a drain may evict at least one of `replicas` pods (Kubernetes rounds percentages up)."""
    def count(value: Any) -> int:
        if isinstance(value, str) and value.endswith("%"):
            return -(-int(value[:-1]) * replicas // 100)
        return int(value)
    if "maxUnavailable" in spec:
        return count(spec["maxUnavailable"]) >= 1
    return replicas - count(spec.get("minAvailable", 0)) >= 1


def check_network_policies(docs: list[dict[str, Any]]) -> list[str]:
    """Every pod is selected by a policy for both directions, and the allowed paths are web -> api -> database."""
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    problems = []
    for _, meta, _ in pod_specs(docs):
        labels = meta.get("labels") or {}
        mine = [p for p in policies
                if all(labels.get(k) == v for k, v in p["spec"]["podSelector"].get("matchLabels", {}).items())]
        types = {t for p in mine for t in p["spec"].get("policyTypes", [])}
        if types != {"Ingress", "Egress"}:
            problems.append(f"pod of component {labels.get('app.kubernetes.io/component')}: policy types {sorted(types)}")
    by_component = {p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: p for p in policies}
    def peers(component: str, direction: str) -> set[str]:
        rules = by_component.get(component, {}).get("spec", {}).get(direction, [])
        key = "from" if direction == "ingress" else "to"
        return {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                for rule in rules for peer in rule.get(key, []) if "podSelector" in peer}
    want = {("frontend", "egress"): {"backend"}, ("backend", "ingress"): {"frontend", "test"},
            ("backend", "egress"): {"database"}, ("database", "ingress"): {"backend", "test"},
            ("database", "egress"): set()}
    for (component, direction), expected in want.items():
        if peers(component, direction) != expected:
            problems.append(f"{component} {direction} peers {sorted(peers(component, direction))}, want {sorted(expected)}")
    return problems


def check_variant_shape(variant: Variant, docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    kinds = [d.get("kind") for d in docs]
    secrets_ = [d for d in docs if d.get("kind") == "Secret"]
    if variant.expect_secret != bool(secrets_):
        problems.append(f"{len(secrets_)} Secret(s) rendered, expected {'one' if variant.expect_secret else 'none'}")
    if variant.expect_postgresql != ("StatefulSet" in kinds):
        problems.append(f"PostgreSQL StatefulSet {'missing' if variant.expect_postgresql else 'rendered'}")
    if variant.expect_postgresql:
        sts = next(d for d in docs if d.get("kind") == "StatefulSet")
        headless = [d for d in docs if d.get("kind") == "Service" and d["spec"].get("clusterIP") == "None"]
        if not headless or sts["spec"].get("serviceName") != headless[0]["metadata"]["name"]:
            problems.append("StatefulSet has no headless Service")
        if not sts["spec"].get("volumeClaimTemplates"):
            problems.append("StatefulSet has no volumeClaimTemplate")
        image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
        if image.endswith(":latest") or (":" not in image.rsplit("/", 1)[-1] and "@" not in image):
            problems.append(f"PostgreSQL image {image} is not pinned")
    for doc in docs:
        if doc.get("kind") == "Deployment" and component_of(doc) == "backend":
            env = {e["name"]: e for e in doc["spec"]["template"]["spec"]["containers"][0].get("env", [])}
            ref = ((env.get("DATABASE_URL") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name") != variant.secret_name:
                problems.append(f"DATABASE_URL comes from Secret {ref.get('name')}, want {variant.secret_name}")
    ingresses = [d for d in docs if d.get("kind") == "Ingress"]
    if variant.expect_ingress != bool(ingresses):
        problems.append(f"Ingress {'missing' if variant.expect_ingress else 'rendered'}")
    for ing in ingresses:
        if ing["spec"].get("ingressClassName") != "nginx":
            problems.append("Ingress class is not nginx")
        paths = {p["path"]: p["backend"]["service"]["name"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]}
        if not (paths.get("/", "").endswith("-web") and paths.get("/api", "").endswith("-api")):
            problems.append(f"Ingress paths {paths}, want / -> *-web and /api -> *-api")
    tests = [d for d in docs if ((d.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook") == "test"]
    if len(tests) < 3:
        problems.append(f"{len(tests)} helm test pod(s), want 3 (frontend, backend, database)")
    if any("helm.sh/hook-delete-policy" not in d["metadata"]["annotations"] for d in tests):
        problems.append("a helm test has no hook-delete-policy")
    if variant.expect_extensions:
        api = next(d for d in docs if d.get("kind") == "Deployment" and component_of(d) == "backend")
        pod = api["spec"]["template"]
        container = pod["spec"]["containers"][0]
        got = {
            "podLabels": pod["metadata"]["labels"].get("team") == "tasks",
            "selector untouched": "team" not in api["spec"]["selector"]["matchLabels"],
            "priorityClassName": pod["spec"].get("priorityClassName") == "todo-high",
            "topologySpreadConstraints": len(pod["spec"].get("topologySpreadConstraints", [])) == 1,
            "volumes": [v["name"] for v in pod["spec"]["volumes"]] == ["tmp", "extra"],
            "volumeMounts": [m["name"] for m in container["volumeMounts"]] == ["tmp", "extra"],
            "readinessProbe": container["readinessProbe"].get("periodSeconds") == 15,
            "extraEnv": any(e["name"] == "EXTRA" for e in container["env"]),
        }
        problems += [f"backend {k} not applied" for k, ok in got.items() if not ok]
    if variant.expect_digests:
        pulled = [(name, c["image"]) for name, _, spec in pod_specs(docs) for c in spec["containers"]
                  if not c["image"].startswith(("todo-api", "todo-web"))]
        problems += [f"{name}: {image} is not pinned by digest" for name, image in pulled if "@sha256:" not in image]
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    if variant.expect_network_policies:
        problems += check_network_policies(docs)
    elif policies:
        problems.append(f"{len(policies)} NetworkPolicy(s) rendered although networkPolicy.enabled is false")
    sa = [d for d in docs if d.get("kind") == "ServiceAccount"]
    if any(d.get("automountServiceAccountToken") is not False for d in sa):
        problems.append("ServiceAccount automounts its token")
    return problems


# --- values, schema, README ------------------------------------------------------------------------------------

KEY_LINE = re.compile(r"^(\s*)(?:- )?([A-Za-z0-9_.-]+|\"[^\"]+\"):(?:\s|$)")


def values_keys(path: Path) -> tuple[list[tuple[str, str, int]], list[str]]:
    """(dotted key, comment above it, line) for every key of a values file, and problems (keys without a comment)."""
    keys, problems, stack, comment = [], [], [], []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            comment = []
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if text.startswith("@section"):
                continue
            # `## @param KEY [modifiers] DESCRIPTION` (readme-generator): the description is the comment.
            text = re.sub(r"^@param\s+\S+\s*(\[.*?\])?\s*", "", text)
            comment.append(text)
            continue
        match = KEY_LINE.match(line)
        if match:
            indent = len(match.group(1))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match.group(2).strip('"')))
            dotted = ".".join(k for _, k in stack)
            if not comment:
                problems.append(f"{path}:{number}: {dotted} has no comment line above it")
            keys.append((dotted, " ".join(comment), number))
        comment = []
    return keys, problems


def leaf_default(values: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    is_parent = isinstance(node, dict) and bool(node)
    return is_parent, node


def schema_paths(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out = {}
    for key, sub in (schema.get("properties") or {}).items():
        dotted = f"{prefix}.{key}" if prefix else key
        out[dotted] = sub
        out.update(schema_paths(sub, dotted))
    return out


def readme_generator() -> str | None:
    """Bitnami's readme-generator (npm @bitnami/readme-generator-for-helm, pinned in scripts/ci/package.json)."""
    local = ROOT / "scripts" / "ci" / "node_modules" / ".bin" / "readme-generator"
    return str(local) if local.exists() else shutil.which("readme-generator")


def generate_readme(readme: Path) -> subprocess.CompletedProcess[str]:
    """Rewrites the Parameters section of `readme` from values.yaml's `## @param` annotations."""
    tool = readme_generator()
    assert tool, "readme-generator is missing: npm ci --prefix scripts/ci"
    return subprocess.run([tool, "--values", str(ROOT / CHART / "values.yaml"), "--readme", str(readme)],
                          capture_output=True, text=True, check=False)


PARAM_DEFAULT = re.compile(r"^\s*## @param (\S+) \[[^\]]*default: ([^\]]*)\]")


def check_param_defaults(values: dict[str, Any]) -> list[str]:
    """A `[default: ...]` modifier (shown in the README instead of `{}` for whole objects) matches the real value."""
    problems = []
    for line in (ROOT / CHART / "values.yaml").read_text().splitlines():
        match = PARAM_DEFAULT.match(line)
        if match:
            _, actual = leaf_default(values, match.group(1))
            stated = yaml.safe_load(match.group(2).replace(";", ","))
            if stated != actual:
                problems.append(f"{match.group(1)}: README default {match.group(2)!r}, values.yaml has {actual!r}")
    return problems


def check_values_docs(report: Report) -> None:
    for name in ("values.yaml", "values-dev.yaml", "values-prod.yaml"):
        _, problems = values_keys(ROOT / CHART / name)
        report.check(f"{name}: a comment line above every key", problems)

    values = yaml.safe_load((ROOT / CHART / "values.yaml").read_text())
    schema = json.loads((ROOT / CHART / "values.schema.json").read_text())
    keys = [k for k, _, _ in values_keys(ROOT / CHART / "values.yaml")[0]]
    in_schema = schema_paths(schema)
    problems = [f"{k} is not in values.schema.json" for k in keys if k not in in_schema]
    problems += [f"values.schema.json has {k}, values.yaml does not" for k in in_schema if k not in keys]
    problems += [f"{k} has no type in values.schema.json" for k, s in in_schema.items()
                 if "type" not in s and "enum" not in s and "const" not in s]
    report.check("values.schema.json covers every values.yaml key, with a type", problems)
    try:
        jsonschema.Draft7Validator(schema).validate(values)
        problems = []
    except jsonschema.ValidationError as err:
        problems = [f"{'.'.join(map(str, err.path))}: {err.message}"]
    report.check("values.yaml validates against values.schema.json", problems)
    try:
        jsonschema.Draft7Validator(schema).validate({**values, "unknownKey": 1})
        problems = ["an unknown top-level key is accepted (additionalProperties is not false)"]
    except jsonschema.ValidationError:
        problems = []
    report.check("values.schema.json rejects unknown keys", problems)

    report.check("`## @param [default: ...]` modifiers match values.yaml", check_param_defaults(values))
    if not readme_generator():
        if os.environ.get("XTASK_REQUIRE_ENGINES") == "1":
            report.check(f"{README}: Parameters section generated from values.yaml", "readme-generator is missing: "
                         "npm ci --prefix scripts/ci")
        else:
            print("skip README drift check: readme-generator not installed (npm ci --prefix scripts/ci)", flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "README.md"
        shutil.copy(ROOT / README, fresh)
        result = generate_readme(fresh)
        if result.returncode != 0:
            errors = [l for l in result.stdout.splitlines() if l.startswith("ERROR")] or [result.stderr.strip()[-300:]]
            report.check(f"{README}: Parameters section generated from values.yaml", errors)
            return
        have, want = (ROOT / README).read_text().splitlines(), fresh.read_text().splitlines()
    problems = [f"line {i + 1}: README has {h!r}, the generator writes {w!r}"
                for i, (h, w) in enumerate(zip(have, want)) if h != w][:5]
    if len(have) != len(want):
        problems.append(f"README has {len(have)} lines, the generator writes {len(want)}")
    report.check(f"{README}: Parameters section matches readme-generator's output (fix: check-chart.py --write)",
                 problems)


def write_readme() -> None:
    result = generate_readme(ROOT / README)
    if result.returncode != 0:
        sys.exit(f"readme-generator failed:\n{result.stdout}{result.stderr}")


# --- k8s/ ------------------------------------------------------------------------------------------------------

def check_k8s(report: Report) -> None:
    # The drift check is the xtask's (`cargo xtask manifests --check`, with the render command in xtask.yaml's
    # `manifests:` section): the same comparison CI's static stage runs, through the `helm` first on PATH.
    result = subprocess.run([*xtask(), "--no-install", "--quiet", "manifests", "--check"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    errors = [l.removeprefix("error in ").strip() for l in result.stderr.splitlines() if l.startswith("error")]
    problems = [] if result.returncode == 0 else [
        "; ".join(errors or [result.stderr.strip()[-500:]]) + " (fix: check-chart.py --write)"]
    report.check(f"{K8S_FILE} is in sync with the chart (cargo xtask manifests --check)", problems)

    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("skip kubectl kustomize: kubectl not on PATH", flush=True)
        return
    built = subprocess.run([kubectl, "kustomize", str(K8S_DIR)], cwd=ROOT, capture_output=True, text=True, check=False)
    problems = [built.stderr.strip()] if built.returncode else []
    if not problems:
        docs = documents(built.stdout)
        problems += [f"{kind_name(d)} is not in namespace {NAMESPACE}" for d in docs
                     if d.get("kind") != "Namespace" and d["metadata"].get("namespace") != NAMESPACE]
        problems += [f"{kind_name(d)} is a Secret (no credentials belong in k8s/)" for d in docs if d.get("kind") == "Secret"]
        problems += [f"{kind_name(d)} says managed-by {d['metadata'].get('labels', {}).get('app.kubernetes.io/managed-by')}"
                     for d in docs if d.get("kind") != "Namespace"
                     and d["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") != "kubectl"]
        for version in KUBE_VERSIONS:
            problems += [f"{version}: {p}" for p in check_schemas(docs, version)]
    report.check(f"kubectl kustomize {K8S_DIR}/ builds offline, namespaced, managed-by kubectl, no Secret, valid", problems)

    # The local overlay generates the Secret from a git-ignored env file; build it with throwaway values.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "k8s"
        shutil.copytree(ROOT / K8S_DIR, copy)
        password = secrets.token_urlsafe(18)
        (copy / "local" / "db.secret").write_text(
            f"password={password}\ndatabase-url=postgres://todo:{password}@todo-postgresql:5432/todo\n"
        )
        built = subprocess.run([kubectl, "kustomize", str(copy / "local")], capture_output=True, text=True, check=False)
        problems = [built.stderr.strip()] if built.returncode else []
        if not problems:
            docs = documents(built.stdout)
            generated = [d["metadata"]["name"] for d in docs if d.get("kind") == "Secret"]
            refs = {
                ref["name"]
                for d in workloads(docs)
                for c in d["spec"]["template"]["spec"]["containers"]
                for e in c.get("env", [])
                for ref in [((e.get("valueFrom") or {}).get("secretKeyRef") or {})]
                if ref
            }
            if len(generated) != 1 or refs != set(generated):
                problems.append(f"generated Secret {generated}, referenced {sorted(refs)}")
        report.check(f"kubectl kustomize {K8S_DIR}/local generates the Secret and rewires references", problems)


def write_k8s() -> None:
    result = subprocess.run([*xtask(), "--no-install", "manifests"], cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"error: `{' '.join(xtask())} manifests` could not write {K8S_FILE} (exit {result.returncode})")


# --- main ------------------------------------------------------------------------------------------------------


def check_failures(report: Report) -> None:
    """Renders that must fail, with a message that says what to do."""
    cases = [
        ("no password and no existingSecret", [], "database.password is empty"),
        ("external DB without url or existingSecret", ["--set", "postgresql.enabled=false"], "externalDatabase.url"),
        ("unknown values key", ["--set", "database.password=x", "--set", "backend.bogus=1"], "bogus"),
        ("unpinned postgres tag", ["--set", "database.password=x", "--set", "postgresql.image.tag=latest"], "tag"),
        ("a PDB that blocks every drain", ["--set", "database.password=x", "--set", "backend.autoscaling.enabled=false",
                                           "--set", "backend.replicaCount=1", "--set", "backend.pdb.minAvailable=1"],
         "would block every node drain"),
        ("a PDB value that is neither a count nor a percentage",
         ["--set", "database.password=x", "--set", "backend.pdb.maxUnavailable=half"], "maxUnavailable"),
    ]
    for name, args, needle in cases:
        result = helm("template", RELEASE, str(CHART), *args)
        problems = []
        if result.returncode == 0:
            problems.append("rendered although it must fail")
        elif needle not in result.stderr:
            problems.append(f"error does not mention {needle!r}: {result.stderr.strip()[:200]}")
        report.check(f"render fails clearly: {name}", problems)


def check_single_replica(report: Report) -> None:
    """One replica (a small dev cluster) must never make a node drain impossible."""
    args = ["-f", str(CHART / "values-dev.yaml"), "--set", "database.password=x"]
    for component in ("backend", "frontend"):
        args += ["--set", f"{component}.replicaCount=1"]
    rendered = helm("template", RELEASE, str(CHART), *args)
    if rendered.returncode != 0:
        report.check("one replica: PodDisruptionBudgets still allow a drain", [rendered.stderr.strip()])
        return
    pdbs = [d for d in documents(rendered.stdout) if d.get("kind") == "PodDisruptionBudget"]
    problems = [f"{kind_name(d)}: {d['spec']}" for d in pdbs if not pdb_allows_eviction(d["spec"], 1)]
    report.check("one replica: PodDisruptionBudgets still allow a drain",
                 problems + ([] if len(pdbs) == 2 else [f"{len(pdbs)} PodDisruptionBudget(s), want 2"]))


UMBRELLA_CHART = """\
apiVersion: v2
name: umbrella
version: 0.1.0
dependencies:
  - name: todo
    version: "{version}"
    repository: "file://../todo"
"""
# Values of the umbrella chart: `global:` reaches every subchart (Helm coalesces it into each one's values), and
# the subchart's own values go under its name.
UMBRELLA_VALUES = """\
global:
  imageRegistry: registry.example.test
  storageClass: fast
todo:
  database:
    password: umbrella-test-only
  networkPolicy:
    enabled: true
"""


def check_umbrella(report: Report) -> None:
    """The chart as a dependency of another chart (`dependencies: [todo]`), with global values."""
    chart = yaml.safe_load((ROOT / CHART / "Chart.yaml").read_text())
    with tempfile.TemporaryDirectory(prefix="umbrella-") as tmp:
        umbrella = Path(tmp) / "umbrella"
        (umbrella / "charts").mkdir(parents=True)
        (umbrella / "templates").mkdir()
        (umbrella / "Chart.yaml").write_text(UMBRELLA_CHART.format(version=chart["version"]))
        (umbrella / "values.yaml").write_text(UMBRELLA_VALUES)
        # What `helm dependency build` leaves: the subchart inside charts/ (as a folder; a .tgz works the same).
        shutil.copytree(ROOT / CHART, umbrella / "charts" / "todo", ignore=shutil.ignore_patterns("ci"))
        lint = helm("lint", str(umbrella), "--strict", "--set", "global.extra=1")
        report.check("umbrella chart (dependencies: [todo], global values): helm lint --strict",
                     [] if lint.returncode == 0 else [(lint.stdout + lint.stderr).strip().replace("\n", " | ")])
        rendered = helm("template", "shop", str(umbrella), "--namespace", NAMESPACE)
        if rendered.returncode != 0:
            report.check("umbrella chart: helm template", [rendered.stderr.strip()])
            return
        docs = documents(rendered.stdout)
        kinds = sorted({d.get("kind", "") for d in docs})
        problems = [] if {"Deployment", "StatefulSet", "NetworkPolicy"} <= set(kinds) else [f"rendered kinds {kinds}"]
        problems += [f"{kind_name(d)} is not named after the release" for d in docs
                     if not d["metadata"]["name"].startswith("shop-todo")]
        for kube in KUBE_VERSIONS[-1:]:
            problems += check_schemas(docs, kube)
        report.check("umbrella chart: helm template renders the subchart", problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="regenerate the README table and k8s/base/todo.yaml first")
    args = parser.parse_args()
    if args.write:
        write_readme()
        write_k8s()

    report = Report()
    version = helm("version", "--short")
    report.check(f"helm version --short ({helm_binary()}): {version.stdout.strip()}",
                 bool(re.match(r"^v[34]\.\d+\.\d+", version.stdout)) or version.stderr.strip() or "no version")

    for variant in variants():
        lint = helm("lint", str(CHART), "--strict", *variant.args())
        report.check(f"[{variant.name}] helm lint --strict",
                     [] if lint.returncode == 0 else [(lint.stdout + lint.stderr).strip().replace("\n", " | ")])
        rendered = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *variant.args())
        if not report.check(f"[{variant.name}] helm template", [] if rendered.returncode == 0 else [rendered.stderr.strip()]):
            continue
        docs = documents(rendered.stdout)
        for kube in KUBE_VERSIONS:
            report.check(f"[{variant.name}] manifests valid for Kubernetes {kube} (strict)", check_schemas(docs, kube))
        report.check(f"[{variant.name}] deployment policy (cargo xtask manifests --policy): hardening, probes, "
                     "resources, labels, selectors", check_policy(rendered.stdout))
        report.check(f"[{variant.name}] app pods run as UID {APP_UID}", check_app_uid(docs))
        report.check(f"[{variant.name}] probe paths", check_probe_paths(docs))
        report.check(f"[{variant.name}] preStop + drain time within the termination grace period", check_shutdown(docs))
        if variant.defaults:
            report.check(f"[{variant.name}] resource requests and limits (exact defaults)", check_default_resources(docs))
        report.check(f"[{variant.name}] rolling update 1/1 and config checksums", check_rollout(docs))
        report.check(f"[{variant.name}] HPA bounds, replicas, PodDisruptionBudgets" + (" (exact defaults)" if variant.defaults else ""),
                     check_scaling(docs, variant.defaults))
        report.check(f"[{variant.name}] expected resources (Secret, database, Ingress, tests)",
                     check_variant_shape(variant, docs))

    for section in (check_failures, check_single_replica, check_umbrella, check_values_docs, check_k8s):
        try:
            section(report)
        except Exception as err:  # a broken file must show up as a failed check, not a traceback
            report.check(f"{section.__name__}", f"crashed: {type(err).__name__}: {err}".replace("\n", " "))
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
