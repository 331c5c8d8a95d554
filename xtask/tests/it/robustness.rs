//! What an attack on the xtask found, kept fixed: one run at a time under a real race, a closed output pipe that
//! ends the run instead of hanging it, no config value reaching a tool as a flag, and no config path reaching
//! outside the repository.

use crate::support;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use support::demo;

/// 200 pairs of `build` started together: in none of them may both run. Each build is slowed down (100 ms per
/// image) so that the two always overlap; the refused one exits 2 naming the holder's pid and command.
#[test]
fn two_builds_started_together_never_both_run() {
    let sb = demo::project().with_env("FAKE_DOCKER_BUILD_MS", "100");
    let started = Instant::now();
    let mut both = 0;
    for pair in 0..200 {
        // A fresh state each time, so both runs would really build (nothing cached).
        let _ = std::fs::remove_dir_all(sb.project.join("target"));
        let a = sb.xtask(&["build", "--skip-gate", "vuln"]).timeout(Duration::from_secs(60)).spawn();
        let b = sb.xtask(&["build", "--skip-gate", "vuln"]).timeout(Duration::from_secs(60)).spawn();
        let (pa, pb) = (a.id(), b.id());
        let oa = a.wait_with_output().unwrap();
        let ob = b.wait_with_output().unwrap();
        let codes = (oa.status.code(), ob.status.code());
        match codes {
            (Some(0), Some(2)) | (Some(2), Some(0)) => {
                let (refused, holder) = if codes.0 == Some(2) { (&oa, pb) } else { (&ob, pa) };
                let err = String::from_utf8_lossy(&refused.stderr);
                assert!(
                    err.contains(&format!("another `cargo xtask build --skip-gate vuln` (pid {holder}) is running"))
                        || err.contains(&format!("another `cargo xtask build` (pid {holder}) is running")),
                    "pair {pair}: {err}"
                );
            }
            (Some(0), Some(0)) => both += 1,
            other => panic!(
                "pair {pair}: exit codes {other:?}\n{}\n{}",
                String::from_utf8_lossy(&oa.stderr),
                String::from_utf8_lossy(&ob.stderr)
            ),
        }
        assert!(started.elapsed() < Duration::from_secs(600), "200 pairs took over 10 minutes");
    }
    assert_eq!(both, 0, "both runs of a pair ran");
}

/// `cargo xtask up 2>&1 | head -1`: once the reader is gone the run stops (as if interrupted) within 2 s, even in
/// the middle of a long build, and releases the lock.
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_ends_the_run_and_frees_the_lock() {
    let sb = demo::project().with_env("FAKE_DOCKER_BUILD_MS", "30000");
    let (reader, writer) = std::io::pipe().unwrap();
    let mut child = sb.xtask(&["up"]).spawn_with(writer.try_clone().unwrap().into(), writer.into());
    let mut first = String::new();
    let mut r = BufReader::new(reader);
    r.read_line(&mut first).unwrap();
    assert!(!first.is_empty());
    drop(r); // `head -1` exits
    let closed = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if closed.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the run went on for 20 s after its output was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = closed.elapsed();
    assert!(took < Duration::from_secs(2), "exited {took:?} after the reader went away");
    assert_eq!(status.code(), Some(130), "a closed output ends the run as interrupted");
    let report = support::report(&sb.project);
    assert_eq!(report["status"], "interrupted");
    // Nothing left running, and the next run is not refused.
    assert!(!sb.calls().iter().any(|c| c.end_ms.is_none() && support_alive(c.pid)), "a tool outlived the run");
    sb.xtask(&["build", "--skip-gate", "vuln"]).env("FAKE_DOCKER_BUILD_MS", "0").run().assert_success();
}

