//! Tests of the fake tool executables (xtask/fake/): call log, state, scenario rules and the upstream-shaped
//! answers the xtask's own integration tests rely on.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::{Sandbox, FAKE_BIN};

const DOCKERFILE: &str = r#"FROM scratch
COPY bin/todo-api /app/todo-api
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD ["/app/todo-api", "--health"]
ENTRYPOINT ["/app/todo-api"]
"#;

fn app_context(sb: Sandbox, binary_bytes: usize) -> Sandbox {
    sb.with_file("docker/todo-api/Dockerfile", DOCKERFILE)
        .with_file("docker/todo-api/bin/todo-api", vec![7u8; binary_bytes])
        .with_file("docker/todo-api/notes/big.txt", vec![1u8; 1000])
        .with_file("docker/todo-api/.dockerignore", "notes\n")
}

fn build(sb: &Sandbox, tag: &str) -> support::Output {
    sb.tool("docker", &["build", "-f", "docker/todo-api/Dockerfile", "-t", tag, "docker/todo-api"]).run()
}

#[test]
fn without_fake_dir_it_exits_127() {
    let sb = Sandbox::new();
    let out = sb.tool("docker", &["version"]).env_remove("FAKE_DIR").run();
    out.assert_code(127).stderr_contains("xtask-fake: FAKE_DIR is not set");
    assert!(!sb.fake_dir.join("calls.jsonl").exists());
}

#[test]
fn every_call_logs_a_start_and_an_end_line_with_selected_env() {
    let sb = Sandbox::new();
    sb.tool("helm", &["version", "--short"])
        .env("DOCKER_HOST", "tcp://192.168.49.2:2376")
        .env("GEMINI_API_KEY", "secret-value")
        .run()
        .assert_success();
    let log = std::fs::read_to_string(sb.fake_dir.join("calls.jsonl")).unwrap();
    assert!(!log.contains("secret-value"), "secrets must not be logged: {log}");
    assert!(!log.contains("\"PATH\""), "PATH is not recorded: {log}");
    let starts = sb.starts();
    let calls = sb.calls();
    assert_eq!((starts.len(), calls.len()), (1, 1));
    let c = &calls[0];
    assert_eq!(c.command(), "helm version --short");
    assert_eq!(c.exit, Some(0));
    assert!(c.end_ms.unwrap() >= c.start_ms);
    assert_eq!(c.env.get("DOCKER_HOST").map(String::as_str), Some("tcp://192.168.49.2:2376"));
    assert_eq!(c.env.get("GEMINI_API_KEY").map(String::as_str), Some("<set>"));
    assert!(c.cwd.ends_with("project"));
    assert_eq!(sb.commands(), ["helm version --short"]);
}

#[test]
fn parallel_invocations_never_interleave_log_lines() {
    let sb = Sandbox::new();
    let long_arg = "x".repeat(3000);
    let children: Vec<_> =
        (0..16).map(|i| sb.tool("kubectl", &["version", "--client", &long_arg, &i.to_string()]).spawn()).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    // Every line parses (Sandbox::calls panics otherwise) and each invocation has both lines.
    assert_eq!(sb.starts().len(), 16);
    assert_eq!(sb.calls().len(), 16);
}

