//! `cargo xtask doctor` on a machine with no tools, with fakes below the minimums, and with everything in place.

use crate::support;

use serde_json::Value;
use support::demo::project;

/// Runs doctor with only `dir` on PATH (an empty folder: a machine with nothing installed).
fn doctor_without_tools(args: &[&str]) -> support::Output {
    let sb = project();
    let empty = sb.root.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    sb.xtask(args).env("PATH", &empty).run()
}

#[test]
fn xtask_alone_lists_every_command() {
    let out = project().xtask(&[]).run();
    out.assert_code(2);
    for cmd in ["doctor", "tools", "build", "up", "verify", "ai", "teardown", "rollback", "ci", "manifests", "plan"] {
        assert!(
            out.stderr.lines().any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "`{cmd}` is not listed:\n{}",
            out.stderr
        );
    }
    let help = project().xtask(&["--help"]).run();
    help.assert_success()
        .stdout_contains("Exit codes: 0 success, 1 a step failed, 2 usage or config error, 130 Ctrl-C, 143 SIGTERM.");
}

#[test]
fn doctor_on_a_bare_machine_names_each_missing_tool() {
    let out = doctor_without_tools(&["doctor"]);
    out.assert_code(1);
    for tool in ["docker", "minikube", "kubectl", "helm", "trivy"] {
        let row = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{tool} ")))
            .unwrap_or_else(|| panic!("no row for {tool}"));
        assert!(row.contains("MISSING"), "{row}");
        out.stderr_contains(&format!("  - {tool}: not found — "));
    }
    out.stderr_contains("5 required tool(s) missing or too old");
    let row = out.stdout.lines().find(|l| l.starts_with("kubectl-ai ")).unwrap();
    assert!(row.contains("optional"), "{row}");
    // Each missing tool comes with an install hint for this OS.
    out.stdout_contains("helm: not found\n  install: `cargo xtask tools install helm` (pinned)");
}

#[test]
fn doctor_json_has_one_entry_per_tool() {
    let out = doctor_without_tools(&["doctor", "--json"]);
    out.assert_code(1);
    let v: Value = out.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["ok"], false);
    let tools = v["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["docker", "minikube", "kubectl", "helm", "trivy", "kubectl-ai", "kagent", "docker-ai"]);
    for t in tools {
        for key in ["found", "path", "version", "minimum", "required", "needed_for", "ok", "shortfall", "install_hint"]
        {
            assert!(t.get(key).is_some(), "{} lacks {key}: {t}", t["name"]);
        }
    }
    let helm = tools.iter().find(|t| t["name"] == "helm").unwrap();
    assert_eq!(
        (helm["found"].clone(), helm["required"].clone(), helm["minimum"].clone()),
        (false.into(), true.into(), "3.14.0".into())
    );
}

#[test]
fn doctor_names_tools_below_their_minimums() {
    let sb = project()
        .with_env("FAKE_HELM_VERSION", "3.10.2")
        .with_env("FAKE_MINIKUBE_VERSION", "v1.29.0")
        .with_env("FAKE_KUBECTL_VERSION", "v1.27.3")
        .with_env("FAKE_TRIVY_VERSION", "0.45.1")
        .with_env("FAKE_DOCKER_VERSION", "19.03.15");
    let out = sb.xtask(&["doctor"]).run();
    out.assert_code(1);
    out.stderr_contains("5 required tool(s) missing or too old");
    for (tool, found, min) in [
        ("helm", "3.10.2", "3.14.0"),
        ("minikube", "1.29.0", "1.32.0"),
        ("kubectl", "1.27.3", "1.28.0"),
        ("trivy", "0.45.1", "0.65.0"),
        ("docker", "19.03.15", "20.10.0"),
    ] {
        out.stderr_contains(&format!("  - {tool}: version {found}"));
        out.stderr_contains(&format!(" is older than the minimum {min} — "));
        let row = out.stdout.lines().find(|l| l.starts_with(&format!("{tool} "))).unwrap();
        assert!(row.contains("TOO OLD") && row.contains(found) && row.contains(min), "{row}");
    }
}