#[cfg(unix)]
fn support_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Each config value that a tool receives as a positional argument (or a value that could be mistaken for a flag),
/// set to a flag, is refused with the value's position before anything runs.
#[test]
fn no_config_value_reaches_a_tool_as_a_flag() {
    let base = demo::config();
    let flag = "--post-renderer=/tmp/evil";
    let cases: Vec<(&str, String)> = vec![
        ("release.name", base.replace("  name: demo\n", &format!("  name: \"{flag}\"\n"))),
        ("release.chart", base.replace("  chart: chart\n", &format!("  chart: \"{flag}\"\n"))),
        ("release.namespace", base.replace("  namespace: demo\n", "  namespace: \"--all-namespaces\"\n")),
        ("release.service", base.replace("  service: demo-web\n", "  service: \"--all\"\n")),
        ("release.values", base.replace("values: [chart/values-dev.yaml]", &format!("values: [\"{flag}\"]"))),
        ("images[].tag", base.replace("tag: demo-api:1.0.0", "tag: \"--output=/tmp/x:1\"")),
        (
            "images[].name",
            base.replace("name: api\n", "name: \"--api\"\n").replace("backend.image.tag: api", "backend.image.tag: \"--api\""),
        ),
        ("images[].context", base.replace("context: images/api\n", "context: \"--file=/etc\"\n")),
        ("images[].dockerfile", base.replace("dockerfile: images/api/Dockerfile", "dockerfile: \"-f\"")),
        ("cluster.profile", base.replace("profile: demo", "profile: \"--all\"")),
        ("cluster.driver", base.replace("driver: docker", "driver: \"--force\"")),
        ("cluster.kubernetes_version", base.replace("kubernetes_version: v1.31.0", "kubernetes_version: \"--x\"")),
        ("cluster.addons", base.replace("addons: [ingress, metrics-server]", "addons: [\"--x\"]")),
        ("verify.frontend.service", base.replace("frontend: { service: demo-web", "frontend: { service: \"--all\"")),
        ("verify.backend.service", base.replace("backend: { service: demo-api", "backend: { service: \"-A\"")),
        ("verify.api.path", format!("{base}  api: {{ path: \"/api/tasks; touch /tmp/INJECTED #\" }}\n")),
        ("ai.steps[].agent", format!("{base}ai:\n  steps:\n    - {{ name: a, tool: kagent, prompt: hi, agent: \"--namespace=kube-system\" }}\n")),
        ("ai.steps[].prompt", format!("{base}ai:\n  steps:\n    - {{ name: a, tool: kubectl-ai, prompt: \"--help\" }}\n")),
        ("ai.steps[].name", format!("{base}ai:\n  steps:\n    - {{ name: \"--x\", tool: kubectl-ai, prompt: hi }}\n")),
        ("ai.kagent.agent", format!("{base}ai:\n  kagent: {{ agent: \"--x\" }}\n")),
        ("ai.kagent.namespace", format!("{base}ai:\n  kagent: {{ namespace: \"--x\" }}\n")),
        ("ai.kubectl_ai.model", format!("{base}ai:\n  kubectl_ai: {{ model: \"--x\" }}\n")),
        ("secrets.*.env", base.replace("db: { env: DEMO_DB_PASSWORD }", "db: { env: \"--x\" }")),
        ("images[].binary.package", base.replace("    port: 8080\n  - name: web", "    port: 8080\n    binary: { package: \"--x\" }\n  - name: web")),
    ];
    for (what, yaml) in cases {
        assert_ne!(yaml, base, "{what}: the case changed nothing");
        let sb = demo::project().with_file("xtask.yaml", &yaml);
        let out = sb.xtask(&["plan", "up"]).run();
        assert_eq!(out.code, Some(2), "{what}: {}", out.stderr);
        let err = out.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        assert!(err.starts_with("error: xtask.yaml:"), "{what}: no position in {err:?}");
        let pos: Vec<&str> = err["error: xtask.yaml:".len()..].splitn(3, ':').collect();
        let line: usize = pos[0].parse().unwrap_or_else(|_| panic!("{what}: {err}"));
        assert!(pos[1].parse::<usize>().is_ok(), "{what}: {err}");
        let shown = yaml.lines().nth(line - 1).unwrap_or("");
        assert!(
            shown.contains("\"-") || shown.contains("INJECTED"),
            "{what}: line {line} is `{shown}`, not the offending value: {err}"
        );
        assert!(sb.calls().is_empty(), "{what}: a tool ran: {:?}", sb.commands());
    }
    // The command line's own positionals: prompts and agent names.
    let sb = demo::project();
    for args in [
        &["ai", "ask", "--", "--help"][..],
        &["ai", "agent", "--agent", "--namespace=kube-system", "hi"],
        &["ai", "docker", "--", "-x"],
    ] {
        let out = sb.xtask(args).run();
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
    }
    assert!(sb.calls().is_empty(), "a tool ran: {:?}", sb.commands());
}

