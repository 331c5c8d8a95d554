//! Fail-fast and `--keep-going` on a real run: with minikube and helm missing and their downloads failing, `up`
//! stops within seconds of the preflight failure (the long static-binary build is stopped), and `--keep-going`
//! still builds the images and runs the gates that need only Docker.

use crate::support;

use std::time::{Duration, Instant};

use support::{demo, report, step, Sandbox};

/// The demo with minikube and helm missing, pinned in a lock file whose downloads answer 404 from 127.0.0.1, and
/// PATH limited to the fakes plus curl (a minikube or helm on this machine must not answer instead).
fn without_cluster_tools() -> Sandbox {
    let sb = demo::project();
    for tool in ["minikube", "helm"] {
        std::fs::remove_file(sb.bin_dir.join(format!("{tool}{}", std::env::consts::EXE_SUFFIX))).unwrap();
    }
    let base = support::serve(vec![]);
    let platform = format!(
        "{}-{}",
        if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS },
        if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" }
    );
    let mut lock = String::from("tools:\n");
    for tool in ["minikube", "helm"] {
        lock += &format!(
            "  {tool}:\n    version: 9.9.9\n    platforms:\n      {platform}:\n        url: {base}/{tool}.tar.gz\n        \
             sha256: {}\n        archive: tar.gz\n        path_in_archive: {tool}\n",
            "0".repeat(64)
        );
    }
    std::fs::create_dir_all(sb.project.join("xtask")).unwrap();
    std::fs::write(sb.project.join("xtask/tools.lock.yaml"), lock).unwrap();
    sb
}

/// PATH: the fakes, then a folder with only curl in it.
fn fakes_and_curl(sb: &Sandbox) -> std::ffi::OsString {
    let sys = sb.root.join("sys");
    std::fs::create_dir_all(&sys).unwrap();
    let curl = which("curl");
    let _ = std::os::unix::fs::symlink(curl, sys.join("curl"));
    std::env::join_paths([sb.bin_dir.clone(), sys]).unwrap()
}

fn which(tool: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} on PATH"))
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn up_stops_soon_after_the_preflight_fails_and_stops_the_release_build() {
    if !support::needs_curl_and_tar() {
        return;
    }
    let sb = without_cluster_tools();
    // The api image gets a static binary; its `cargo build --release` is a stand-in that would take 2 minutes.
    let config = demo::config().replacen(
        "    port: 8080\n",
        "    port: 8080\n    binary: { package: demo-api, sources: [images/api] }\n",
        1,
    );
    std::fs::write(sb.project.join("xtask.yaml"), config).unwrap();
    std::fs::write(sb.project.join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::write(sb.project.join("Cargo.lock"), "version = 4\n").unwrap();
    let cargo = sb.root.join("slow-cargo");
    std::fs::write(&cargo, format!("#!/bin/sh\nexec {} 120\n", which("sleep").display())).unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let started = Instant::now();
    let out = sb.xtask(&["up"]).env("PATH", fakes_and_curl(&sb)).env("CARGO", &cargo).run();
    let took = started.elapsed();
    out.assert_code(1);
    assert!(took < Duration::from_secs(60), "up kept going after the preflight failed ({took:?}):\n{out}");
    let r = report(&sb.project);
    assert_eq!(step(&r, "preflight:tools")["status"], "failed");
    let msg = step(&r, "preflight:tools")["message"].as_str().unwrap().to_string();
    assert!(msg.contains("minikube") && msg.contains("helm"), "{msg}");
    assert_eq!(step(&r, "prebuild:binaries")["status"], "skipped", "{}", step(&r, "prebuild:binaries"));
    assert_eq!(
        step(&r, "prebuild:binaries")["message"],
        "stopped: another step failed and the run stops at the first failure (`--keep-going` lets it finish)"
    );
    assert_eq!(step(&r, "build:api")["message"], "not started: `prebuild:binaries` did not run");
    out.stderr_contains(
        "`preflight:tools` failed: stopped 1 running and did not start 1 independent step(s); `--keep-going` runs \
         every step that does not depend on a failure",
    );
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn keep_going_builds_the_images_and_runs_the_gates_that_need_only_docker() {
    if !support::needs_curl_and_tar() {
        return;
    }
    let sb = without_cluster_tools();
    let out = sb.xtask(&["up", "--keep-going"]).env("PATH", fakes_and_curl(&sb)).run();
    out.assert_code(1);
    let r = report(&sb.project);
    assert_eq!(step(&r, "preflight:tools")["status"], "failed");
    for img in ["api", "web"] {
        assert_eq!(step(&r, &format!("build:{img}"))["status"], "passed", "{out}");
        assert_eq!(step(&r, &format!("gate:size:{img}"))["status"], "passed", "{out}");
        assert_eq!(step(&r, &format!("gate:policy:{img}"))["status"], "passed", "{out}");
        // Trivy comes from the tools preflight, which failed.
        assert_eq!(step(&r, &format!("gate:vuln:{img}"))["message"], "not started: `preflight:tools` failed");
    }
    assert_eq!(step(&r, "cluster:start")["message"], "not started: `preflight:tools` failed");
}
