//! Every command line the xtask emits to kubectl, docker, helm and minikube, collected from the fakes' call log over
//! `up`, `verify` (every check, `--load`), `rollback`, `teardown` (stop, delete, keep), `ai` and the failure
//! diagnostics, judged by the real tools' own flag parsers where the clients run here (kubectl 1.34, helm 4.1 and the
//! docker client: `<tool> ARGS --help` exits 0, or prints `unknown flag` and fails), and by the per-version flag
//! tables read from upstream source for the rest (xtask/tests/fixtures/flags/*.tsv, scripts/dev/flag-tables.py:
//! helm v3.14.0, v3.21.4, v4.0.0, v4.2.2; minikube v1.32.0, v1.35.0, v1.38.0).
//!
//! The real kubectl and helm come from `scripts/ci/real-clients.sh` (target/real-clients/bin, or
//! `XTASK_REAL_CLIENTS`): the replay is `#[ignore]`d in a plain `cargo test`; CI runs it with `--include-ignored`,
//! where a missing client fails it under XTASK_REQUIRE_ENGINES=1.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use support::app::AppServer;
use support::demo::{config, project};
use support::Sandbox;

/// One emitted command line and the Helm major of the run it came from.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Line {
    tool: String,
    args: Vec<String>,
    helm4: bool,
}

fn collect(sb: &Sandbox, helm4: bool, into: &mut BTreeSet<Line>) {
    for c in sb.starts() {
        if matches!(c.tool.as_str(), "kubectl" | "docker" | "helm" | "minikube") {
            into.insert(Line { tool: c.tool.clone(), args: c.args.clone(), helm4 });
        }
    }
}

fn services() -> String {
    let svc = |name: &str, component: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "demo"},
               "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": component},
                        "ports": [{"port": 8080}]}})
    };
    json!({"apiVersion": "v1", "kind": "List", "items": [svc("demo-api", "backend"), svc("demo-web", "frontend")]})
        .to_string()
}

fn ingress() -> String {
    json!({"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "demo", "namespace": "demo"},
        "spec": {"rules": [{"host": "demo.local"}]}}]})
    .to_string()
}

/// Runs every command of the xtask that reaches a cluster tool, on Helm 3 or Helm 4, and returns what they emitted.
fn emitted(helm_version: &str) -> BTreeSet<Line> {
    let helm4 = helm_version.starts_with('4');
    let mut lines = BTreeSet::new();
    let app = AppServer::start();
    // up, every verify check, --load, rollback, teardown.
    let mut hpa: Value = serde_json::from_str(
        &std::fs::read_to_string(support::fixture_path("kubectl/get-hpa.synthesized.json")).unwrap(),
    )
    .unwrap();
    hpa["spec"]["scaleTargetRef"]["name"] = json!("demo-api");
    let mut scaled = hpa.clone();
    scaled["status"]["desiredReplicas"] = json!(4);
    let list = |item: &Value| json!({"apiVersion": "v1", "kind": "List", "items": [item]});
    let sb = project()
        .with_env("FAKE_HELM_VERSION", helm_version)
        .seed_state("kube/services.json", services())
        .seed_state("kube/hpa.json", list(&hpa).to_string())
        .seed_state("kube/ingress.json", ingress())
        .with_env("FAKE_MINIKUBE_SERVICE_URL", &app.url())
        .with_env("FAKE_FORWARD_TO", &app.addr)
        .with_scenario(json!({"rules": [{"tool": "kubectl", "match": "* run xtask-load-*", "fallthrough": true,
                                         "then_state": {"files": {"kube/hpa.json": list(&scaled)}}}]}));
    sb.xtask(&["up"]).run().assert_success();
    sb.xtask(&["verify"]).run().assert_success();
    sb.xtask(&["verify", "--only", "hpa", "--load"]).run().assert_success();
    std::fs::write(sb.project_path("chart/values-dev.yaml"), "replicas: 3\n").unwrap();
    sb.xtask(&["up"]).run().assert_success();
    sb.xtask(&["rollback"]).run().assert_success();
    sb.xtask(&["teardown", "--keep-cluster"]).run().assert_success();
    sb.xtask(&["teardown"]).run().assert_success();
    sb.xtask(&["teardown", "--delete"]).run().assert_success();
    collect(&sb, helm4, &mut lines);
    // A failed verify collects the diagnostics (events, describe, logs, helm status and history); a failed helm
    // test reads the failed pod's logs; AI steps on failure and on request.
    let sb = project()
        .with_env("FAKE_HELM_VERSION", helm_version)
        .with_file("xtask.yaml", format!("{}ai:\n  on_failure: kubectl-ai\n", config()))
        .with_env("GEMINI_API_KEY", "k")
        .with_env("FAKE_DOCKER_AI", "1")
        .with_env("FAKE_AI_ANSWER", "ok");
    sb.xtask(&["up"]).run().assert_success();
    let sb = sb.seed_state_from_fixture("kube/pods.json", "kubectl/get-pods.synthesized.json");
    assert!(!sb.xtask(&["verify", "--only", "rollout"]).run().status.success());
    std::fs::write(sb.project_path("chart/values-dev.yaml"), "replicas: 4\n").unwrap();
    assert!(!sb.xtask(&["up"]).env("FAKE_HELM_TEST_FAIL", "1").run().status.success());
    sb.xtask(&["ai", "ask", "why?"]).run().assert_success();
    sb.xtask(&["ai", "agent", "check"]).run().assert_success();
    sb.xtask(&["ai", "docker", "smaller?"]).run().assert_success();
    collect(&sb, helm4, &mut lines);
    lines
}