/// Config paths outside the repository (by `..`, absolutely, or through a symbolic link) and special files are
/// refused with the value's position, before anything is read or written.
#[cfg(unix)]
#[test]
fn config_paths_stay_inside_the_repository() {
    let base = demo::config();
    let outside = tempfile::tempdir().unwrap();
    let out_abs = outside.path().join("written").display().to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "manifests.output ..",
            format!("{base}manifests: {{ output: ../../../../../../../../tmp/x.yaml }}\n"),
            "leads outside",
        ),
        ("manifests.output absolute", format!("{base}manifests: {{ output: {out_abs} }}\n"), "is absolute"),
        (
            "secret file + generate",
            base.replace(
                "db: { env: DEMO_DB_PASSWORD }",
                &format!("db: {{ env: NOPE_UNSET, file: {out_abs}, generate: true }}"),
            ),
            "is absolute",
        ),
        ("context ..", base.replace("context: images/api\n", "context: ../../../../../../etc\n"), "leads outside"),
        ("context /etc", base.replace("context: images/api\n", "context: /etc\n"), "is absolute"),
        ("values /etc/shadow", base.replace("values: [chart/values-dev.yaml]", "values: [/etc/shadow]"), "is absolute"),
        (
            "dockerfile device",
            base.replace("dockerfile: images/api/Dockerfile", "dockerfile: dev-zero"),
            "not a regular file",
        ),
        ("values device", base.replace("values: [chart/values-dev.yaml]", "values: [dev-zero]"), "not a regular file"),
        ("context through a link", base.replace("context: images/api\n", "context: out-link\n"), "symbolic link"),
        ("chart /", base.replace("  chart: chart\n", "  chart: /\n"), "is absolute"),
        (
            "values -> /dev/zero",
            base.replace("values: [chart/values-dev.yaml]", "values: [zero-link]"),
            "symbolic link",
        ),
        (
            "ignore file device",
            format!("{base}gates: {{ vulnerabilities: {{ ignore_file: dev-zero }} }}\n"),
            "not a regular file",
        ),
        (
            "secret file directory",
            base.replace("db: { env: DEMO_DB_PASSWORD }", "db: { env: NOPE_UNSET, file: images }"),
            "not a regular file",
        ),
    ];
    for (what, yaml, why) in cases {
        assert_ne!(yaml, base, "{what}: the case changed nothing");
        let sb = demo::project().with_file("xtask.yaml", &yaml);
        // A FIFO inside the repository: reading it would block forever.
        let fifo = std::ffi::CString::new(sb.project.join("dev-zero").display().to_string()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::os::unix::fs::symlink(outside.path(), sb.project.join("out-link")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", sb.project.join("zero-link")).unwrap();
        for cmd in [&["plan", "up"][..], &["up"], &["manifests"]] {
            let started = Instant::now();
            let out = sb.xtask(cmd).env_remove("DEMO_DB_PASSWORD").timeout(Duration::from_secs(30)).run();
            assert_eq!(out.code, Some(2), "{what} {cmd:?}: {}", out.stderr);
            assert!(started.elapsed() < Duration::from_secs(10), "{what}: took {:?}", started.elapsed());
            assert!(out.stderr.contains("error: xtask.yaml:") && out.stderr.contains(why), "{what}: {}", out.stderr);
        }
        assert!(sb.calls().is_empty(), "{what}: a tool ran");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "{what}: something was written outside");
    }
}

