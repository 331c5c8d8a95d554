//! The step engine on the fakes: parallel builds, the content-hash cache and its reasons, timeouts, interrupts,
//! secret redaction and the run reports.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{api_image, Sandbox};
use support::{latest_run, report, step};

const CONFIG: &str = r#"project: demo
images:
  - name: api
    context: images/api
    dockerfile: images/api/Dockerfile
    tag: api:1.0.0
    port: 8080
    size_budget: { uncompressed: 5MB }
  - name: web
    context: images/web
    dockerfile: images/web/Dockerfile
    tag: web:1.0.0
    port: 8080
cluster: { profile: demo }
release: { chart: chart, name: demo, namespace: demo }
"#;

/// Two images with their own contexts, built by the fake docker (slow enough to see overlap).
fn project() -> Sandbox {
    Sandbox::new()
        .with_file("xtask.yaml", CONFIG)
        .with_file("images/api/Dockerfile", api_image::dockerfile("api"))
        .with_file("images/api/api", "api binary v1")
        .with_file("images/api/.dockerignore", "*.tmp\n")
        .with_file("images/api/scratch.tmp", "ignored by .dockerignore")
        .with_file("images/web/Dockerfile", api_image::dockerfile("web"))
        .with_file("images/web/web", "web binary v1")
        .with_env("FAKE_DOCKER_BUILD_MS", "400")
}

fn builds(sb: &Sandbox) -> Vec<support::Call> {
    sb.calls()
        .into_iter()
        .filter(|c| c.tool == "docker" && c.args.first().map(String::as_str) == Some("build"))
        .collect()
}

#[test]
fn builds_overlap_reruns_are_cached_and_a_touched_file_rebuilds_one_image() {
    let sb = project();
    sb.xtask(&["build"]).run().assert_success();
    let first = builds(&sb);
    assert_eq!(first.len(), 2, "{:?}", sb.commands());
    assert!(first[0].overlaps(&first[1]), "the two builds ran one after the other: {first:?}");
    let r = report(&sb.project);
    for id in ["build:api", "build:web", "gate:size:api", "gate:vuln:api", "gate:policy:api"] {
        assert_eq!(step(&r, id)["status"], "passed", "{id}");
    }

    // No change: every build step cached, and the fake docker saw no build.
    let out = sb.xtask(&["build"]).run();
    out.assert_success();
    assert_eq!(builds(&sb).len(), 2, "a no-op rerun issued a build: {:?}", sb.commands());
    let r = report(&sb.project);
    for id in ["build:api", "build:web", "gate:size:api", "gate:vuln:web", "gate:policy:web"] {
        assert_eq!(step(&r, id)["status"], "cached", "{id}");
        assert_eq!(step(&r, id)["cache"], "cached: inputs unchanged");
    }

    // A file .dockerignore excludes changes nothing.
    std::fs::write(sb.project_path("images/api/scratch.tmp"), "changed").unwrap();
    sb.xtask(&["build"]).run().assert_success();
    assert_eq!(builds(&sb).len(), 2, "an ignored file caused a rebuild");

    // One source file changes: only its image rebuilds, and the report says why.
    std::fs::write(sb.project_path("images/api/api"), "api binary v2").unwrap();
    sb.xtask(&["build"]).run().assert_success();
    let all = builds(&sb);
    assert_eq!(all.len(), 3);
    assert!(all[2].args.iter().any(|a| a == "api:1.0.0"), "{:?}", all[2].args);
    let r = report(&sb.project);
    assert_eq!(step(&r, "build:api")["status"], "passed");
    assert_eq!(step(&r, "build:api")["cache"], "runs: images/api/api changed");
    assert_eq!(step(&r, "build:web")["status"], "cached");
}

