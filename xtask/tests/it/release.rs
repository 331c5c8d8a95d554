//! `up`, `teardown` and `rollback` on the fakes: the exact command sequences, a no-op rerun, idempotent teardown,
//! and a failed upgrade that is rolled back with the culprit named.

use crate::support;

use support::Sandbox;
use support::{latest_run, report};

use support::demo::{config, project};

/// The cluster-facing commands (minikube, helm, kubectl) in the order they started.
fn cluster_commands(sb: &Sandbox, from: usize) -> Vec<String> {
    sb.calls()
        .into_iter()
        .skip(from)
        .filter(|c| matches!(c.tool.as_str(), "minikube" | "helm" | "kubectl"))
        .map(|c| c.command())
        .collect()
}

/// Asserts that `expected` appear in `cmds` in this order (other commands may come between them).
fn assert_in_order(cmds: &[String], expected: &[&str]) {
    let mut at = 0;
    for e in expected {
        match cmds[at..].iter().position(|c| c == e) {
            Some(i) => at += i + 1,
            None => panic!("`{e}` missing or out of order in:\n{}", cmds.join("\n")),
        }
    }
}

const UPGRADE: &str =
    "helm upgrade demo chart -n demo --kube-context demo --install --create-namespace --atomic --wait \
                       --timeout 120s -f chart/values-dev.yaml";

#[test]
fn up_runs_the_pipeline_in_order_and_prints_the_url() {
    let sb = project();
    let out = sb.xtask(&["up"]).run();
    out.assert_success();
    assert_eq!(out.stdout.trim(), "http://127.0.0.1:30080", "the app's URL on stdout");
    let cmds: Vec<String> = sb.commands().iter().map(|c| support::without_secret_file(c)).collect();
    assert_in_order(
        &cmds,
        &[
            "minikube version --short",
            "kubectl version --client -o json",
            "helm version --short",
            "minikube status -p demo -o json",
            "minikube start -p demo --driver docker --cpus 2 --memory 4096m --kubernetes-version v1.31.0 --addons ingress --addons metrics-server",
        ],
    );
    // Lint and render run beside the cluster steps (they need no cluster), after the tool preflight.
    assert_in_order(
        &cmds,
        &[
            "helm version --short",
            "helm lint chart -f chart/values-dev.yaml -f <secret values>",
            "helm template demo chart -n demo -f chart/values-dev.yaml -f <secret values>",
        ],
    );
    // Each image is built, gated, then tagged with its id and loaded, before the upgrade that uses those tags.
    for img in ["api", "web"] {
        let tag = cmds.iter().find(|c| c.starts_with(&format!("docker tag demo-{img}:1.0.0 "))).expect("docker tag");
        let cluster_tag = tag.rsplit(' ').next().unwrap().to_string();
        assert!(
            cluster_tag.starts_with(&format!("demo-{img}:1.0.0-"))
                && cluster_tag.len() == format!("demo-{img}:1.0.0-").len() + 12
        );
        assert_in_order(
            &cmds,
            &[
                &format!("docker build -f images/{img}/Dockerfile -t demo-{img}:1.0.0 images/{img}"),
                &format!("trivy image --format json --scanners vuln --no-progress --skip-db-update --cache-backend memory --config target/xtask/trivy/empty-config.yaml --ignorefile target/xtask/trivy/empty.trivyignore --severity UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL --exit-code 0 demo-{img}:1.0.0"),
                tag,
                &format!("minikube image load {cluster_tag} -p demo"),
            ],
        );
        assert_in_order(
            &cmds,
            &[
                "minikube start -p demo --driver docker --cpus 2 --memory 4096m --kubernetes-version v1.31.0 --addons ingress --addons metrics-server",
                &format!("minikube image load {cluster_tag} -p demo"),
            ],
        );
    }
    let upgrade = cmds.iter().find(|c| c.starts_with("helm upgrade")).expect("helm upgrade");
    assert!(upgrade.starts_with(UPGRADE), "{upgrade}");
    assert!(
        upgrade.contains("--set backend.image.tag=1.0.0-") && upgrade.contains("--set frontend.image.tag=1.0.0-"),
        "{upgrade}"
    );
    assert!(upgrade.ends_with(" -f <secret values>"), "{upgrade}");
    assert!(!sb.commands().iter().any(|c| c.contains("pw-for-tests-123")), "a secret was passed as an argument");
    assert_in_order(
        &cmds,
        &[
            upgrade,
            "helm test demo -n demo --kube-context demo --timeout 120s",
            "minikube service demo-web -n demo -p demo --url",
        ],
    );
    let loads = cmds.iter().filter(|c| c.starts_with("minikube image load")).count();
    assert_eq!(loads, 2);
}

