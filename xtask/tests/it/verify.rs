//! `cargo xtask verify` on the fakes: every check on a healthy deployment (a stand-in app on 127.0.0.1 plays the
//! pods, reached through the fake's real port-forward and service URL), and each failure shape failing fast with
//! the pod and reason named and the diagnostics collected.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::app::AppServer;
use support::demo::project;
use support::Sandbox;
use support::{latest_run, report, step};

/// The Services `verify` reads selectors from (kubectl get service -o json shape).
fn services() -> String {
    let svc = |name: &str, component: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "demo"},
               "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": component},
                        "ports": [{"port": 8080, "targetPort": "http"}]}})
    };
    json!({"apiVersion": "v1", "kind": "List", "items": [svc("demo-api", "backend"), svc("demo-web", "frontend")]})
        .to_string()
}

/// A deployed demo whose pods are played by `app`.
fn deployed(app: &AppServer) -> Sandbox {
    let sb = project()
        .seed_state("kube/services.json", services())
        .seed_state_from_fixture("kube/hpa.json", "kubectl/get-hpa.synthesized.json")
        .with_env("FAKE_MINIKUBE_SERVICE_URL", &app.url())
        .with_env("FAKE_FORWARD_TO", &app.addr);
    sb.xtask(&["up"]).run().assert_success();
    sb
}

#[test]
fn verify_passes_on_a_healthy_deployment_and_reports_each_check() {
    let app = AppServer::start();
    let sb = deployed(&app);
    let out = sb.xtask(&["verify"]).run();
    out.assert_success();
    let r = report(&sb.project);
    for id in
        ["verify:rollout", "verify:health", "verify:roundtrip", "verify:resilience", "verify:persistence", "verify:hpa"]
    {
        assert_eq!(step(&r, id)["status"], "passed", "{id}: {:#}", step(&r, id));
    }
    assert_eq!(step(&r, "verify:ingress")["status"], "skipped");
    let notes = |id: &str| {
        step(&r, id)["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        notes("verify:rollout").contains("demo-todo-api-7d4b9c6f5-x2k9p Ready, 0 restart(s)"),
        "{}",
        notes("verify:rollout")
    );
    assert!(notes("verify:health").contains("backend http://127.0.0.1:"), "{}", notes("verify:health"));
    assert!(notes("verify:roundtrip").contains("created, listed, completed, deleted"));
    assert!(
        notes("verify:resilience").contains("deleted demo-todo-api-7d4b9c6f5-x2k9p"),
        "{}",
        notes("verify:resilience")
    );
    assert!(notes("verify:hpa").contains("% CPU"), "{}", notes("verify:hpa"));
    assert!(app.requests() >= 8, "the checks reached the app");
    assert_eq!(app.task_count(), 0, "verify cleans up the tasks it created");
    let cmds = sb.commands();
    assert!(cmds
        .iter()
        .any(|c| c == "kubectl --context demo delete pod demo-todo-api-7d4b9c6f5-x2k9p -n demo --wait=false"));
    assert!(cmds.iter().any(|c| c.starts_with("kubectl --context demo port-forward -n demo svc/demo-api :8080")));
    // No port-forward or service tunnel outlives verify.
    let alive: Vec<_> =
        sb.starts().into_iter().filter(|c| c.end_ms.is_none() && unsafe { libc::kill(c.pid as i32, 0) } == 0).collect();
    assert!(alive.is_empty(), "left running: {alive:?}");
}

#[test]
fn a_blocking_minikube_service_does_not_hang_verify() {
    let app = AppServer::start();
    let sb = deployed(&app).with_env("FAKE_MINIKUBE_SERVICE_BLOCK", "1");
    let started = Instant::now();
    sb.xtask(&["verify", "--only", "roundtrip"]).timeout(Duration::from_secs(60)).run().assert_success();
    assert!(started.elapsed() < Duration::from_secs(30));
    let svc: Vec<_> = sb
        .starts()
        .into_iter()
        .filter(|c| c.tool == "minikube" && c.args.first().map(String::as_str) == Some("service"))
        .collect();
    assert!(!svc.is_empty());
    std::thread::sleep(Duration::from_millis(200));
    for c in svc {
        assert!(unsafe { libc::kill(c.pid as i32, 0) } != 0, "minikube service {} still runs", c.pid);
    }
}

#[test]
fn a_broken_backend_fails_health_with_the_endpoint_named() {
    let app = AppServer::start();
    let sb = deployed(&app);
    app.break_it();
    let out = sb.xtask(&["verify", "--only", "health"]).run();
    out.assert_code(1);
    out.stderr_contains("backend GET http://127.0.0.1:");
    out.stderr_contains("/ready: expected HTTP 200, got 503");
}

/// One pod of the combined fixture, as the only pod of the namespace.
fn only_pod(name: &str) -> String {
    let path = support::fixture_path("kubectl/get-pods.synthesized.json");
    let mut list: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let item = list["items"].as_array().unwrap().iter().find(|p| p["metadata"]["name"] == name).cloned().unwrap();
    list["items"] = json!([item]);
    list.to_string()
}

fn fails_fast(pod: &str, expected: &str) {
    let app = AppServer::start();
    let sb = deployed(&app)
        .seed_state("kube/pods.json", only_pod(pod))
        .seed_state_from_fixture("kube/events.json", "kubectl/get-events.synthesized.json");
    let started = Instant::now();
    let out = sb.xtask(&["verify"]).timeout(Duration::from_secs(90)).run();
    out.assert_code(1);
    // rollout_timeout is 60 s: a wait that sat it out would take that long.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "verify waited {:?} on a state waiting cannot fix",
        started.elapsed()
    );
    out.stderr_contains(&format!("error in verify:rollout: pod {pod}: {expected}"));
    out.stderr_contains("waiting will not fix this");
    let r = report(&sb.project);
    // Nothing disturbs a deployment that did not roll out.
    assert_eq!(step(&r, "verify:resilience")["status"], "skipped");
    assert_eq!(step(&r, "verify:resilience")["message"], "not started: `verify:rollout` failed");
    assert!(!sb.commands().iter().any(|c| c.contains(" delete pod")), "a pod was deleted: {:?}", sb.commands());
    assert_eq!(step(&r, "diagnose:cluster")["status"], "passed");
    let notes = step(&r, "diagnose:cluster")["notes"].to_string();
    assert!(notes.contains(&format!("culprit: pod {pod}: {expected}")), "{notes}");
    let diag = latest_run(&sb.project).join("diagnostics");
    let events = std::fs::read_to_string(diag.join("events.txt")).unwrap();
    assert!(events.lines().count() >= 2, "{events}");
    for f in [
        format!("describe-{pod}.txt"),
        format!("logs-{pod}.txt"),
        "helm-status.json".into(),
        "helm-history.json".into(),
        "summary.md".into(),
    ] {
        assert!(diag.join(&f).is_file(), "diagnostics lack {f}");
    }
}