#[test]
fn docker_build_then_image_inspect_reflects_the_dockerfile() {
    let sb = app_context(Sandbox::new(), 4096);
    // The context minus .dockerignore'd notes/: Dockerfile + .dockerignore + the binary.
    let expected = (DOCKERFILE.len() + "notes\n".len() + 4096) as u64;
    let out = build(&sb, "todo-api:0.1.0");
    out.assert_success()
        .stdout_contains(&format!("Sending build context to Docker daemon  {:.3}kB", expected as f64 / 1000.0))
        .stdout_contains("Step 1/6 : FROM scratch")
        .stdout_contains("Successfully tagged todo-api:0.1.0")
        .stderr_contains("DEPRECATED: The legacy builder is deprecated");

    let inspect = sb.tool("docker", &["image", "inspect", "todo-api:0.1.0"]).run();
    let v = inspect.assert_success().json();
    let img = &v[0];
    assert_eq!(img["RepoTags"], json!(["todo-api:0.1.0"]));
    assert_eq!(img["Config"]["User"], "10001:10001");
    assert_eq!(img["Config"]["ExposedPorts"], json!({"8080/tcp": {}}));
    assert_eq!(
        img["Config"]["Healthcheck"],
        json!({"Test": ["CMD", "/app/todo-api", "--health"], "Interval": 10_000_000_000u64, "Timeout": 2_000_000_000u64, "Retries": 3})
    );
    assert_eq!(img["Config"]["Entrypoint"], json!(["/app/todo-api"]));
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["Size"], json!(expected));

    let id = sb.tool("docker", &["image", "inspect", "--format", "{{.Id}}", "todo-api:0.1.0"]).run();
    assert_eq!(id.stdout.trim(), img["Id"].as_str().unwrap());
    assert!(out.stdout.contains(&format!("Successfully built {}", &id.stdout.trim()["sha256:".len()..][..12])));
    let size = sb.tool("docker", &["image", "inspect", "--format", "{{.Size}}", "todo-api:0.1.0"]).run();
    assert_eq!(size.stdout.trim(), expected.to_string());
    let cfg = sb.tool("docker", &["image", "inspect", "--format", "{{json .Config}}", "todo-api:0.1.0"]).run();
    assert_eq!(cfg.json()["User"], "10001:10001");

    let hist = sb
        .tool(
            "docker",
            &["history", "--no-trunc", "--human=false", "--format", "{{.Size}}\\t{{.CreatedBy}}", "todo-api:0.1.0"],
        )
        .run();
    let lines: Vec<&str> = hist.assert_success().stdout.lines().collect();
    assert_eq!(lines.len(), 5, "one line per instruction after FROM: {lines:?}");
    assert!(lines[0].ends_with("ENTRYPOINT [\"/app/todo-api\"]"), "newest first: {lines:?}");
    let sizes: u64 = lines.iter().map(|l| l.split('\t').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(sizes, expected, "history sums to Size");
    assert!(lines[4].contains("COPY file:") && lines[4].starts_with(&expected.to_string()));
    let human = sb.tool("docker", &["history", "--format", "{{.Size}}", "todo-api:0.1.0"]).run();
    assert!(human.stdout.lines().any(|l| l == format!("{:.2}kB", expected as f64 / 1000.0)), "{}", human.stdout);

    // Missing image: `[]` on stdout, the daemon's message, exit 1.
    let missing = sb.tool("docker", &["image", "inspect", "nope:1"]).run();
    missing.assert_code(1).stderr_contains("Error response from daemon: No such image: nope:1");
    assert_eq!(missing.stdout.trim(), "[]");
}

#[test]
fn rebuilding_unchanged_context_gives_the_same_id_and_a_changed_binary_another() {
    let sb = app_context(Sandbox::new(), 100);
    build(&sb, "todo-api:0.1.0").assert_success();
    let first = sb.tool("docker", &["image", "inspect", "--format", "{{.Id}}", "todo-api:0.1.0"]).run().stdout;
    build(&sb, "todo-api:0.1.0").assert_success();
    let second = sb.tool("docker", &["image", "inspect", "--format", "{{.Id}}", "todo-api:0.1.0"]).run().stdout;
    assert_eq!(first, second);
    std::fs::write(sb.project_path("docker/todo-api/bin/todo-api"), vec![8u8; 100]).unwrap();
    build(&sb, "todo-api:0.1.0").assert_success();
    let third = sb.tool("docker", &["image", "inspect", "--format", "{{.Id}}", "todo-api:0.1.0"]).run().stdout;
    assert_ne!(first, third);
}

