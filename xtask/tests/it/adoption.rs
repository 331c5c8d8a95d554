//! Adoption: the unchanged xtask serves another team's app (a Next.js frontend and a FastAPI backend, their own
//! Dockerfiles, Helm chart and `xtask.yaml`, in tests/fixtures/adoption) through `--config` alone.

use crate::support;

use std::path::Path;

use serde_json::Value;
use support::latest_run;
use support::Sandbox;

/// The fixture's own secret, passed the way their CI would (the env var named in their xtask.yaml). Set in every
/// run so no run falls back to generating `.secrets/api-token`.
const TOKEN: &str = "catalog-token-for-tests-7f3a";

/// Their base images. The fake docker fails a FROM of an image it does not have with the registry lookup error (as
/// an offline daemon does); a developer machine would pull these, so the tests say they are present.
const BASES: &str = "node:20.18-alpine,python:3.12-slim";

/// A sandbox whose project (XTASK_ROOT) is a copy of the adoption fixture, with their secret in the environment.
fn their_repo() -> Sandbox {
    let sb = Sandbox::new();
    support::copy_dir(&support::fixture_path("adoption"), &sb.project);
    sb.with_env("CATALOG_API_TOKEN", TOKEN)
}

fn step_status(project: &Path, id: &str) -> String {
    let text = std::fs::read_to_string(latest_run(project).join("report.json")).expect("report.json");
    let r: Value = serde_json::from_str(&text).expect("report.json is JSON");
    let steps = r["steps"].as_array().expect("steps");
    let s = steps.iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no step {id} in {steps:#?}"));
    s["status"].as_str().unwrap_or_default().to_string()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn static_verify_passes_for_their_chart_and_dockerfiles() {
    let sb = their_repo();
    let out = sb.xtask(&["--config", "xtask.yaml", "verify", "--static"]).run();
    out.assert_success().stderr_contains("render:chart: 6 manifests rendered");
    for id in [
        "lint:values.yaml",
        "lint:chart/values-dev.yaml",
        "lint:chart/values-prod.yaml",
        "render:chart",
        "lint:dockerfile:catalog-web",
        "lint:dockerfile:catalog-api",
    ] {
        assert_eq!(step_status(&sb.project, id), "passed", "{id}");
    }
    // Their chart, their values files, their secret key; nothing needs a cluster or a daemon.
    // Their secret reaches helm in a values file (never as an argument, which other users could read).
    // The preflight checks helm's version first, as `up` does.
    let helm: Vec<String> = sb.commands_of("helm").iter().map(|c| support::without_secret_file(c)).collect();
    assert_eq!(
        sorted(helm),
        sorted(vec![
            "helm version --short".to_string(),
            "helm lint chart -f <secret values> --strict".to_string(),
            "helm lint chart -f chart/values-dev.yaml -f <secret values> --strict".to_string(),
            "helm lint chart -f chart/values-prod.yaml -f <secret values> --strict".to_string(),
            "helm template catalog chart -n catalog -f chart/values-dev.yaml -f <secret values>".to_string(),
        ])
    );
    assert!(!sb.commands().iter().any(|c| c.contains(TOKEN)), "the token was passed as an argument");
    assert_eq!(sb.commands().len(), 5, "{:?}", sb.commands());
    assert!(!out.stderr.contains(TOKEN) && !out.stdout.contains(TOKEN), "the token leaked:\n{}", out.stderr);
}

#[test]
fn config_path_is_relative_to_the_current_dir() {
    let sb = their_repo();
    // From the folder above the repo: the config is found relative to the current dir, while the paths inside it
    // stay relative to the repo root (XTASK_ROOT).
    let out = sb.xtask(&["verify", "--static", "--config", "project/xtask.yaml"]).current_dir(&sb.root).run();
    out.assert_success();
    assert_eq!(step_status(&sb.project, "render:chart"), "passed");
    // From a subfolder the same relative path names a file that is not there: a config error (exit 2).
    let out = sb.xtask(&["verify", "--static", "--config", "xtask.yaml"]).current_dir(sb.project.join("chart")).run();
    out.assert_code(2).stderr_contains("cannot read the pipeline config xtask.yaml");
}

#[test]
fn plan_up_prints_their_commands_and_runs_nothing() {
    let sb = their_repo();
    let out = sb.xtask(&["--config", "xtask.yaml", "plan", "up"]).run();
    out.assert_success();
    for line in [
        "$ docker build -f frontend/Dockerfile -t catalog-web:0.3.0 frontend",
        "$ docker build -f backend/Dockerfile -t catalog-api:0.3.0 backend",
        "$ trivy image --format json --scanners vuln --no-progress --skip-db-update --cache-backend memory --config \
         target/xtask/trivy/empty-config.yaml --ignorefile target/xtask/trivy/empty.trivyignore --severity \
         UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL --exit-code 0 catalog-web:0.3.0",
        "$ docker save catalog-api:0.3.0 | gzip | wc -c",
        "$ minikube start -p catalog --driver docker --cpus 2 --memory 3072m --kubernetes-version v1.31.0 --addons \
         metrics-server",
        "$ minikube image load catalog-web:0.3.0-",
        "$ minikube image load catalog-api:0.3.0-",
        "$ helm lint chart -f chart/values-prod.yaml -f target/xtask/runs/",
        "$ helm template catalog chart -n catalog -f chart/values-dev.yaml -f target/xtask/runs/",
        "$ helm upgrade catalog chart -n catalog --kube-context catalog --install --create-namespace --atomic --wait \
         --timeout 300s -f chart/values-dev.yaml --set backend.image.tag=0.3.0-",
        "$ helm test catalog -n catalog --kube-context catalog --timeout 300s",
        "$ minikube service catalog-web -n catalog -p catalog --url",
    ] {
        out.stdout_contains(line);
    }
    let upgrade = out.stdout.lines().find(|l| l.contains("$ helm upgrade")).expect("a helm upgrade line");
    assert!(upgrade.contains(" --set frontend.image.tag=0.3.0-"), "{upgrade}");
    assert!(
        support::without_secret_file(upgrade.trim_start_matches("    $ ")).ends_with(" -f <secret values>"),
        "{upgrade}"
    );
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN), "the token leaked");
    assert!(!out.stdout.contains("todo"), "our app's names leaked into their plan:\n{}", out.stdout);
    assert!(sb.starts().is_empty(), "plan ran something: {:?}", sb.commands());
}

