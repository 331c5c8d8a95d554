//! What a run leaves behind after a failure: summary.md starts with the failing step, its command and the cause;
//! the failed step's log and report.json hold every command it ran (downloads and version probes too);
//! report.json records the provenance (git commit and dirty state, xtask version, command line, OS/arch, tool
//! versions); report.html is one self-contained page that headless Chromium opens and renders.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{demo, latest_run, report, step, Sandbox};

fn platform() -> String {
    format!(
        "{}-{}",
        if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS },
        if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" }
    )
}

/// The demo in a git checkout, with minikube missing and pinned at a 127.0.0.1 server that answers 404.
fn failing_download() -> (Sandbox, String) {
    let sb = demo::project();
    std::fs::remove_file(sb.bin_dir.join(format!("minikube{}", std::env::consts::EXE_SUFFIX))).unwrap();
    let base = support::serve(vec![]);
    let url = format!("{base}/minikube.tar.gz");
    let lock = format!(
        "tools:\n  minikube:\n    version: 9.9.9\n    platforms:\n      {}:\n        url: {url}\n        sha256: {}\n        \
         archive: tar.gz\n        path_in_archive: minikube\n",
        platform(),
        "0".repeat(64)
    );
    std::fs::create_dir_all(sb.project.join("xtask")).unwrap();
    std::fs::write(sb.project.join("xtask/tools.lock.yaml"), lock).unwrap();
    std::fs::write(sb.project.join(".gitignore"), "target/\n").unwrap();
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&sb.project)
            .output()
            .unwrap();
        assert!(st.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&st.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "demo"]);
    (sb, url)
}

