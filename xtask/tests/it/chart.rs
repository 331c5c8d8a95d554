//! The Helm chart under Helm's real engine: lint and render with every values file, Kubernetes 1.28-1.31 schema
//! validation, hardening/probes/resources/labels, documented values, and k8s/ in sync
//! (scripts/ci/check-chart.py, which asks `cargo xtask manifests --policy` for the deployment policy). Needs the Python tools from scripts/ci/requirements.txt (`.ci/run` installs them
//! into .venv), so the test is `#[ignore]`d with that reason in a plain `cargo test`; run with `--include-ignored`,
//! a missing tool prints a skip notice, or fails the test when XTASK_REQUIRE_ENGINES=1. The `--policy` check itself
//! needs no engine and is tested here on files and stdin.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::support::repo;
use std::process::{Command, Stdio};

/// The venv's python when .ci/run made one, else python3 on PATH; None when the chart tools are not importable.
fn python_with_tools() -> Option<PathBuf> {
    let venv = repo().join(".venv/bin/python");
    let candidates = [venv, PathBuf::from("python3")];
    candidates.into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import kubernetes_validate, helm_python"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
#[ignore = "needs Helm's engine (helm-python-sdk) and kubernetes-validate: pip install -r scripts/ci/requirements.txt"]
fn chart_passes_static_checks_under_helms_real_engine() {
    let Some(python) = python_with_tools() else {
        assert!(
            std::env::var("XTASK_REQUIRE_ENGINES").as_deref() != Ok("1"),
            "Helm's engine (helm-python-sdk) and kubernetes-validate are required: run .ci/run"
        );
        eprintln!("skipped: chart checks need helm-python-sdk and kubernetes-validate (pip install -r scripts/ci/requirements.txt)");
        return;
    };
    // The adapter serves `helm lint/template/version` from the real engine, first on PATH like in CI.
    let path = std::env::join_paths(
        [repo().join("scripts/ci"), python.parent().map(Path::to_path_buf).unwrap_or_default()]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let out = Command::new(&python)
        .arg(repo().join("scripts/ci/check-chart.py"))
        .current_dir(repo())
        .env("PATH", path)
        // The deployment policy is the xtask's: the script asks this build of it rather than `cargo xtask`.
        .env("XTASK", env!("CARGO_BIN_EXE_xtask"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(out.status.success(), "chart checks failed:\n{stdout}\n{stderr}");
    assert!(last.ends_with(" 0 failed") && !last.starts_with("0 passed"), "unexpected summary {last:?}:\n{stdout}");
}

/// `cargo xtask manifests --policy <files>` with `stdin` piped in, from an empty project (no config, no tools):
/// (exit code, stdout, stderr).
fn policy_check(files: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let project = tempfile::tempdir().unwrap();
    let mut args = vec!["manifests"];
    for f in files {
        args.extend(["--policy", f]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(&args)
        .current_dir(repo())
        .env("XTASK_ROOT", project.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn policy_check_passes_hardened_manifests_from_files() {
    let demo = "xtask/tests/fixtures/demo/chart/fake-render.yaml";
    let adoption = "xtask/tests/fixtures/adoption/chart/fake-render.yaml";
    let (code, stdout, stderr) = policy_check(&[demo, adoption], "");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!("{demo}: 2 documents pass the deployment policy\n{adoption}: 6 documents pass the deployment policy\n")
    );
    assert_eq!(stderr, "");
}

#[test]
fn policy_check_names_every_breach_of_manifests_on_stdin() {
    let render = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {app: a, component: c, version: v}\n\
                  spec:\n  selector: {app: a, version: v}\n---\n\
                  apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  labels: {app: a, component: test}\n\
                  spec:\n  automountServiceAccountToken: false\n\
                  \x20 securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}\n\
                  \x20 containers:\n    - name: t\n      securityContext: {readOnlyRootFilesystem: true, privileged: true}\n";
    let (code, stdout, stderr) = policy_check(&["-"], render);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: stdin: the rendered manifests break the deployment policy:\n\
         \x20 - Service/web: selector uses version, which changes between releases\n\
         \x20 - Pod/t: missing label `version`\n\
         \x20 - Pod/t container t: allowPrivilegeEscalation must be false\n\
         \x20 - Pod/t container t: capabilities must drop ALL\n\
         \x20 - Pod/t container t: privileged must be false\n"
    );
}

#[test]
fn policy_check_refuses_an_empty_render_and_the_drift_check_together() {
    let (code, _, stderr) = policy_check(&["-"], "# nothing rendered\n");
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: stdin holds no Kubernetes documents: pass the output of `helm template` (or `-` with it on stdin)\n"
    );
    let out =
        Command::new(env!("CARGO_BIN_EXE_xtask")).args(["manifests", "--check", "--policy", "-"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--check compares with the chart, --policy judges files: one at a time");
}
