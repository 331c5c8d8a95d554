//! `up`'s helm test step on the Helm versions where `helm test --logs` behaves differently with `hook-succeeded`
//! test pods (Helm 3 and 4.0.0-4.0.4 delete them before reading their logs, helm/helm#9098), with the project's
//! own chart tests and with a user chart that keeps `hook-succeeded`.

use crate::support;

use support::demo::project;
use support::Sandbox;

/// The demo project with the test templates of `helm/todo` (the project's chart) in place of the demo's.
fn with_todo_chart_tests() -> Sandbox {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/todo/templates/tests");
    let mut sb = project();
    for e in std::fs::read_dir(&dir).expect("helm/todo/templates/tests") {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        sb = sb.with_file(&format!("chart/templates/tests/{name}"), std::fs::read(&path).unwrap());
    }
    sb
}

const HOOK_SUCCEEDED_TEST: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations:\n    \
                                   helm.sh/hook: test\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n";

#[test]
fn up_passes_its_helm_test_step_on_helm_3_and_4_with_this_chart() {
    for version in ["3.14.0", "3.21.4", "4.0.0", "4.0.4", "4.2.2"] {
        let sb = with_todo_chart_tests().with_env("FAKE_HELM_VERSION", version);
        let out = sb.xtask(&["up"]).run();
        out.assert_success();
        let test = sb.commands_of("helm").into_iter().find(|c| c.starts_with("helm test")).expect("helm test");
        assert_eq!(test, "helm test demo -n demo --kube-context demo --timeout 120s", "Helm {version}");
    }
}

#[test]
fn a_user_chart_with_hook_succeeded_tests_passes_too() {
    for version in ["3.21.4", "4.0.0", "4.2.2"] {
        let sb = project()
            .with_file("chart/templates/tests/test-health.yaml", HOOK_SUCCEEDED_TEST)
            .with_env("FAKE_HELM_VERSION", version);
        sb.xtask(&["up"]).run().assert_success().stderr_contains("1 test pod(s): Phase:");
    }
}

#[test]
fn the_fake_reproduces_helm_9098_where_upstream_has_it() {
    let sb = project().with_file("chart/templates/tests/test-health.yaml", HOOK_SUCCEEDED_TEST);
    sb.xtask(&["up"]).run().assert_success();
    let pod = "demo-test-health";
    for (version, fails) in [("3.21.4", true), ("4.0.4", true), ("4.0.5", false), ("4.1.0", false), ("4.2.2", false)] {
        let out = sb
            .tool("helm", &["test", "demo", "-n", "demo", "--kube-context", "demo", "--logs"])
            .env("FAKE_HELM_VERSION", version)
            .run();
        if fails {
            out.assert_code(1)
                .stderr_contains(&format!("Error: unable to get pod logs for {pod}: pods \"{pod}\" not found"));
            // The suite itself passed: the status block says so before the error.
            out.stdout_contains("Phase:          Succeeded");
        } else {
            out.assert_success().stdout_contains(&format!("POD LOGS: {pod}"));
        }
    }
}

#[test]
fn a_failing_test_pod_is_named_with_its_logs() {
    let sb = with_todo_chart_tests().with_env("FAKE_HELM_TEST_FAIL", "1");
    let out = sb.xtask(&["up"]).run();
    assert!(!out.status.success(), "{out}");
    out.stderr_contains("helm test demo failed: test pod(s) demo-test-health failed")
        .stderr_contains("Logs of test pod demo-test-health:\nConnecting to");
    assert!(sb
        .commands_of("kubectl")
        .contains(&"kubectl --context demo logs demo-test-health -n demo --all-containers --tail=20".into()));
}

#[test]
fn the_fake_validates_helm_4_wait_values_per_version() {
    // v4.0.0 `pkg/cmd/flags.go`: watcher|legacy; from v4.1.0 hookOnly too (v4.2.2 flags.go:82-97).
    let sb = project();
    let upgrade = |version: &str, wait: &str| {
        sb.tool("helm", &["upgrade", "demo", "chart", "-n", "demo", "--install", "--create-namespace", wait])
            .env("FAKE_HELM_VERSION", version)
            .run()
    };
    upgrade("4.0.0", "--wait=hookOnly")
        .assert_code(1)
        .stderr_contains("invalid wait input \"hookOnly\". Valid inputs are watcher, and legacy");
    upgrade("4.2.2", "--wait=hookOnly").assert_success();
    upgrade("4.2.2", "--wait=true")
        .assert_success()
        .stderr_contains("--wait=true is deprecated (boolean value) and can be replaced with --wait=watcher");
}

#[test]
fn the_fake_prints_helm_4s_status_block() {
    // Helm 4: DESCRIPTION always (pkg/cmd/status.go:160), no NOTES under `helm test` (release_testing.go:93).
    let sb = project().with_file("chart/templates/NOTES.txt", "Open the app.\n");
    sb.xtask(&["up"]).run().assert_success();
    let v4 = sb.tool("helm", &["status", "demo", "-n", "demo"]).env("FAKE_HELM_VERSION", "4.2.2").run();
    v4.assert_success().stdout_contains("REVISION: 1\nDESCRIPTION: Install complete\n");
    let v3 = sb.tool("helm", &["status", "demo", "-n", "demo"]).env("FAKE_HELM_VERSION", "3.21.4").run();
    assert!(!v3.assert_success().stdout.contains("DESCRIPTION:"), "{v3}");
    let test = sb.tool("helm", &["test", "demo", "-n", "demo"]).env("FAKE_HELM_VERSION", "4.2.2").run();
    assert!(!test.assert_success().stdout.contains("NOTES:"), "{test}");
    let test = sb.tool("helm", &["test", "demo", "-n", "demo"]).env("FAKE_HELM_VERSION", "3.21.4").run();
    test.assert_success().stdout_contains("NOTES:\nOpen the app.");
}