fn head(project: &Path) -> String {
    let out = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(project).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn summary_md_starts_with_the_failing_step_its_command_and_the_cause() {
    if !support::needs_curl_and_tar() {
        return;
    }
    let (sb, url) = failing_download();
    sb.xtask(&["up", "--skip-gate", "vuln"]).run().assert_code(1);
    let run = latest_run(&sb.project);
    let summary = std::fs::read_to_string(run.join("summary.md")).unwrap();
    let top: Vec<&str> = summary.lines().take(9).collect();
    let curl = "curl --fail --silent --show-error --location --connect-timeout 10 --speed-limit 1024 --speed-time 15 \
                --retry 1 --dump-header .xtask/bin/";
    assert_eq!(top[0], "## cargo xtask up: failed");
    assert_eq!(top[2], "**`preflight:tools` failed**:");
    assert_eq!(top[4], "```text");
    assert_eq!(top[5], "required tools are missing or too old:");
    assert_eq!(
        top[6],
        format!(
            "  - minikube: not found, and installing the pinned version failed: download of {url} failed (curl exit \
             22): curl: (22) The requested URL returned error: 404 — `cargo xtask tools install minikube` (pinned) \
             or https://minikube.sigs.k8s.io/docs/start/"
        )
    );
    let command = summary.lines().find(|l| l.starts_with("Command: ")).expect("a Command: line");
    assert!(command.starts_with(&format!("Command: `{curl}")), "{command}");
    assert!(command.ends_with(&format!(" {url}` (exit 22)")), "{command}");
    assert!(summary.contains("Last output (target/xtask/runs/"), "{summary}");

    // The step's log and report hold the download and the version probes, not just a header line.
    let r = report(&sb.project);
    let tools = step(&r, "preflight:tools");
    let commands: Vec<&str> =
        tools["commands"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
    assert!(commands.contains(&"kubectl version --client -o json"), "{commands:?}");
    let curl_rec = tools["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["command"].as_str().unwrap().starts_with("curl "))
        .unwrap();
    assert_eq!(curl_rec["exit_code"], 22);
    let log = std::fs::read_to_string(sb.project.join(tools["log"].as_str().unwrap())).unwrap();
    assert!(log.contains("$ curl --fail") && log.contains("curl: (22) The requested URL returned error: 404"), "{log}");
    assert!(log.contains("$ kubectl version --client -o json"), "{log}");
    support::validate_with_python(&run.join("report.json"), &run.join("junit.xml"));
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn report_json_records_commit_dirty_state_command_line_host_and_tool_versions() {
    if !support::needs_curl_and_tar() {
        return;
    }
    let (sb, _) = failing_download();
    sb.xtask(&["up", "--skip-gate", "vuln"]).run().assert_code(1);
    let p = report(&sb.project)["provenance"].clone();
    assert_eq!(p["git_commit"], head(&sb.project));
    assert_eq!(p["git_dirty"], false);
    assert_eq!(p["xtask_version"], "0.1.0");
    assert_eq!(p["command_line"], serde_json::json!(["cargo", "xtask", "up", "--skip-gate", "vuln"]));
    assert_eq!(p["os"], std::env::consts::OS);
    assert_eq!(p["arch"], std::env::consts::ARCH);
    // The fakes' default versions (docs/dev/testing.md), as each tool reports them.
    assert_eq!(
        p["tools"],
        serde_json::json!({"docker": "client 27.3.1, server 27.3.1", "helm": "3.16.2+g13654a5", "kubectl": "1.31.1"})
    );

    std::fs::write(sb.project.join("xtask.yaml"), demo::config() + "\n").unwrap();
    sb.xtask(&["up", "--skip-gate", "vuln"]).run().assert_code(1);
    assert_eq!(report(&sb.project)["provenance"]["git_dirty"], true);
}

/// Debian's `chromium` (what .ci/run installs); the other names are the same browser elsewhere (GitHub's Ubuntu
/// runners).
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .map(PathBuf::from)
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// Headless Chromium with a fresh profile and nothing that reaches the network.
fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
#[ignore = "needs chromium: apt-get install chromium (Debian; .ci/run installs it)"]
fn report_html_opens_in_headless_chromium_and_shows_the_waterfall() {
    let Some(browser) = chromium() else {
        assert!(
            !support::engines_required(),
            "chromium is required (XTASK_REQUIRE_ENGINES=1): apt-get install chromium"
        );
        eprintln!("skipped: report_html_opens_in_headless_chromium_and_shows_the_waterfall: needs chromium");
        return;
    };
    if !support::needs_curl_and_tar() {
        return;
    }
    let (sb, _) = failing_download();
    // --keep-going: builds, gates and skipped steps side by side in one timeline.
    sb.xtask(&["up", "--skip-gate", "vuln", "--keep-going"]).run().assert_code(1);
    let run = latest_run(&sb.project);
    let html_path = run.join("report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    for banned in ["<script", "<link", " src=", "url(", "@import"] {
        assert!(!html.contains(banned), "report.html must be self-contained, found {banned:?}");
    }
    let url = format!("file://{}", html_path.display());
    let profile = tempfile::tempdir().unwrap();
    let out = headless(&browser, profile.path()).arg("--dump-dom").arg(&url).output().unwrap();
    assert!(out.status.success(), "chromium --dump-dom failed: {}", String::from_utf8_lossy(&out.stderr));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("id=\"waterfall\""), "no waterfall in the rendered page");
    let r = report(&sb.project);
    for s in r["steps"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        assert!(dom.contains(&format!("<span class=\"id\">{id}</span>")), "the page lacks step {id}");
    }
    assert_eq!(step(&r, "build:api")["status"], "passed");
    let shot = run.join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let out =
        headless(&browser, profile.path()).arg(format!("--screenshot={}", shot.display())).arg(&url).output().unwrap();
    assert!(out.status.success(), "chromium --screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "not a real screenshot ({} bytes)", png.len());
}

#[test]
fn a_command_that_cannot_start_is_still_in_the_log_and_the_report() {
    let sb = demo::project();
    std::fs::remove_file(sb.bin_dir.join(format!("kubectl{}", std::env::consts::EXE_SUFFIX))).unwrap();
    // Only the fakes on PATH, so a kubectl installed on this machine cannot answer instead.
    sb.xtask(&["verify", "--only", "rollout"]).env("PATH", &sb.bin_dir).run().assert_code(1);
    let r = report(&sb.project);
    let rollout = step(&r, "verify:rollout");
    let cmd = &rollout["commands"][0];
    assert_eq!(cmd["command"], "kubectl --context demo get namespace demo -o name");
    assert_eq!(cmd["exit_code"], serde_json::Value::Null);
    let log = std::fs::read_to_string(sb.project.join(rollout["log"].as_str().unwrap())).unwrap();
    assert!(log.contains("$ kubectl --context demo get namespace demo -o name\n# could not start: "), "{log}");
}