#[test]
fn a_rerun_issues_no_build_load_or_upgrade() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    let before = sb.calls().len();
    let out = sb.xtask(&["up"]).run();
    out.assert_success();
    assert_eq!(out.stdout.trim(), "http://127.0.0.1:30080");
    let again: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
    for forbidden in [
        "docker build",
        "docker save",
        "trivy image",
        "minikube start",
        "minikube image load",
        "helm upgrade",
        "helm test",
        "helm template",
        "helm lint",
    ] {
        assert!(
            !again.iter().any(|c| c.starts_with(forbidden)),
            "a no-op rerun ran `{forbidden}`:\n{}",
            again.join("\n")
        );
    }
    let r = report(&sb.project);
    let status = |id: &str| r["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap()["status"].clone();
    for id in ["build:api", "load:web", "deploy:demo", "test:demo", "cluster:start"] {
        assert_eq!(status(id), "cached", "{id}");
    }
    // A changed values file upgrades the release again, and nothing else.
    std::fs::write(sb.project_path("chart/values-dev.yaml"), "replicas: 3\n").unwrap();
    let before = sb.calls().len();
    sb.xtask(&["up"]).run().assert_success();
    let again: Vec<String> = sb.calls().into_iter().skip(before).map(|c| c.command()).collect();
    assert_eq!(again.iter().filter(|c| c.starts_with("helm upgrade")).count(), 1);
    assert!(!again.iter().any(|c| c.starts_with("docker build") || c.starts_with("minikube image load")));
}

#[test]
fn teardown_succeeds_twice_and_when_nothing_is_there() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    let before = sb.calls().len();
    sb.xtask(&["teardown"]).run().assert_success();
    assert_eq!(
        cluster_commands(&sb, before),
        vec![
            "minikube status -p demo -o json",
            "helm status demo -n demo --kube-context demo -o json",
            "helm uninstall demo -n demo --kube-context demo --wait",
            "kubectl --context demo delete namespace demo --ignore-not-found --wait=true --timeout=180s",
            "minikube stop -p demo",
        ]
    );
    let before = sb.calls().len();
    let out = sb.xtask(&["teardown"]).run();
    out.assert_success();
    out.stderr_contains("profile `demo` is already stopped");
    assert_eq!(cluster_commands(&sb, before), vec!["minikube status -p demo -o json"]);
    // After a teardown the next `up` deploys again.
    let before = sb.calls().len();
    sb.xtask(&["up"]).run().assert_success();
    assert!(cluster_commands(&sb, before).iter().any(|c| c.starts_with("helm upgrade")));
    // --delete removes the cluster; a second --delete finds nothing and still succeeds.
    sb.xtask(&["teardown", "--delete"]).run().assert_success();
    assert!(sb.commands().contains(&"minikube delete -p demo".to_string()));
    let before = sb.calls().len();
    sb.xtask(&["teardown", "--delete"])
        .run()
        .assert_success()
        .stderr_contains("profile `demo` does not exist: nothing to remove");
    assert_eq!(cluster_commands(&sb, before), vec!["minikube status -p demo -o json"]);
}

#[test]
fn teardown_without_minikube_has_nothing_to_remove_and_exits_0() {
    let sb = project();
    std::fs::remove_file(sb.bin_dir.join(format!("minikube{}", std::env::consts::EXE_SUFFIX))).unwrap();
    // Only the fakes on PATH, so a minikube installed on this machine cannot answer instead.
    let out = sb.xtask(&["teardown"]).env("PATH", &sb.bin_dir).run();
    out.assert_success()
        .stderr_contains("minikube is not installed, so there is no cluster `demo`: nothing to remove")
        .stderr_contains("teardown: passed");
    assert!(sb.commands().is_empty(), "nothing to run: {:?}", sb.commands());
}

#[test]
fn teardown_keep_cluster_removes_only_the_release() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    let before = sb.calls().len();
    sb.xtask(&["teardown", "--keep-cluster"]).run().assert_success();
    let cmds = cluster_commands(&sb, before);
    assert!(cmds.contains(&"helm uninstall demo -n demo --kube-context demo --wait".to_string()));
    assert!(!cmds.iter().any(|c| c.starts_with("minikube stop") || c.starts_with("minikube delete")), "{cmds:?}");
}