#[test]
fn from_a_non_local_image_fails_like_a_daemon_without_registry_access() {
    let sb = Sandbox::new().with_file("ctx/Dockerfile", "FROM alpine:3.20\nUSER 1000\n");
    let out = sb.tool("docker", &["build", "-t", "x:1", "ctx"]).run();
    out.assert_code(1).stdout_contains("Step 1/2 : FROM alpine:3.20").stderr_contains(
        "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host",
    );
    // Pre-seeded or pullable bases work.
    sb.tool("docker", &["build", "-t", "x:1", "ctx"]).env("FAKE_DOCKER_IMAGES", "alpine:3.20").run().assert_success();
    sb.tool("docker", &["build", "-t", "x:2", "ctx"]).env("FAKE_DOCKER_PULL", "ok").run().assert_success();
    // A previously built image is a valid base.
    let sb2 = Sandbox::new()
        .with_file("a/Dockerfile", "FROM scratch\nUSER 7\n")
        .with_file("b/Dockerfile", "FROM base:1\nEXPOSE 9090\n");
    sb2.tool("docker", &["build", "-t", "base:1", "a"]).run().assert_success();
    sb2.tool("docker", &["build", "-t", "child:1", "b"]).run().assert_success();
    let cfg = sb2.tool("docker", &["image", "inspect", "--format", "{{json .Config}}", "child:1"]).run().json();
    assert_eq!(cfg["User"], "7");
    assert_eq!(cfg["ExposedPorts"], json!({"9090/tcp": {}}));
}

#[test]
fn docker_version_json_and_a_down_daemon() {
    let sb = Sandbox::new();
    let up = sb.tool("docker", &["version", "--format", "{{json .}}"]).run();
    let v = up.assert_success().json();
    assert_eq!(v["Client"]["Version"], "27.3.1");
    assert_eq!(v["Server"]["Version"], "27.3.1");
    sb.tool("docker", &["--version"]).run().stdout_contains("Docker version 27.3.1, build ce12230");
    let down = sb.tool("docker", &["version", "--format", "{{json .}}"]).env("FAKE_DOCKER_DAEMON", "down").run();
    down.assert_code(1).stderr_contains(
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    );
    assert_eq!(down.json()["Server"], serde_json::Value::Null);
    let v28 = sb.tool("docker", &["ai", "version"]).env("FAKE_DOCKER_VERSION", "28.2.2").run();
    v28.assert_code(1).stderr_contains("docker: unknown command: docker ai");
    sb.tool("docker", &["ai", "version"]).run().assert_code(1).stderr_contains("docker: 'ai' is not a docker command.");
    sb.tool("docker", &["ai", "version"]).env("FAKE_DOCKER_AI", "1").run().assert_success();
}

#[test]
fn docker_save_streams_about_the_image_size() {
    let sb = app_context(Sandbox::new(), 50_000);
    build(&sb, "todo-api:0.1.0").assert_success();
    let size: usize = sb
        .tool("docker", &["image", "inspect", "--format", "{{.Size}}", "todo-api:0.1.0"])
        .run()
        .stdout
        .trim()
        .parse()
        .unwrap();
    let saved = sb.tool("docker", &["save", "todo-api:0.1.0"]).run();
    saved.assert_success();
    assert!(saved.stdout_bytes.len() >= size && saved.stdout_bytes.len() <= size + 20_000);
}

#[test]
fn parallel_slow_builds_overlap_and_both_land_in_state() {
    let sb = app_context(Sandbox::new(), 10)
        .with_file("docker/todo-web/Dockerfile", "FROM scratch\nCOPY . /app\n")
        .with_file("docker/todo-web/index.html", "<p>hi</p>")
        .with_env("FAKE_DOCKER_BUILD_MS", "400");
    let a = sb
        .tool("docker", &["build", "-f", "docker/todo-api/Dockerfile", "-t", "todo-api:0.1.0", "docker/todo-api"])
        .spawn();
    let b = sb
        .tool("docker", &["build", "-f", "docker/todo-web/Dockerfile", "-t", "todo-web:0.1.0", "docker/todo-web"])
        .spawn();
    assert!(a.wait_with_output().unwrap().status.success());
    assert!(b.wait_with_output().unwrap().status.success());
    let calls = sb.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls[0].overlaps(&calls[1]), "{calls:?}");
    let listed = sb.tool("docker", &["images", "--format", "{{.Repository}}:{{.Tag}}"]).run().stdout;
    assert_eq!(listed, "todo-api:0.1.0\ntodo-web:0.1.0\n");
}

