//! Tool downloads as `up` makes them: a server on 127.0.0.1 that accepts and never answers makes `up` fail within
//! the stated bound, naming the URL and the timeout; the downloads run at once; Ctrl-C starts nothing new and
//! names no tool as broken; `plan up` lists each download with its version, URL and checksum.

use crate::support;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{demo, report, step, Sandbox};

/// A server on 127.0.0.1 that accepts connections and never answers; returns its base URL and a connection count.
fn silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = vec![];
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(conn);
        }
    });
    (base, accepted)
}

fn platform() -> String {
    format!(
        "{}-{}",
        if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS },
        if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" }
    )
}

const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The demo with minikube and helm missing and pinned at `base`; PATH holds the fakes and curl only (when this
/// machine has it), so a minikube or helm on this machine cannot answer instead.
fn pinned_at(base: &str) -> (Sandbox, std::ffi::OsString) {
    let sb = demo::project();
    let mut lock = String::from("tools:\n");
    for tool in ["minikube", "helm"] {
        std::fs::remove_file(sb.bin_dir.join(format!("{tool}{}", std::env::consts::EXE_SUFFIX))).unwrap();
        lock += &format!(
            "  {tool}:\n    version: 9.9.9\n    platforms:\n      {}:\n        url: {base}/{tool}.tar.gz\n        \
             sha256: {SHA}\n        archive: tar.gz\n        path_in_archive: {tool}\n",
            platform()
        );
    }
    std::fs::create_dir_all(sb.project.join("xtask")).unwrap();
    std::fs::write(sb.project.join("xtask/tools.lock.yaml"), lock).unwrap();
    let sys = sb.root.join("sys");
    std::fs::create_dir_all(&sys).unwrap();
    // A machine with only cargo may have no curl: a plan never runs it, and the tests that download check for it
    // first (`support::needs_curl_and_tar`).
    let curl = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("curl"))
        .find(|p| p.is_file());
    if let Some(curl) = curl {
        std::os::unix::fs::symlink(curl, sys.join("curl")).unwrap();
    }
    let path = std::env::join_paths([sb.bin_dir.clone(), sys]).unwrap();
    (sb, path)
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn a_download_that_never_answers_fails_up_within_the_stated_bound_naming_the_url_and_the_timeout() {
    if !support::needs_curl_and_tar() {
        return;
    }
    let (base, accepted) = silent_server();
    let (sb, path) = pinned_at(&base);
    let started = Instant::now();
    let out = sb.xtask(&["up"]).env("PATH", path).run();
    let took = started.elapsed();
    out.assert_code(1);
    // The stated bound is 60 s per tool (docs/troubleshooting.md); both downloads stall at the same time.
    assert!(took < Duration::from_secs(60), "up took {took:?} on two stalled downloads:\n{out}");
    for tool in ["minikube", "helm"] {
        out.stderr_contains(&format!(
            "  - {tool}: not found, and installing the pinned version failed: download of {base}/{tool}.tar.gz timed \
             out: no connection within 10 s, or less than 1024 bytes/s for 15 s, on each of 2 attempts (a stalled \
             download gives up within 51 s): curl: (28) Operation too slow."
        ));
        out.stderr_contains(&format!(
            "preflight:tools: {tool} is missing: installing the pinned version from {base}/{tool}.tar.gz (turn this off \
             with --no-install)"
        ));
        out.stderr_contains(&format!("preflight:tools: {tool}: 0 B of ? from {base}/{tool}.tar.gz ("));
    }
    // docs/troubleshooting.md shows the same message and states the same bound.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/troubleshooting.md")).unwrap();
    assert!(doc.contains(
        "timed out: no connection within 10 s, or less than 1024 bytes/s for 15 s, on each of 2 attempts (a stalled \
         download gives up within 51 s): curl: (28) Operation too slow."
    ));
    assert!(doc.contains("a stalled download of\none tool fails within 51 s (at most 60 s)"), "the stated bound moved");
    // Two tools, two attempts each, at once.
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
    assert!(!out.stderr.contains("kubectl:"), "kubectl is installed and must not be listed:\n{out}");
    let r = report(&sb.project);
    assert_eq!(step(&r, "preflight:tools")["status"], "failed");
}

#[test]
#[ignore = "needs curl and tar: apt-get install -y curl tar (tool downloads run them)"]
fn ctrl_c_during_the_downloads_starts_nothing_new_and_names_no_tool_as_broken() {
    if !support::needs_curl_and_tar() {
        return;
    }
    let (base, accepted) = silent_server();
    let (sb, path) = pinned_at(&base);
    let mut child = sb.xtask(&["up"]).env("PATH", path).spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the downloads did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: sends SIGINT to the xtask process we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = support::terminate_after(&mut child, Duration::from_secs(20));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("required tools are missing"), "{stderr}");
    assert!(!stderr.contains("kubectl:"), "{stderr}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "a download started after Ctrl-C");
    let r = report(&sb.project);
    assert_eq!(r["status"], "interrupted");
    assert_eq!(step(&r, "preflight:tools")["message"], "interrupted (Ctrl-C or SIGTERM); the tool was stopped");
}

#[test]
fn plan_up_lists_each_download_with_its_version_url_and_checksum() {
    let (sb, path) = pinned_at("https://downloads.example");
    let out = sb.xtask(&["plan", "up"]).env("PATH", &path).run();
    out.assert_success();
    let expected = format!(
        "  preflight:tools: minikube, kubectl, helm, trivy at their minimums\n    check minikube >= 1.32.0\n    \
         minikube is not installed: would download minikube 9.9.9 from https://downloads.example/minikube.tar.gz \
         (sha256 {SHA}) into .xtask/bin\n    check kubectl >= 1.28.0\n    check helm >= 3.14.0\n    helm is not \
         installed: would download helm 9.9.9 from https://downloads.example/helm.tar.gz (sha256 {SHA}) into \
         .xtask/bin\n    check trivy >= 0.65.0\n"
    );
    assert!(out.stdout.contains(&expected), "plan lacks\n{expected}\n{out}");
    let out = sb.xtask(&["--no-install", "plan", "up"]).env("PATH", &path).run();
    out.stdout_contains("    minikube is not installed: the step would fail\n");
}