#[test]
fn crash_loop_fails_fast_with_exit_code() {
    fails_fast("todo-api-crashloop", "CrashLoopBackOff (container todo-api, exit code 1, Error, 5 restarts)");
}

#[test]
fn image_pull_backoff_fails_fast_with_the_image() {
    fails_fast("todo-api-imagepull", "ImagePullBackOff (container todo-api, image todo-api:missing");
}

#[test]
fn unschedulable_fails_fast_with_the_schedulers_reason() {
    fails_fast("todo-api-unschedulable", "Unschedulable (0/1 nodes are available: 1 Insufficient cpu.)");
}

#[test]
fn oom_killed_fails_fast() {
    fails_fast(
        "todo-api-oomkilled",
        "OOMKilled (CrashLoopBackOff) (container todo-api, exit code 137, OOMKilled, 3 restarts)",
    );
}

#[test]
fn hpa_without_metrics_names_the_fix() {
    let app = AppServer::start();
    let sb = deployed(&app).seed_state_from_fixture("kube/hpa.json", "kubectl/get-hpa-no-metrics.synthesized.json");
    let out = sb.xtask(&["verify", "--only", "hpa"]).run();
    out.assert_code(1);
    out.stderr_contains("report no metrics (<unknown>): is the metrics-server addon enabled");
}

#[test]
fn static_verify_needs_no_cluster() {
    let sb = project();
    let out = sb.xtask(&["verify", "--static"]).run();
    out.assert_success();
    let r = report(&sb.project);
    for id in
        ["lint:values.yaml", "lint:chart/values-dev.yaml", "render:chart", "lint:dockerfile:api", "lint:dockerfile:web"]
    {
        assert_eq!(step(&r, id)["status"], "passed", "{id}");
    }
    assert!(
        !sb.commands().iter().any(|c| c.starts_with("minikube") || c.starts_with("kubectl")),
        "{:?}",
        sb.commands()
    );
    // A Dockerfile that breaks the policy fails the static stage, naming the file and line.
    std::fs::write(sb.project_path("images/web/Dockerfile"), "FROM node\nCOPY web /web\n").unwrap();
    let out = sb.xtask(&["verify", "--static"]).run();
    out.assert_code(1);
    out.stderr_contains("images/web/Dockerfile:1: base image `node` is not pinned");
    out.stderr_contains("runs as root");
    out.stderr_contains("has no HEALTHCHECK");
}