#[test]
fn minikube_status_exit_codes_follow_start_stop_delete() {
    let sb = Sandbox::new();
    let status = |sb: &Sandbox| sb.tool("minikube", &["status", "-p", "todo", "-o", "json"]).run();
    let none = status(&sb);
    none.assert_code(85);
    assert!(none.stdout.contains("Profile \\\"todo\\\" not found"), "{none}");
    sb.tool("minikube", &["status", "--profile=todo"])
        .run()
        .assert_code(85)
        .stdout_contains("🤷  Profile \"todo\" not found. Run \"minikube profile list\" to view all profiles.");

    sb.tool(
        "minikube",
        &[
            "start",
            "-p",
            "todo",
            "--driver",
            "docker",
            "--cpus",
            "2",
            "--memory",
            "4g",
            "--kubernetes-version",
            "v1.31.0",
            "--addons",
            "ingress",
        ],
    )
    .run()
    .assert_success()
    .stdout_contains(
        "🏄  Done! kubectl is now configured to use \"todo\" cluster and \"default\" namespace by default",
    );
    let running = status(&sb);
    running.assert_code(0);
    assert_eq!(
        running.json(),
        json!({"Name": "todo", "Host": "Running", "Kubelet": "Running", "APIServer": "Running", "Kubeconfig": "Configured", "Worker": false})
    );
    let list = sb.tool("minikube", &["profile", "list", "-o", "json"]).run().json();
    assert_eq!(list["valid"][0]["Config"]["Memory"], 4096);
    assert_eq!(list["valid"][0]["Config"]["KubernetesConfig"]["KubernetesVersion"], "v1.31.0");
    assert_eq!(sb.tool("kubectl", &["config", "current-context"]).run().stdout, "todo\n");

    sb.tool("minikube", &["stop", "-p", "todo"]).run().assert_success().stdout_contains("🛑  1 node stopped.");
    let stopped = status(&sb);
    stopped.assert_code(7);
    assert_eq!(stopped.json()["Host"], "Stopped");
    sb.tool("kubectl", &["get", "pods", "-n", "todo"]).run().assert_code(1).stderr_contains("was refused");

    sb.tool("minikube", &["delete", "-p", "todo"])
        .run()
        .assert_success()
        .stdout_contains("💀  Removed all traces of the \"todo\" cluster.");
    status(&sb).assert_code(85);
    sb.tool("minikube", &["delete", "-p", "todo"]).run().assert_success();
    assert_eq!(sb.tool("minikube", &["profile", "list", "-o", "json"]).run().stdout, "{\"invalid\":[],\"valid\":[]}\n");
    sb.tool("minikube", &["profile", "list"]).run().assert_code(14);
}

fn chart(sb: Sandbox) -> Sandbox {
    sb.with_file("helm/todo/Chart.yaml", "apiVersion: v2\nname: todo\nversion: 0.1.0\nappVersion: \"0.1.0\"\n")
        .with_file("helm/todo/templates/tests/test-connection.yaml", "kind: Pod\n")
}