#[test]
fn build_runs_both_images_and_every_gate() {
    let sb = their_repo();
    // Without their bases the (offline) daemon cannot resolve the FROM lines: this is the pull a real machine does.
    // --keep-going: both builds are attempted whichever fails first (fail-fast would stop the other one).
    let out = sb.xtask(&["--config", "xtask.yaml", "build", "--keep-going"]).run();
    out.assert_code(1).stderr_contains("lookup registry-1.docker.io: no such host");

    let out = sb.xtask(&["--config", "xtask.yaml", "build"]).env("FAKE_DOCKER_IMAGES", BASES).run();
    out.assert_success();
    let builds: Vec<String> = sb.commands_of("docker").into_iter().filter(|c| c.starts_with("docker build")).collect();
    assert_eq!(
        sorted(builds),
        sorted(vec![
            // Twice each: the failed attempt above, then this run.
            "docker build -f backend/Dockerfile -t catalog-api:0.3.0 backend".to_string(),
            "docker build -f backend/Dockerfile -t catalog-api:0.3.0 backend".to_string(),
            "docker build -f frontend/Dockerfile -t catalog-web:0.3.0 frontend".to_string(),
            "docker build -f frontend/Dockerfile -t catalog-web:0.3.0 frontend".to_string(),
        ])
    );
    for (name, user, port) in [("catalog-web", "1001:1001", 3000), ("catalog-api", "10001:10001", 8000)] {
        for gate in ["size", "vuln", "policy"] {
            assert_eq!(step_status(&sb.project, &format!("gate:{gate}:{name}")), "passed", "{gate} {name}");
        }
        out.stderr_contains(&format!("gate:size:{name}: uncompressed "))
            .stderr_contains(&format!("gate:vuln:{name}: 0 finding(s); 0 at HIGH/CRITICAL failing"))
            .stderr_contains(&format!(
                "gate:policy:{name}: user {user}, healthcheck, port {port} exposed, bases pinned"
            ));
        let scan = format!(
            "trivy image --format json --scanners vuln --no-progress --skip-db-update --cache-backend memory --config \
             target/xtask/trivy/empty-config.yaml --ignorefile target/xtask/trivy/empty.trivyignore --severity \
             UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL --exit-code 0 {name}:0.3.0"
        );
        assert!(sb.commands_of("trivy").contains(&scan), "{:?}", sb.commands_of("trivy"));
    }
    out.stderr_contains("(budget 200.0 MB), compressed ").stderr_contains("(budget 150.0 MB)");
}