/// A second Ctrl-C ends the run at once, even while a tool ignores SIGTERM, and still removes the secret values
/// file that tool was given.
#[cfg(unix)]
#[test]
fn a_second_interrupt_still_removes_the_secret_file() {
    let sb = demo::project();
    // helm that ignores SIGTERM during `upgrade` and otherwise is the fake (answering as helm by its argv[0]).
    let fake = std::fs::read_link(sb.bin_dir.join("helm")).unwrap();
    let bash = ["/bin/bash", "/usr/bin/bash"].into_iter().find(|p| std::path::Path::new(p).exists());
    let Some(bash) = bash else {
        eprintln!("skipped: needs bash");
        return;
    };
    std::fs::remove_file(sb.bin_dir.join("helm")).unwrap();
    let script = format!(
        "#!{bash}\nif [ \"$1\" = upgrade ]; then trap '' TERM INT; sleep 30; exit 1; fi\nexec -a helm {} \"$@\"\n",
        fake.display()
    );
    std::fs::write(sb.bin_dir.join("helm"), script).unwrap();
    std::fs::set_permissions(sb.bin_dir.join("helm"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut child = sb.xtask(&["up"]).spawn();
    let runs = sb.project.join("target/xtask/runs");
    let secret_files = || -> Vec<std::path::PathBuf> {
        let mut v = vec![];
        for run in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(run.path().join("secrets")).into_iter().flatten().flatten() {
                v.push(f.path());
            }
        }
        v
    };
    let started = Instant::now();
    while !secret_files().iter().any(|p| p.to_string_lossy().contains("deploy")) {
        assert!(started.elapsed() < Duration::from_secs(60), "the deploy never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signals the xtask process this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let signalled = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "a second Ctrl-C did not end the run");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(secret_files(), Vec::<std::path::PathBuf>::new(), "the secret values file outlived the run");
}

/// verify's own waits (for `kubectl port-forward` to print its port, for an HTTP answer) end at the step's deadline,
/// not at their fixed 30 s / 10 s.
#[test]
fn verify_waits_end_at_the_steps_deadline() {
    // A server that accepts connections and never answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hole.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = vec![];
        for s in hole.incoming().flatten().take(16) {
            held.push(s);
        }
    });
    let config = format!("{}timeouts: {{ verify: 2s }}\n", demo::config());
    let sb = demo::project()
        .with_file("xtask.yaml", &config)
        .with_env("FAKE_FORWARD_TO", &addr)
        .with_env("FAKE_MINIKUBE_SERVICE_URL", &format!("http://{addr}"));
    sb.xtask(&["up"]).run().assert_success();
    // The answer never comes.
    let started = Instant::now();
    let out = sb.xtask(&["verify", "--only", "health"]).run();
    out.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    out.stderr_contains("got no complete answer within");
    // port-forward never says where it listens.
    std::fs::write(
        sb.fake_dir.join("scenario.json"),
        r#"{"rules":[{"tool":"kubectl","match":"* port-forward *","hang":true}]}"#,
    )
    .unwrap();
    let started = Instant::now();
    let out = sb.xtask(&["verify", "--only", "health"]).run();
    out.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    out.stderr_contains("did not start forwarding within");
}

/// An OS error that is not a missing program is named as what it is, not "is the tool installed?".
#[cfg(target_os = "linux")]
#[test]
fn an_overlong_argument_is_not_blamed_on_a_missing_tool() {
    // Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN) with E2BIG.
    let prompt = "why ".repeat(50_000);
    let config =
        format!("{}ai:\n  steps:\n    - {{ name: big, tool: kubectl-ai, prompt: \"{prompt}\" }}\n", demo::config());
    let sb = demo::project().with_file("xtask.yaml", &config).with_env("GEMINI_API_KEY", "k");
    let out = sb.xtask(&["up"]).run();
    out.assert_code(1);
    out.stderr_contains("its arguments are longer than the operating system allows");
    assert!(!out.stderr.contains("is kubectl-ai installed?"), "{}", out.stderr);
}

/// `docker save` whose output pipe is held by a child (a wrapper script that does not `exec`): the size gate still
/// ends at its timeout, and the child goes with it.
#[cfg(target_os = "linux")]
#[test]
fn a_docker_save_whose_child_holds_the_pipe_is_stopped_at_the_timeout() {
    let sb = demo::project().with_file("xtask.yaml", format!("{}timeouts: {{ gate: 2s }}\n", demo::config()));
    let fake = std::fs::read_link(sb.bin_dir.join("docker")).unwrap();
    let Some(bash) = ["/bin/bash", "/usr/bin/bash"].into_iter().find(|p| std::path::Path::new(p).exists()) else {
        eprintln!("skipped: needs bash");
        return;
    };
    let marker = format!("{}", 100_000 + std::process::id() % 50_000);
    std::fs::remove_file(sb.bin_dir.join("docker")).unwrap();
    let script = format!(
        "#!{bash}\nif [ \"$1\" = save ]; then sleep {marker}; exit 0; fi\nexec -a docker {} \"$@\"\n",
        fake.display()
    );
    std::fs::write(sb.bin_dir.join("docker"), script).unwrap();
    std::fs::set_permissions(sb.bin_dir.join("docker"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let out = sb.xtask(&["build", "--skip-gate", "vuln"]).timeout(Duration::from_secs(60)).run();
    out.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    out.stderr_contains("did not finish before the step's timeout");
    // No `sleep <marker>` is left.
    std::thread::sleep(Duration::from_millis(200));
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmd = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        assert!(cmd.trim() != format!("sleep {marker}"), "docker save's child outlived the gate");
    }
}

/// A step that ran out of time says so, without a hint about an unrelated cause.
#[test]
fn a_timeout_is_not_dressed_up_as_another_failure() {
    let sb = demo::project()
        .with_file("xtask.yaml", format!("{}timeouts: {{ gate: 2s }}\n", demo::config()))
        .with_scenario(r#"{"rules":[{"tool":"trivy","match":"image *","hang":true}]}"#);
    let out = sb.xtask(&["build"]).timeout(Duration::from_secs(60)).run();
    out.assert_code(1);
    out.stderr_contains("timed out after");
    assert!(!out.stderr.contains("vulnerability database"), "{}", out.stderr);
}