#[test]
fn helm_release_lifecycle() {
    let sb = chart(Sandbox::new());
    let up = || {
        sb.tool(
            "helm",
            &[
                "upgrade",
                "--install",
                "todo",
                "helm/todo",
                "-n",
                "todo",
                "--create-namespace",
                "--wait",
                "--atomic",
                "--timeout",
                "5m",
            ],
        )
        .run()
    };
    let first = up();
    first
        .assert_success()
        .stdout_contains("Release \"todo\" does not exist. Installing it now.\nNAME: todo\nLAST DEPLOYED: ");
    first.stdout_contains("NAMESPACE: todo\nSTATUS: deployed\nREVISION: 1\n");
    let status = sb.tool("helm", &["status", "todo", "-n", "todo", "-o", "json"]).run().json();
    assert_eq!((status["info"]["status"].as_str(), status["version"].as_u64()), (Some("deployed"), Some(1)));

    up().assert_success()
        .stdout_contains("Release \"todo\" has been upgraded. Happy Helming!")
        .stdout_contains("REVISION: 2");
    let history = sb.tool("helm", &["history", "todo", "-n", "todo", "-o", "json"]).run().json();
    let statuses: Vec<&str> = history.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["superseded", "deployed"]);

    sb.tool("helm", &["rollback", "todo", "1", "-n", "todo", "--wait"])
        .run()
        .assert_success()
        .stdout_contains("Rollback was a success! Happy Helming!");
    let history = sb.tool("helm", &["history", "todo", "-n", "todo", "-o", "json"]).run().json();
    assert_eq!(history[2]["revision"], 3);
    assert_eq!(history[2]["description"], "Rollback to 1");

    let test = sb.tool("helm", &["test", "todo", "-n", "todo", "--logs"]).run();
    test.assert_success()
        .stdout_contains("TEST SUITE:     todo-test-connection")
        .stdout_contains("Phase:          Succeeded");
    sb.tool("helm", &["test", "todo", "-n", "todo"])
        .env("FAKE_HELM_TEST_FAIL", "1")
        .run()
        .assert_code(1)
        .stderr_contains("* pod todo-test-connection failed");

    sb.tool("helm", &["uninstall", "todo", "-n", "todo", "--wait"])
        .run()
        .assert_success()
        .stdout_contains("release \"todo\" uninstalled");
    sb.tool("helm", &["uninstall", "todo", "-n", "todo"])
        .run()
        .assert_code(1)
        .stderr_contains("Error: uninstall: Release not loaded: todo: release: not found");
    sb.tool("helm", &["status", "todo", "-n", "todo", "-o", "json"])
        .run()
        .assert_code(1)
        .stderr_contains("Error: release: not found");
    sb.tool("helm", &["history", "todo", "-n", "todo", "-o", "json"])
        .run()
        .assert_code(1)
        .stderr_contains("Error: release: not found");
}

#[test]
fn helm_3_and_4_differ_in_upgrade_flags() {
    let sb = chart(Sandbox::new());
    let args = ["upgrade", "--install", "todo", "helm/todo", "-n", "todo"];
    let with = |extra: &'static str| [&args[..], &[extra]].concat();
    sb.tool("helm", &with("--rollback-on-failure"))
        .run()
        .assert_code(1)
        .stderr_contains("Error: unknown flag: --rollback-on-failure");
    let v4 = sb.tool("helm", &with("--atomic")).env("FAKE_HELM_VERSION", "4.0.0").run();
    v4.assert_success().stderr_contains("Flag --atomic has been deprecated, use --rollback-on-failure instead");
    sb.tool("helm", &with("--rollback-on-failure")).env("FAKE_HELM_VERSION", "4.0.0").run().assert_success();
    assert_eq!(sb.tool("helm", &["version", "--short"]).run().stdout, "v3.16.2+g13654a5\n");
    assert_eq!(sb.tool("helm", &["version", "--template", "{{.Version}}"]).run().stdout, "v3.16.2\n");
    assert!(sb
        .tool("helm", &["version", "--short"])
        .env("FAKE_HELM_VERSION", "4.0.0")
        .run()
        .stdout
        .starts_with("v4.0.0+g"));
}