fn all_lines() -> BTreeSet<Line> {
    let mut lines = emitted("3.21.4");
    lines.extend(emitted("4.1.4"));
    lines
}

/// `ARGS --help`, with `--help` before a `--` so that it is not handed to a container command.
fn with_help(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().take_while(|a| a.as_str() != "--").cloned().collect();
    out.push("--help".into());
    out
}

/// A real client: `XTASK_REAL_CLIENTS/<tool>`, else target/real-clients/bin/<tool> (scripts/ci/real-clients.sh).
fn real_client(tool: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("XTASK_REAL_CLIENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/real-clients/bin"));
    let p = dir.join(tool);
    Command::new(&p).arg("--help").output().ok().filter(|o| o.status.success()).map(|_| p)
}

/// The docker client on the caller's PATH (the sandbox's fake is not on it).
fn real_docker() -> Option<PathBuf> {
    let ok = Command::new("docker").arg("--version").output().is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("docker"))
}

fn require(client: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    if client.is_none() {
        if support::engines_required() {
            panic!("needs {what} (XTASK_REQUIRE_ENGINES=1): run scripts/ci/real-clients.sh");
        }
        eprintln!("skipped: needs {what}: run scripts/ci/real-clients.sh");
    }
    client
}

/// Runs `client ARGS --help` for each line; returns the lines the parser rejected, with its words.
fn replay(client: &Path, lines: &[&Line]) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    let mut rejected = vec![];
    for l in lines {
        let out = Command::new(client)
            .args(with_help(&l.args))
            .env("HOME", home.path())
            .env("KUBECONFIG", home.path().join("none"))
            .env("DOCKER_CONFIG", home.path())
            .env("HELM_CONFIG_HOME", home.path())
            .output()
            .unwrap();
        // Some docker commands stop parsing flags at the first positional (pflag SetInterspersed(false), e.g.
        // `docker tag`): a trailing --help then counts as a third argument. Ask for help before the positionals.
        let out = if l.tool == "docker" && String::from_utf8_lossy(&out.stderr).contains("requires") {
            let mut args = vec![l.args[0].clone(), "--help".into()];
            args.extend(l.args[1..].iter().cloned());
            Command::new(client).args(args).env("HOME", home.path()).env("DOCKER_CONFIG", home.path()).output().unwrap()
        } else {
            out
        };
        if !out.status.success() {
            rejected.push(format!(
                "{} {}\n    -> exit {:?}: {}",
                l.tool,
                l.args.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")
            ));
        }
    }
    rejected
}

#[test]
#[ignore = "needs real kubectl, helm and docker clients: bash scripts/ci/real-clients.sh (docker: Debian docker.io)"]
fn real_kubectl_docker_and_helm_parse_every_emitted_command_line() {
    let kubectl = require(real_client("kubectl"), "a real kubectl");
    let helm = require(real_client("helm"), "a real helm 4");
    let docker = require(real_docker(), "the docker client");
    if kubectl.is_none() && helm.is_none() && docker.is_none() {
        return;
    }
    let lines = all_lines();
    let of = |tool: &str, pick: &dyn Fn(&Line) -> bool| -> Vec<&Line> {
        lines.iter().filter(|l| l.tool == tool && pick(l)).collect()
    };
    let mut rejected = vec![];
    let mut counts = BTreeMap::new();
    if let Some(k) = &kubectl {
        let ls = of("kubectl", &|_| true);
        counts.insert("kubectl", ls.len());
        rejected.extend(replay(k, &ls));
        assert!(ls.iter().any(|l| l.args.contains(&"run".to_string())), "verify --load's kubectl run was replayed");
    }
    if let Some(h) = &helm {
        let ls = of("helm", &|l| l.helm4);
        counts.insert("helm 4", ls.len());
        rejected.extend(replay(h, &ls));
    }
    if let Some(d) = &docker {
        // `docker ai` is a CLI plugin (Docker Desktop): the plain client has no such command to parse it with.
        let ls = of("docker", &|l| l.args.first().is_none_or(|a| a != "ai"));
        counts.insert("docker", ls.len());
        rejected.extend(replay(d, &ls));
    }
    eprintln!("replayed through the real clients: {counts:?}");
    assert!(rejected.is_empty(), "rejected by the real parsers:\n{}", rejected.join("\n"));
}