#[test]
fn doctor_passes_when_every_required_tool_is_at_its_minimum() {
    let sb = project();
    let out = sb.xtask(&["doctor"]).run();
    out.assert_success();
    for (tool, version) in
        [("docker", "27.3.1"), ("minikube", "1.35.0"), ("kubectl", "1.31.1"), ("helm", "3.16.2"), ("trivy", "0.69.3")]
    {
        let row = out.stdout.lines().find(|l| l.starts_with(&format!("{tool} "))).unwrap();
        assert!(row.contains(" ok ") && row.contains(version), "{row}");
    }
    // Exactly at the minimum passes too; the config's own minimum wins over the default.
    let sb = project().with_env("FAKE_HELM_VERSION", "3.14.0");
    sb.xtask(&["doctor"]).run().assert_success();
}

#[test]
fn doctor_refuses_a_known_bad_trivy_and_a_pre_release_below_the_minimum() {
    let sb = project().with_env("FAKE_TRIVY_VERSION", "0.69.4").with_env("FAKE_HELM_VERSION", "3.14.0-rc.1");
    let out = sb.xtask(&["doctor"]).run();
    out.assert_code(1);
    let row = |tool: &str| out.stdout.lines().find(|l| l.starts_with(&format!("{tool} "))).unwrap().to_string();
    assert!(row("trivy").contains("REFUSED") && row("trivy").contains("0.69.4"), "{}", row("trivy"));
    out.stderr_contains("  - trivy: version 0.69.4 is refused: a malicious build was published under that number");
    // SemVer: 3.14.0-rc.1 comes before 3.14.0, so it does not meet a 3.14.0 minimum.
    assert!(row("helm").contains("TOO OLD"), "{}", row("helm"));
    out.stderr_contains("  - helm: version 3.14.0-rc.1+g13654a5 is older than the minimum 3.14.0");
}

#[test]
fn doctor_reports_a_docker_daemon_that_does_not_answer() {
    let sb = project().with_env("FAKE_DOCKER_DAEMON", "down");
    let out = sb.xtask(&["doctor"]).run();
    out.assert_code(1);
    out.stderr_contains("  - docker: the Docker daemon does not answer");
    out.stdout_contains("(daemon down)");
}

#[test]
fn doctor_shows_the_pinned_local_copy_in_use() {
    let sb = project();
    let local = sb.project.join(".xtask/bin");
    std::fs::create_dir_all(&local).unwrap();
    let fake = std::fs::read_link(sb.bin_dir.join("helm")).unwrap_or_else(|_| sb.bin_dir.join("helm"));
    std::os::unix::fs::symlink(fake, local.join("helm")).unwrap();
    let out = sb.xtask(&["doctor", "--json"]).run();
    out.assert_success();
    let v = out.json();
    let helm = v["tools"].as_array().unwrap().iter().find(|t| t["name"] == "helm").unwrap().clone();
    assert_eq!(helm["source"], "pinned");
    assert!(helm["path"].as_str().unwrap().ends_with(".xtask/bin/helm"));
    let table = sb.xtask(&["doctor"]).run();
    let row = table.stdout.lines().find(|l| l.starts_with("helm ")).unwrap().to_string();
    assert!(row.ends_with("(pinned)"), "{row}");
    let kubectl = v["tools"].as_array().unwrap().iter().find(|t| t["name"] == "kubectl").unwrap().clone();
    assert_eq!(kubectl["source"], "system");
}

#[test]
fn a_required_ai_tool_is_checked_when_the_config_uses_it() {
    let sb = project();
    let cfg = std::fs::read_to_string(sb.project_path("xtask.yaml")).unwrap() + "ai:\n  on_failure: kagent\n";
    std::fs::write(sb.project_path("xtask.yaml"), cfg).unwrap();
    let out = sb.xtask(&["doctor", "--json"]).run();
    let v = out.json();
    let kagent = v["tools"].as_array().unwrap().iter().find(|t| t["name"] == "kagent").unwrap().clone();
    assert_eq!(kagent["required"], true);
    assert_eq!(kagent["needed_for"], serde_json::json!(["ai steps"]));
    // `kagent version` prints the controller's `backend_version` before the CLI's `kagent_version` (sorted keys):
    // the CLI's is the one checked.
    assert_eq!(kagent["version"], "0.6.3", "{kagent}");
}