#[test]
fn a_failed_upgrade_is_rolled_back_and_the_culprit_named() {
    let sb = project()
        // Helm 3's message when --atomic rolled the upgrade back (helm pkg/action/upgrade.go, failRelease:
        // "release %s failed, and has been rolled back due to atomic being set: %s").
        .with_scenario(
            r#"{"rules":[{"tool":"helm","match":"upgrade *","stderr":"Error: UPGRADE FAILED: release demo failed, and has been rolled back due to atomic being set: timed out waiting for the condition\n","exit":1,"then_state":{"helm_release_status":"failed"}}]}"#,
        )
        .seed_state_from_fixture("kube/pods.json", "kubectl/get-pods.synthesized.json");
    let out = sb.xtask(&["up"]).run();
    out.assert_code(1);
    out.stderr_contains(
        "error in deploy:demo: release demo failed and was rolled back: UPGRADE FAILED: release demo failed",
    );
    out.stderr_contains("Culprit: pod todo-api-crashloop: CrashLoopBackOff (container todo-api, exit code 1");
    out.stderr_contains("pod todo-api-imagepull: ImagePullBackOff (container todo-api, image todo-api:missing");
    out.stderr_contains("pod todo-api-unschedulable: Unschedulable (0/1 nodes are available: 1 Insufficient cpu.)");
    let r = report(&sb.project);
    let step = |id: &str| r["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).cloned().unwrap();
    assert_eq!(step("deploy:demo")["status"], "failed");
    assert!(step("deploy:demo")["message"].as_str().unwrap().contains("release demo failed"));
    assert_eq!(step("test:demo")["status"], "skipped");
    assert_eq!(step("diagnose:cluster")["status"], "passed");
    let diag = latest_run(&sb.project).join("diagnostics");
    for f in [
        "events.txt",
        "pods.json",
        "helm-status.json",
        "helm-history.json",
        "summary.md",
        "describe-todo-api-crashloop.txt",
        "logs-todo-api-crashloop.txt",
    ] {
        assert!(diag.join(f).is_file(), "diagnostics lack {f}");
    }
    // The next run tries the upgrade again rather than trusting the failed one.
    std::fs::write(sb.fake_dir.join("scenario.json"), r#"{"rules":[]}"#).unwrap();
    std::fs::remove_file(sb.fake_dir.join("state/kube/pods.json")).unwrap();
    let before = sb.calls().len();
    sb.xtask(&["up"]).run().assert_success();
    assert!(cluster_commands(&sb, before).iter().any(|c| c.starts_with("helm upgrade")));
}

#[test]
fn helm_4_gets_its_own_flags() {
    let sb = project().with_env("FAKE_HELM_VERSION", "4.0.0");
    sb.xtask(&["up"]).run().assert_success();
    let upgrade = sb.commands().into_iter().find(|c| c.starts_with("helm upgrade")).unwrap();
    assert!(upgrade.contains("--rollback-on-failure --wait=watcher --timeout 120s"), "{upgrade}");
    assert!(!upgrade.contains("--atomic"), "{upgrade}");
}

#[test]
fn rollback_returns_to_the_last_good_revision() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    std::fs::write(sb.project_path("chart/values-dev.yaml"), "replicas: 3\n").unwrap();
    sb.xtask(&["up"]).run().assert_success();
    let before = sb.calls().len();
    sb.xtask(&["rollback"]).run().assert_success().stderr_contains("release demo rolled back to revision 1");
    let cmds = cluster_commands(&sb, before);
    assert!(
        cmds.contains(&"helm rollback demo 1 -n demo --kube-context demo --wait --timeout 120s".to_string()),
        "{cmds:?}"
    );
    sb.xtask(&["rollback", "9"]).run().assert_code(1).stderr_contains("release demo has no revision 9");
    // The release no longer matches the last `up`: the next one upgrades again.
    let before = sb.calls().len();
    sb.xtask(&["up"]).run().assert_success();
    assert!(cluster_commands(&sb, before).iter().any(|c| c.starts_with("helm upgrade")));
}

#[test]
fn a_cluster_with_other_settings_gets_a_clear_message() {
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    std::fs::write(sb.project_path("xtask.yaml"), config().replace("cpus: 2", "cpus: 4")).unwrap();
    let out = sb.xtask(&["up"]).run();
    out.assert_code(1);
    out.stderr_contains("the running cluster `demo` differs from the config: cpus is 2, the config says 4");
    out.stderr_contains("cargo xtask teardown --delete");
}

#[test]
fn a_missing_secret_says_where_to_set_it() {
    let sb = project();
    let out = sb.xtask(&["up"]).env_remove("DEMO_DB_PASSWORD").run();
    out.assert_code(2);
    out.stderr_contains("secret `db` has no value: set the env var DEMO_DB_PASSWORD");
    assert!(sb.calls().is_empty(), "nothing may run without the secret");
}

/// A minikube archive laid out like upstream's .tar.gz (`out/minikube-<os>-<arch>`), whose executable is a copy of
/// the fake (installed as `minikube`, it answers as minikube; a link would be refused), and a lock file pinning it
/// on a 127.0.0.1 server.
fn pin_minikube(sb: &Sandbox) -> String {
    let platform = format!(
        "{}-{}",
        if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS },
        if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" }
    );
    let src = sb.root.join("archive/out");
    std::fs::create_dir_all(&src).unwrap();
    let fake = std::fs::read_link(sb.bin_dir.join("minikube")).unwrap();
    std::fs::copy(fake, src.join(format!("minikube-{platform}"))).unwrap();
    let tgz = sb.root.join("minikube.tar.gz");
    let ok = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .arg("-C")
        .arg(sb.root.join("archive"))
        .arg("out")
        .status()
        .unwrap();
    assert!(ok.success());
    let bytes = std::fs::read(&tgz).unwrap();
    let sha: String = <sha2::Sha256 as sha2::Digest>::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let base = support::serve(vec![("/minikube.tar.gz".into(), bytes)]);
    let lock = format!(
        "tools:\n  minikube:\n    version: 1.35.0\n    platforms:\n      {platform}:\n        url: {base}/minikube.tar.gz\n        \
         sha256: {sha}\n        archive: tar.gz\n        path_in_archive: out/minikube-{platform}\n"
    );
    std::fs::create_dir_all(sb.project.join("xtask")).unwrap();
    std::fs::write(sb.project.join("xtask/tools.lock.yaml"), lock).unwrap();
    std::fs::remove_file(sb.bin_dir.join("minikube")).unwrap();
    platform
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn up_installs_a_missing_pinned_tool_first_unless_told_not_to() {
    if !support::needs_curl_and_tar() {
        return;
    }
    let sb = project();
    pin_minikube(&sb);
    let out = sb.xtask(&["--no-install", "up"]).run();
    out.assert_code(1);
    out.stderr_contains(
        "  - minikube: not found (not installed: --no-install) — `cargo xtask tools install minikube` (pinned)",
    );
    assert!(!sb.project.join(".xtask/bin/minikube").exists());

    let out = sb.xtask(&["up"]).run();
    out.assert_success();
    out.stderr_contains("minikube is missing: installing the pinned version from http://127.0.0.1:");
    out.stderr_contains("/minikube.tar.gz (turn this off with --no-install)");
    out.stderr_contains("minikube 1.35.0 installed into .xtask/bin (sha256 verified)");
    out.stderr_contains("minikube 1.35.0 (pinned, .xtask/bin)");
    assert!(
        sb.commands().iter().any(|c| c.starts_with("minikube start -p demo")),
        "the pinned minikube ran the cluster"
    );
}

#[test]
fn verify_static_checks_helm_once_in_a_preflight_instead_of_failing_every_step() {
    let sb = project();
    std::fs::remove_file(sb.bin_dir.join(format!("helm{}", std::env::consts::EXE_SUFFIX))).unwrap();
    // Only the fakes on PATH, so a helm installed on this machine cannot answer instead.
    let out = sb.xtask(&["verify", "--static"]).env("PATH", &sb.bin_dir).run();
    out.assert_code(1)
        .stderr_contains(
            "  - helm: not found — `cargo xtask tools install helm` (pinned) or https://helm.sh/docs/intro/install/",
        )
        .stderr_contains("skipped lint:values.yaml (0ms) — not started: `preflight:tools` failed");
    assert!(!out.stderr.contains("is helm installed?"), "{out}");
}

#[test]
fn teardown_says_when_the_namespace_was_already_gone() {
    // kubectl prints `No resources found` on stdout for a missing namespace with --ignore-not-found (delete.go).
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    sb.tool("kubectl", &["--context", "demo", "delete", "namespace", "demo"]).run().assert_success();
    let out = sb.tool("kubectl", &["--context", "demo", "delete", "namespace", "demo", "--ignore-not-found"]).run();
    assert_eq!(out.assert_success().stdout, "No resources found\n");
    sb.xtask(&["teardown", "--keep-cluster"]).run().assert_success().stderr_contains("namespace demo does not exist");
}

#[test]
fn an_unreachable_cluster_is_not_read_as_a_missing_release() {
    // Helm wraps client-go's error, which also says "not found" (v3.21.4 pkg/kube/client.go:126-139): only
    // `release: not found` means the release is not installed.
    let sb = project();
    sb.xtask(&["up"]).run().assert_success();
    let sb = sb.with_scenario(serde_json::json!({"rules": [{"tool": "helm", "match": "status *", "exit": 1,
        "stderr": "Error: Kubernetes cluster unreachable: context was not found for specified context: demo\n"}]}));
    let out = sb.xtask(&["teardown", "--keep-cluster"]).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("context was not found for specified context: demo");
    assert!(!out.stderr.contains("is not installed"), "{out}");
}