#[test]
fn up_deploys_their_chart_with_their_keys() {
    let sb = their_repo().with_env("FAKE_DOCKER_IMAGES", BASES);
    let out = sb.xtask(&["--config", "xtask.yaml", "up"]).run();
    out.assert_success().stdout_contains("http://127.0.0.1:30080");
    let helm = sb.commands_of("helm");
    let upgrade = helm.iter().find(|c| c.starts_with("helm upgrade")).expect("helm upgrade ran");
    assert!(upgrade.starts_with("helm upgrade catalog chart -n catalog --kube-context catalog --install"), "{upgrade}");
    assert!(support::without_secret_file(upgrade).ends_with(" -f <secret values>"), "{upgrade}");
    assert!(!upgrade.contains(TOKEN), "the token was passed as an argument: {upgrade}");
    // The release got it all the same (the fake keeps the user-supplied values, as `helm get values` shows them).
    let state = std::fs::read_to_string(sb.fake_dir.join("state/helm.json")).unwrap();
    assert!(state.contains(TOKEN), "the release lacks the token");
    // The images were loaded under their tag plus the image id, and the chart was told that tag.
    let loads: Vec<String> =
        sb.commands_of("minikube").into_iter().filter(|c| c.starts_with("minikube image load")).collect();
    for (name, key) in [("catalog-web", "frontend"), ("catalog-api", "backend")] {
        let load = loads.iter().find(|c| c.contains(name)).unwrap_or_else(|| panic!("{name} not loaded: {loads:?}"));
        let tag = load.split_whitespace().nth(3).and_then(|t| t.split_once(':')).map(|(_, t)| t).unwrap_or_default();
        assert!(tag.starts_with("0.3.0-"), "{load}");
        assert!(upgrade.contains(&format!(" --set {key}.image.tag={tag} ")), "{upgrade}");
    }
    assert!(helm.contains(&"helm test catalog -n catalog --kube-context catalog --timeout 300s".to_string()));
    assert!(!sb.project_path(".secrets/api-token").exists(), "the env var was set: nothing to generate");
}

#[test]
fn latest_base_is_named_with_file_and_line() {
    let sb = their_repo();
    let dockerfile = sb.project_path("frontend/Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert_eq!(text.lines().nth(15), Some("FROM node:20.18-alpine AS runner"), "the fixture's line 16 moved");
    std::fs::write(&dockerfile, text.replace("FROM node:20.18-alpine AS runner", "FROM node:latest AS runner"))
        .unwrap();
    let named = "frontend/Dockerfile:16: base image `node:latest` is not pinned";

    let out = sb.xtask(&["--config", "xtask.yaml", "verify", "--static"]).run();
    out.assert_code(1).stderr_contains(named);
    assert_eq!(step_status(&sb.project, "lint:dockerfile:catalog-web"), "failed");
    assert_eq!(step_status(&sb.project, "lint:dockerfile:catalog-api"), "passed");

    // Even when the daemon has the image, the policy gate refuses it after the build.
    // --keep-going: the other image's build is not stopped by this failure, so its gate's verdict shows too.
    let out = sb
        .xtask(&["--config", "xtask.yaml", "build", "--keep-going"])
        .env("FAKE_DOCKER_IMAGES", format!("{BASES},node:latest"))
        .run();
    out.assert_code(1).stderr_contains("catalog-web:0.3.0 breaks the image policy").stderr_contains(named);
    assert_eq!(step_status(&sb.project, "gate:policy:catalog-web"), "failed");
    assert_eq!(step_status(&sb.project, "gate:policy:catalog-api"), "passed");
}

#[test]
fn verify_runs_the_app_agnostic_checks_when_told_to_skip_the_todo_ones() {
    let sb = their_repo();
    // roundtrip, resilience and persistence speak our todo API (/api/tasks); their app has /api/items. The
    // app-agnostic checks use only their config: their services, ports, health paths and cluster context.
    let skips = ["--skip", "roundtrip", "--skip", "resilience", "--skip", "persistence"];
    let out = sb.xtask(&[&["--config", "xtask.yaml", "plan", "verify"][..], &skips].concat()).run();
    out.assert_success()
        .stdout_contains("$ kubectl --context catalog get deployments,statefulsets -n catalog -o json")
        .stdout_contains("$ kubectl --context catalog port-forward -n catalog svc/catalog-api :8000 &")
        .stdout_contains("$ minikube service catalog-web -n catalog -p catalog --url &");
    assert!(!out.stdout.contains("/api/tasks"), "{}", out.stdout);
    assert!(sb.starts().is_empty(), "plan ran something: {:?}", sb.commands());
}