#[test]
fn helm_lint_passes_a_chart_and_fails_a_missing_one() {
    let sb = chart(Sandbox::new());
    let ok = sb.tool("helm", &["lint", "helm/todo", "--strict"]).run();
    ok.assert_success().stdout_contains(
        "==> Linting helm/todo\n[INFO] Chart.yaml: icon is recommended\n\n1 chart(s) linted, 0 chart(s) failed",
    );
    sb.tool("helm", &["lint", "nowhere"])
        .run()
        .assert_code(1)
        .stderr_contains("Error: 1 chart(s) linted, 1 chart(s) failed");
}

#[test]
fn scenario_rule_with_times_applies_once_then_built_in_behaviour_returns() {
    let sb = chart(Sandbox::new()).with_scenario(json!({"rules": [{
        "tool": "helm", "match": "upgrade --install *",
        "stderr_file": "helm/upgrade-atomic-timeout-v3.stderr.txt", "exit": 1, "times": 1,
        "then_state": {"helm_new_revision": "failed"}
    }]}));
    let args = ["upgrade", "--install", "todo", "helm/todo", "-n", "todo", "--atomic"];
    sb.tool("helm", &args)
        .run()
        .assert_code(1)
        .stderr_contains("Error: UPGRADE FAILED: an error occurred while rolling back the release");
    let history = sb.tool("helm", &["history", "todo", "-n", "todo", "-o", "json"]).run().json();
    assert_eq!(history[0]["status"], "failed");
    sb.tool("helm", &args).run().assert_success().stdout_contains("REVISION: 2");
}

#[test]
fn scenario_fallthrough_sleeps_then_runs_the_built_in() {
    let sb = Sandbox::new().with_scenario(
        json!({"rules": [{"tool": "kubectl", "match": "version *", "sleep_ms": 300, "fallthrough": true}]}),
    );
    let out = sb.tool("kubectl", &["version", "--client", "-o", "json"]).run();
    assert_eq!(out.assert_success().json()["clientVersion"]["gitVersion"], "v1.31.1");
    let c = &sb.calls()[0];
    assert!(c.end_ms.unwrap() - c.start_ms >= 300);
}

#[test]
fn hanging_scenario_prints_then_blocks_until_sigterm() {
    let sb = Sandbox::new().with_scenario(json!({"rules": [{"tool": "kubectl", "match": "rollout status *", "stdout": "Waiting for deployment \"todo-api\" rollout to finish\n", "hang": true}]}));
    let out = sb
        .tool("kubectl", &["rollout", "status", "deployment/todo-api", "-n", "todo"])
        .timeout(Duration::from_millis(500))
        .run_allowing_timeout();
    assert!(out.timed_out);
    let mut child = sb.tool("kubectl", &["rollout", "status", "deployment/todo-api", "-n", "todo"]).spawn();
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    let status = support::terminate(&mut child);
    assert!(!status.success());
    assert_eq!(sb.starts().len(), 2);
    assert!(sb.calls().is_empty(), "killed calls have no end line");
}

#[test]
fn port_forward_prints_forwarding_lines_and_keeps_running() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    let mut child = sb.tool("kubectl", &["port-forward", "svc/todo-todo-web", "18080:8080", "-n", "todo"]).spawn();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "Forwarding from 127.0.0.1:18080 -> 8080\n");
    assert!(child.try_wait().unwrap().is_none());
    support::terminate(&mut child);
}