/// `tag -> command -> flags` from a flag table.
fn table(name: &str) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let text = std::fs::read_to_string(support::fixture_path(&format!("flags/{name}.tsv"))).unwrap();
    let mut t: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = l.split('\t').collect();
        t.entry(f[0].into()).or_default().entry(f[1].into()).or_default().insert(f[2].into());
    }
    t
}

/// The subcommand (`status`, `profile list`, `image load`, ...) and the flags of a command line.
fn command_and_flags(args: &[String], two_word: &[&str]) -> (String, Vec<String>) {
    let words: Vec<&str> = args.iter().map(String::as_str).take_while(|a| !a.starts_with('-')).collect();
    let cmd = match words.as_slice() {
        [first, second, ..] if two_word.contains(first) => format!("{first} {second}"),
        [first, ..] => first.to_string(),
        [] => String::new(),
    };
    let flags = args
        .iter()
        .take_while(|a| a.as_str() != "--")
        .filter(|a| a.starts_with('-'))
        .map(|a| a.split('=').next().unwrap_or(a).to_string())
        .collect();
    (cmd, flags)
}

fn check_against(
    table: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    tags: &[&str],
    lines: &[&Line],
    two_word: &[&str],
) -> Vec<String> {
    let mut bad = vec![];
    for l in lines {
        let (cmd, flags) = command_and_flags(&l.args, two_word);
        for tag in tags {
            let Some(known) = table.get(*tag).and_then(|t| t.get(&cmd)) else {
                bad.push(format!("{tag}: `{} {}`: no table for `{cmd}`", l.tool, l.args.join(" ")));
                continue;
            };
            for f in flags.iter().filter(|f| !known.contains(*f)) {
                bad.push(format!("{tag}: `{} {}`: unknown flag {f}", l.tool, l.args.join(" ")));
            }
        }
    }
    bad
}

#[test]
fn helm_and_minikube_command_lines_use_only_flags_their_versions_define() {
    let lines = all_lines();
    let helm = table("helm");
    let minikube = table("minikube");
    let helm3: Vec<&Line> = lines.iter().filter(|l| l.tool == "helm" && !l.helm4).collect();
    let helm4: Vec<&Line> = lines.iter().filter(|l| l.tool == "helm" && l.helm4).collect();
    let mk: Vec<&Line> = lines.iter().filter(|l| l.tool == "minikube").collect();
    assert!(helm3.len() > 5 && helm4.len() > 5 && mk.len() > 5, "{} {} {}", helm3.len(), helm4.len(), mk.len());
    let mut bad = check_against(&helm, &["v3.14.0", "v3.21.4"], &helm3, &[]);
    bad.extend(check_against(&helm, &["v4.0.0", "v4.2.2"], &helm4, &[]));
    bad.extend(check_against(&minikube, &["v1.32.0", "v1.35.0", "v1.38.0"], &mk, &["profile", "addons", "image"]));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_tables_catch_a_flag_a_version_lacks() {
    // Helm 3 has no --rollback-on-failure (Helm 4 pkg/cmd/upgrade.go), minikube no --active-deadline.
    let helm = table("helm");
    let l = Line {
        tool: "helm".into(),
        args: vec!["upgrade".into(), "x".into(), "--rollback-on-failure".into()],
        helm4: false,
    };
    assert_eq!(check_against(&helm, &["v3.21.4"], &[&l], &[]).len(), 1);
    assert!(check_against(&helm, &["v4.0.0"], &[&l], &[]).is_empty());
    // Helm 4 removed `version --client` (469f4b457).
    let l = Line { tool: "helm".into(), args: vec!["version".into(), "--client".into()], helm4: true };
    assert_eq!(check_against(&helm, &["v4.2.2"], &[&l], &[]).len(), 1);
}