#[test]
fn the_config_chooses_the_checks_and_the_api_they_use() {
    let app = AppServer::start();
    let extra = "  checks: [rollout, roundtrip]\n  api:\n    path: /api/tasks\n    create: '{\"title\": \"{marker}\"}'\n    complete: null\n";
    let sb = deployed(&app);
    let cfg = std::fs::read_to_string(sb.project_path("xtask.yaml"))
        .unwrap()
        .replace("  rollout_timeout: 60s\n", &format!("  rollout_timeout: 60s\n{extra}"));
    std::fs::write(sb.project_path("xtask.yaml"), cfg).unwrap();
    sb.xtask(&["verify"]).run().assert_success();
    let r = report(&sb.project);
    let ids: Vec<&str> = r["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["verify:rollout", "verify:roundtrip"]);
    let notes = step(&r, "verify:roundtrip")["notes"].to_string();
    assert!(notes.contains("created, listed, deleted") && !notes.contains("completed"), "{notes}");
    // --only still wins over the config.
    sb.xtask(&["verify", "--only", "health"]).run().assert_success();
    let r = report(&sb.project);
    assert_eq!(r["steps"].as_array().unwrap().len(), 1);
}

#[test]
fn load_runs_a_bounded_generator_in_the_cluster_and_reports_the_scale_up() {
    let app = AppServer::start();
    let hpa_path = support::fixture_path("kubectl/get-hpa.synthesized.json");
    let mut hpa: Value = serde_json::from_str(&std::fs::read_to_string(hpa_path).unwrap()).unwrap();
    hpa["spec"]["scaleTargetRef"]["name"] = json!("demo-api");
    let mut scaled = hpa.clone();
    scaled["status"]["desiredReplicas"] = json!(4);
    // `kubectl get hpa -o json` answers with a List.
    let list = |item: &Value| json!({"apiVersion": "v1", "kind": "List", "items": [item]});
    let (hpa, scaled) = (list(&hpa), list(&scaled));
    // kubectl run starts the load pod; the HPA then asks for more replicas (the fake's state changes as the
    // cluster's would once metrics-server sees the load).
    let scenario = json!({"rules": [{
        "tool": "kubectl", "match": "* run xtask-load-*", "fallthrough": true,
        "then_state": {"files": {"kube/hpa.json": scaled}}
    }]});
    let sb = deployed(&app).seed_state("kube/hpa.json", hpa.to_string()).with_scenario(scenario.to_string());
    let out = sb.xtask(&["verify", "--only", "hpa", "--load"]).run();
    out.assert_success();
    out.stderr_contains("todo-api scaled 1 -> 4 replicas after");
    let run = sb.commands().into_iter().find(|c| c.contains(" run xtask-load-")).expect("the load pod was started");
    // Bounded in time (the pod's activeDeadlineSeconds, the loop's end) and count (requests per worker).
    assert!(
        run.contains(
            r#"--restart=Never --overrides={"apiVersion":"v1","spec":{"activeDeadlineSeconds":150}} --command -- sh -c"#
        ),
        "{run}"
    );
    // A fixed script; the values (seconds, workers, requests per worker, URL) are its positional parameters, so
    // nothing from the config is parsed by the shell.
    assert!(run.contains("end=$(( $(date +%s) + $1 ))") && run.contains("$i -lt \"$3\""), "{run}");
    assert!(run.ends_with("; wait xtask-load 120 8 2500 http://demo-api:8080/api/tasks"), "{run}");
    assert!(sb.commands().iter().any(|c| c.contains("delete pod xtask-load-") && c.contains("--ignore-not-found")));
    // The flag the load pod once used does not exist in kubectl (run.go addRunFlags): cobra rejects it.
    sb.tool("kubectl", &["run", "x", "--image=busybox", "--active-deadline-seconds=5"])
        .run()
        .assert_code(1)
        .stderr_contains("error: unknown flag: --active-deadline-seconds");
}

#[test]
fn verify_without_a_cluster_says_to_run_up_first() {
    // No `up` ran, so the kubeconfig has no context `demo`: client-go's errContextNotFound
    // (tools/clientcmd/validation.go), as kubectl prints it.
    let sb = support::demo::project().with_scenario(
        r#"{"rules":[{"tool":"kubectl","match":"--context demo *","stderr":"Error in configuration: context was not found for specified context: demo\n","exit":1}]}"#,
    );
    let out = sb.xtask(&["verify"]).run();
    out.assert_code(1)
        .stderr_contains("the kube context `demo` does not exist")
        .stderr_contains("run `cargo xtask up`");
}