#[test]
fn kubectl_pods_come_from_seeded_fixtures_or_a_healthy_default() {
    let sb = Sandbox::new();
    let healthy = sb.tool("kubectl", &["get", "pods", "-n", "todo", "-o", "json"]).run().json();
    let items = healthy["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|p| p["status"]["containerStatuses"][0]["ready"] == true));

    let seeded = Sandbox::new().seed_state_from_fixture("kube/pods.json", "kubectl/get-pods.synthesized.json");
    let pods = seeded.tool("kubectl", &["get", "pods", "-n", "demo", "-o", "json"]).run().json();
    assert!(pods["items"].as_array().unwrap().iter().any(|p| p["metadata"]["name"] == "todo-api-crashloop"));
}

#[test]
fn kubectl_namespaces_after_minikube_start() {
    let sb = Sandbox::new();
    sb.tool("minikube", &["start", "-p", "todo"]).run().assert_success();
    sb.tool("kubectl", &["delete", "namespace", "todo"])
        .run()
        .assert_code(1)
        .stderr_contains("Error from server (NotFound): namespaces \"todo\" not found");
    sb.tool("kubectl", &["delete", "namespace", "todo", "--ignore-not-found", "--wait"]).run().assert_success();
    sb.tool("kubectl", &["create", "namespace", "todo"])
        .run()
        .assert_success()
        .stdout_contains("namespace/todo created");
    sb.tool("kubectl", &["get", "namespace", "todo"]).run().assert_success();
    sb.tool("kubectl", &["delete", "namespace", "todo"])
        .run()
        .assert_success()
        .stdout_contains("namespace \"todo\" deleted");
}

#[test]
fn trivy_reports_clean_or_seeded_findings_with_filters_and_exit_code() {
    let sb = app_context(Sandbox::new(), 10);
    build(&sb, "todo-api:0.1.0").assert_success();
    let clean =
        sb.tool("trivy", &["image", "--format", "json", "--quiet", "--scanners", "vuln", "todo-api:0.1.0"]).run();
    let report = clean.assert_success().json();
    assert_eq!((report["SchemaVersion"].as_u64(), report["ArtifactType"].as_str()), (Some(2), Some("container_image")));
    assert!(report["Results"][0].get("Vulnerabilities").is_none());

    let sb = sb.seed_state_from_fixture("trivy/todo-api_0.1.0.json", "trivy/image-critical-current.json");
    let all = sb.tool("trivy", &["image", "--format", "json", "--quiet", "todo-api:0.1.0"]).run();
    let vulns = all.assert_success().json()["Results"][0]["Vulnerabilities"].as_array().unwrap().len();
    assert!(vulns >= 2);
    let critical = sb
        .tool("trivy", &["image", "--format", "json", "--severity", "CRITICAL", "--exit-code", "3", "todo-api:0.1.0"])
        .run();
    critical.assert_code(3);
    let only: Vec<String> = critical.json()["Results"][0]["Vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Severity"].as_str().unwrap().to_string())
        .collect();
    assert!(only.iter().all(|s| s == "CRITICAL") && !only.is_empty());
    sb.tool("trivy", &["image", "--quiet", "nope:1"]).run().assert_code(1);
    assert_eq!(sb.tool("trivy", &["--version"]).run().stdout.lines().next(), Some("Version: 0.69.3"));
}

#[test]
fn ai_tools_report_missing_keys_and_an_unreachable_controller() {
    let sb = Sandbox::new();
    sb.tool("kubectl-ai", &["--quiet", "--llm-provider", "gemini", "why is my pod failing?"])
        .run()
        .assert_code(1)
        .stderr_contains("GEMINI_API_KEY environment variable not set");
    sb.tool("kubectl-ai", &["--quiet", "how are my pods?"]).env("GEMINI_API_KEY", "k").run().assert_success();
    sb.tool("kubectl-ai", &["version"]).run().assert_success().stdout_contains("version: 0.0.20\ncommit: ");
    // kagent prints failures on stderr and still exits 0 (invoke.go has no error return).
    let down = sb
        .tool("kagent", &["invoke", "--agent", "k8s-agent", "--task", "check", "-n", "kagent"])
        .env("FAKE_KAGENT_UNREACHABLE", "1")
        .run();
    down.assert_code(0).stderr_contains("Error starting port-forward");
    assert!(down.stdout.is_empty());
    let ok = sb.tool("kagent", &["invoke", "--agent", "k8s-agent", "--task", "check", "-n", "kagent"]).run();
    assert_eq!(ok.assert_success().json()["status"]["state"], "completed");
}

#[test]
fn the_fake_binary_is_the_one_cargo_built() {
    assert!(std::path::Path::new(FAKE_BIN).exists());
}
