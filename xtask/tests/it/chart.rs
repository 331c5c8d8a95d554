//! The Helm chart under Helm's real engine: lint and render with every values file, Kubernetes 1.28-1.31 schema
//! validation, hardening/probes/resources/labels, documented values, and k8s/ in sync
//! (scripts/ci/check-chart.py). Needs the Python tools from scripts/ci/requirements.txt (`.ci/run` installs them
//! into .venv), so the test is `#[ignore]`d with that reason in a plain `cargo test`; run with `--include-ignored`,
//! a missing tool prints a skip notice, or fails the test when XTASK_REQUIRE_ENGINES=1.

use std::path::{Path, PathBuf};

use crate::support::repo;
use std::process::Command;

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
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(out.status.success(), "chart checks failed:\n{stdout}\n{stderr}");
    assert!(last.ends_with(" 0 failed") && !last.starts_with("0 passed"), "unexpected summary {last:?}:\n{stdout}");
}
