//! The command line's conventions: a `help` subcommand, `-q`, `--color` (with NO_COLOR and CLICOLOR_FORCE), shell
//! completions, global options under their own heading, and exit code 143 for SIGTERM.

mod support;

use std::time::{Duration, Instant};

use support::{report, Sandbox};

const CONFIG: &str = r#"project: demo
images:
  - name: api
    context: images/api
    dockerfile: images/api/Dockerfile
    tag: api:1.0.0
    port: 8080
cluster: { profile: demo }
release: { chart: chart, name: demo, namespace: demo }
"#;

const DOCKERFILE: &str = "FROM scratch\nCOPY api /api\nUSER 1000:1000\nEXPOSE 8080\n\
    HEALTHCHECK --interval=30s --timeout=10s --retries=3 CMD [\"/api\", \"healthcheck\"]\nENTRYPOINT [\"/api\"]\n";

fn project() -> Sandbox {
    Sandbox::new()
        .with_file("xtask.yaml", CONFIG)
        .with_file("images/api/Dockerfile", DOCKERFILE)
        .with_file("images/api/api", "api binary v1")
}

#[test]
fn help_subcommand_prints_a_commands_help() {
    let sb = Sandbox::new();
    let out = sb.xtask(&["help", "up"]).run();
    out.assert_success();
    assert!(out.stdout.starts_with("Bring the app up"), "{}", out.stdout);
    assert_eq!(out.stdout, sb.xtask(&["up", "--help"]).run().stdout, "`help up` and `up --help` differ");
}

#[test]
fn global_options_have_their_own_heading() {
    let out = Sandbox::new().xtask(&["doctor", "--help"]).run();
    out.assert_success();
    let (own, global) = out.stdout.split_once("Global options:").expect("a `Global options:` heading");
    assert!(own.contains("--json"), "doctor's own flag is under Options:\n{}", out.stdout);
    for flag in ["--config", "--dry-run", "--quiet", "--color <WHEN>", "--jobs", "--no-install"] {
        assert!(global.contains(flag) && !own.contains(flag), "{flag} is not under Global options:\n{}", out.stdout);
    }
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let sb = Sandbox::new();
    let bash = sb.xtask(&["completions", "bash"]).run();
    bash.assert_success();
    let register = bash.stdout.lines().find(|l| l.trim_start().starts_with("complete -F")).expect("a `complete` line");
    assert!(register.ends_with(" xtask"), "completes {register:?}, want the name xtask");
    for sub in ["doctor", "up", "verify", "completions"] {
        assert!(bash.stdout.contains(sub), "bash completion lacks {sub}");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = sb.xtask(&["completions", shell]).run();
        out.assert_success();
        assert!(out.stdout.contains("verify"), "{shell} completion lacks the subcommands");
    }
    sb.xtask(&["completions", "tcsh"]).run().assert_code(2);
}

#[test]
fn quiet_leaves_out_progress_but_not_failures() {
    let sb = project();
    let loud = sb.xtask(&["build", "--skip-gate", "vuln"]).run();
    loud.assert_success();
    assert!(loud.stderr.contains("==> build:api"), "{}", loud.stderr);
    std::fs::write(sb.project.join("images/api/api"), "api binary v2").unwrap();
    let quiet = sb.xtask(&["-q", "build", "--skip-gate", "vuln"]).run();
    quiet.assert_success();
    assert!(!quiet.stderr.contains("==>") && !quiet.stderr.contains(" ok "), "-q printed progress:\n{}", quiet.stderr);
    assert_eq!(report(&sb.project)["status"], "passed");

    let failing = project().with_scenario(r#"{"rules":[{"tool":"docker","match":"build *","exit":1}]}"#);
    let out = failing.xtask(&["build", "--quiet", "--skip-gate", "vuln"]).run();
    out.assert_code(1);
    out.stderr_contains("FAILED build:api");
}

#[test]
fn color_follows_the_flag_and_the_conventions() {
    let esc = "\x1b[";
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let sb = project();
        let mut run = sb.xtask(args).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            run = run.env(k, v);
        }
        run.run()
    };
    let build = ["build", "--skip-gate", "vuln"];
    // The tests' stderr is a pipe: auto means no color, unless CLICOLOR_FORCE says otherwise.
    assert!(!run(&build, &[]).stderr.contains(esc));
    assert!(run(&build, &[("CLICOLOR_FORCE", "1")]).stderr.contains(esc));
    assert!(run(&["--color", "always", "build", "--skip-gate", "vuln"], &[("NO_COLOR", "1")]).stderr.contains(esc));
    assert!(!run(&["--color", "never", "build", "--skip-gate", "vuln"], &[("CLICOLOR_FORCE", "1")])
        .stderr
        .contains(esc));
    project().xtask(&["--color", "sometimes", "doctor"]).run().assert_code(2);
}

#[cfg(unix)]
#[test]
fn sigterm_exits_143_and_the_report_says_interrupted() {
    let sb = project().with_scenario(r#"{"rules":[{"tool":"docker","match":"build *","hang":true}]}"#);
    let mut child = sb.xtask(&["build", "--skip-gate", "vuln"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sb.starts().iter().any(|c| c.tool == "docker" && c.args.first().map(String::as_str) == Some("build")) {
        assert!(Instant::now() < deadline, "the build never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: sends SIGTERM to the xtask process this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = support::terminate_after(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(143));
    let r = report(&sb.project);
    assert_eq!(r["status"], "interrupted");
    assert_eq!(r["exit_code"], 143);
}
