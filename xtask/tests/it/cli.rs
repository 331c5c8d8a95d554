//! The command line's conventions: a `help` subcommand, `-q`, `--color` (with NO_COLOR and CLICOLOR_FORCE), shell
//! completions, global options under their own heading, and exit code 143 for SIGTERM.

use crate::support;

use std::time::{Duration, Instant};

use support::{api_image, report, Sandbox};

fn project() -> Sandbox {
    api_image::project(&api_image::config("", ""), "api binary v1")
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
    let out = Sandbox::new().xtask(&["build", "--help"]).run();
    out.assert_success();
    let (own, global) = out.stdout.split_once("Global options:").expect("a `Global options:` heading");
    assert!(own.contains("--skip-gate"), "build's own flag is under Options:\n{}", out.stdout);
    for flag in ["--config", "--dry-run", "--quiet", "--color <WHEN>", "--json", "--jobs", "--no-install"] {
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

/// Validates every line against docs/events.schema.json with Python's jsonschema (installed by .ci/run); skipped
/// with a notice where it is absent, unless engines are required.
fn validate_events(lines: &[&str]) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema = repo.join("docs/events.schema.json");
    let script = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
for n, line in enumerate(sys.stdin, 1):
    for err in v.iter_errors(json.loads(line)):
        print(f"line {n}: {err.message}: {line.strip()[:200]}")
        bad += 1
sys.exit(1 if bad else 0)
"#;
    for py in [repo.join(".venv/bin/python"), std::path::PathBuf::from("python3")] {
        let probe = std::process::Command::new(&py).args(["-c", "import jsonschema"]).output();
        if !probe.is_ok_and(|o| o.status.success()) {
            continue;
        }
        use std::io::Write;
        let mut child = std::process::Command::new(&py)
            .arg("-c")
            .arg(script)
            .arg(&schema)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{}\n", lines.join("\n")).as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "events break docs/events.schema.json:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        return;
    }
    assert!(!support::engines_required(), "python3 with jsonschema is required to validate the events");
    eprintln!("skipped: event schema validation needs python3 with jsonschema");
}

#[test]
fn up_json_prints_one_valid_event_per_line() {
    let sb = support::demo::project();
    let out = sb.xtask(&["up", "--json"]).run();
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l:?}")))
        .collect();
    let kinds: std::collections::BTreeSet<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in ["run_started", "step_started", "cache", "command", "step_finished", "run_finished", "result"] {
        assert!(kinds.contains(kind), "no {kind} event in:\n{}", out.stdout);
    }
    assert_eq!(events.first().unwrap()["event"], "run_started");
    let finished = events.iter().rev().find(|e| e["event"] == "run_finished").unwrap();
    assert_eq!(finished["status"], "passed");
    assert_eq!(finished["run_id"], report(&sb.project)["run_id"]);
    // Every started step finishes, and every command belongs to a step that started.
    let started: Vec<&str> =
        events.iter().filter(|e| e["event"] == "step_started").filter_map(|e| e["step"].as_str()).collect();
    for step in &started {
        assert!(events.iter().any(|e| e["event"] == "step_finished" && e["step"] == *step), "{step} never finished");
    }
    assert!(!out.stdout.contains("pw-for-tests-123"), "the secret leaked into the event stream");

    sb.xtask(&["plan", "up", "--json"]).run().assert_code(2).stderr_contains("--json");
}

#[test]
#[ignore = "needs python3 with jsonschema: pip install -r scripts/ci/requirements.txt"]
fn up_json_events_match_their_schema() {
    let sb = support::demo::project();
    let out = sb.xtask(&["up", "--json"]).run();
    out.assert_success();
    validate_events(&out.stdout.lines().collect::<Vec<_>>());
}