#[test]
fn renaming_the_checkout_keeps_the_cache() {
    let sb = project();
    sb.xtask(&["build"]).run().assert_success();
    let moved = sb.root.join("a-different-folder-name");
    std::fs::rename(&sb.project, &moved).unwrap();
    sb.xtask(&["build"]).env("XTASK_ROOT", &moved).current_dir(&moved).run().assert_success();
    assert_eq!(builds(&sb).len(), 2, "moving the checkout invalidated the cache: {:?}", sb.commands());
    let r = report(&moved);
    assert_eq!(step(&r, "build:api")["status"], "cached");
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Waits (bounded) until `pred` holds.
fn wait_for(what: &str, limit: Duration, pred: impl Fn() -> bool) {
    let end = Instant::now() + limit;
    while !pred() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_hanging_tool_is_killed_at_its_timeout_and_the_step_is_named() {
    let sb = project().with_file("xtask.yaml", format!("{CONFIG}timeouts: {{ build: 2s }}\n")).with_scenario(
        r#"{"rules":[{"tool":"docker","match":"build * images/web","stdout":"Step 1/6 : FROM scratch","hang":true}]}"#,
    );
    let started = Instant::now();
    let out = sb.xtask(&["build"]).timeout(Duration::from_secs(60)).run();
    out.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(30), "the timeout did not stop the hang");
    out.stderr_contains("step `build:web` timed out after 2.0s while running `docker build -f images/web/Dockerfile -t web:1.0.0 images/web`");
    out.stderr_contains("Step 1/6 : FROM scratch"); // the last output lines
    out.stderr_contains("timeouts.build");
    let hung: Vec<_> = sb.starts().into_iter().filter(|c| c.args.iter().any(|a| a == "images/web")).collect();
    assert_eq!(hung.len(), 1);
    wait_for("the killed tool to disappear", Duration::from_secs(5), || !alive(hung[0].pid));
    let r = report(&sb.project);
    assert_eq!(step(&r, "build:web")["status"], "failed");
    assert_eq!(step(&r, "gate:size:web")["status"], "skipped");
    assert_eq!(step(&r, "build:api")["status"], "passed", "independent steps still run");
}

#[test]
fn sigint_stops_children_exits_130_and_the_rerun_resumes() {
    let sb = project().with_scenario(r#"{"rules":[{"tool":"docker","match":"build * images/web","hang":true}]}"#);
    let mut child = sb.xtask(&["build"]).spawn();
    wait_for("the web build to start and the api gates to finish", Duration::from_secs(30), || {
        let started = sb.starts().iter().any(|c| c.args.iter().any(|a| a == "images/web"));
        let api_done = sb.calls().iter().any(|c| c.tool == "trivy" && c.args.iter().any(|a| a == "api:1.0.0"));
        started && api_done
    });
    // SAFETY: sends SIGINT to the xtask process we started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = support::terminate_after(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(130));
    let hung = sb.starts().into_iter().find(|c| c.args.iter().any(|a| a == "images/web")).unwrap();
    wait_for("the interrupted tool to disappear", Duration::from_secs(5), || !alive(hung.pid));
    let r = report(&sb.project);
    assert_eq!(r["status"], "interrupted");
    assert_eq!(r["exit_code"], 130);

    // The rerun keeps what finished and does the rest.
    std::fs::write(sb.fake_dir.join("scenario.json"), r#"{"rules":[]}"#).unwrap();
    sb.xtask(&["build"]).run().assert_success();
    let r = report(&sb.project);
    assert_eq!(step(&r, "build:api")["status"], "cached");
    assert_eq!(step(&r, "build:web")["status"], "passed");
}

#[test]
fn a_canary_secret_never_appears_in_output_logs_or_reports() {
    const CANARY: &str = "canary-Zq8v1xWm";
    // The demo deploys a release whose database password comes from DEMO_DB_PASSWORD.
    let sb = support::demo::project().with_env("DEMO_DB_PASSWORD", CANARY);
    let mut seen = String::new();
    for args in [&["plan", "up"][..], &["-v", "up"], &["-v", "up"]] {
        let out = sb.xtask(args).run();
        out.assert_success();
        seen += &out.stdout;
        seen += &out.stderr;
    }
    assert!(seen.contains("/secrets/deploy_demo.json"), "the secret goes to helm as a values file:\n{seen}");
    assert!(!seen.contains(CANARY), "the canary leaked to the console:\n{seen}");
    let mut files = vec![];
    let mut stack = vec![sb.project.join("target")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert!(
        files.iter().any(|f| f.ends_with("report.json"))
            && files.iter().any(|f| f.extension().is_some_and(|x| x == "log"))
    );
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).to_string();
        assert!(!text.contains(CANARY), "the canary leaked into {}", f.display());
    }
    // The canary did reach the tool that needs it (so the test above looked for something real).
    // No process got the canary as an argument (other users of the machine could read it there), and no secret
    // values file outlived its helm call.
    let all_calls = sb.commands().join("\n");
    assert!(!all_calls.contains(CANARY), "the canary was passed as an argument:\n{all_calls}");
    assert!(files.iter().all(|f| !f.to_string_lossy().contains("/secrets/")), "a secret values file was left behind");
    // The release received the canary all the same (the fake keeps a release's values, as `helm get values` shows).
    let release = std::fs::read_to_string(sb.fake_dir.join("state/helm.json")).unwrap();
    assert!(release.contains(CANARY), "helm never received the secret");
}

#[test]
fn reports_are_valid_and_complete() {
    let sb = project();
    sb.xtask(&["build", "--skip-gate", "vuln"]).run().assert_success();
    let dir = latest_run(&sb.project);
    let r = report(&sb.project);
    assert_eq!(r["status"], "passed");
    assert_eq!(step(&r, "gate:vuln:api")["status"], "skipped");
    assert_eq!(step(&r, "gate:vuln:api")["message"], "skipped by request (--skip-gate vuln)");
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    for s in r["steps"].as_array().unwrap() {
        assert!(summary.contains(&format!("`{}`", s["id"].as_str().unwrap())), "summary.md lacks {}", s["id"]);
        let log = s["log"].as_str().unwrap();
        assert!(!Path::new(log).is_absolute() && sb.project.join(log).is_file(), "log path {log}");
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), r["steps"].as_array().unwrap().len());
    assert!(junit.contains("<skipped message=\"skipped by request (--skip-gate vuln)\"/>"));
    support::validate_with_python(&dir.join("report.json"), &dir.join("junit.xml"));
}

#[test]
fn plan_shows_commands_and_cache_decisions_and_runs_nothing() {
    let sb = project();
    sb.xtask(&["build"]).run().assert_success();
    let before = sb.calls().len();
    std::fs::write(sb.project_path("images/web/web"), "web binary v2").unwrap();
    let out = sb.xtask(&["plan", "build"]).run();
    out.assert_success();
    assert_eq!(sb.calls().len(), before, "plan ran something: {:?}", &sb.commands()[before..]);
    out.stdout_contains("build:api: Build image api:1.0.0\n    cache: cached: inputs unchanged");
    out.stdout_contains("build:web: Build image web:1.0.0\n    cache: runs: images/web/web changed\n    $ docker build -f images/web/Dockerfile -t web:1.0.0 images/web");
    out.stdout_contains("gate:size:web: Size budget: web:1.0.0\n    cache: runs: `build:web` runs first");
}

#[test]
fn usage_errors_exit_2() {
    let sb = project();
    sb.xtask(&["build", "--image", "nope"])
        .run()
        .assert_code(2)
        .stderr_contains("no image `nope` in xtask.yaml; images: api, web");
    sb.xtask(&["build", "--skip-gate", "speed"]).run().assert_code(2);
    sb.xtask(&["frobnicate"]).run().assert_code(2);
}

#[test]
fn a_second_run_in_the_same_checkout_is_refused_and_a_stale_lock_is_taken_over() {
    let sb = project().with_scenario(r#"{"rules":[{"tool":"docker","match":"build * images/web","hang":true}]}"#);
    let mut first = sb.xtask(&["build"]).spawn();
    wait_for("the first run to start building", Duration::from_secs(30), || {
        sb.starts().iter().any(|c| c.args.iter().any(|a| a == "images/web"))
    });
    let out = sb.xtask(&["build"]).run();
    out.assert_code(2);
    out.stderr_contains(&format!("another `cargo xtask build` (pid {}) is running in this checkout", first.id()));
    // SAFETY: ends the xtask process this test started.
    unsafe { libc::kill(first.id() as libc::pid_t, libc::SIGTERM) };
    support::terminate_after(&mut first, Duration::from_secs(20));
    // A lock file left by a process that is gone does not block the next run, even when its pid now belongs to a
    // live process (here: this test's): the OS lock went with its process.
    std::fs::write(sb.project.join("target/xtask/run.lock"), format!("{} cargo xtask build\n", std::process::id()))
        .unwrap();
    std::fs::write(sb.fake_dir.join("scenario.json"), r#"{"rules":[]}"#).unwrap();
    sb.xtask(&["build"]).run().assert_success();
    let left = std::fs::read_to_string(sb.project.join("target/xtask/run.lock")).unwrap();
    assert_eq!(left, "", "the lock file is emptied when the run ends");
}

#[test]
fn a_hanging_docker_save_is_stopped_at_the_gates_timeout() {
    let sb = project()
        .with_file("xtask.yaml", format!("{CONFIG}timeouts: {{ gate: 2s }}\n"))
        .with_scenario(r#"{"rules":[{"tool":"docker","match":"save api:1.0.0","hang":true}]}"#);
    let started = Instant::now();
    let out = sb.xtask(&["build", "--image", "api", "--skip-gate", "vuln"]).timeout(Duration::from_secs(60)).run();
    out.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(30));
    out.stderr_contains("`docker save api:1.0.0` did not finish before the step's timeout; it was stopped");
    let hung = sb.starts().into_iter().find(|c| c.args.first().map(String::as_str) == Some("save")).unwrap();
    wait_for("the stopped docker save to disappear", Duration::from_secs(5), || !alive(hung.pid));
}
