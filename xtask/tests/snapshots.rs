//! The texts users read, pinned whole: `plan up`, the doctor table (tools in place, and a bare machine), a failed
//! gate and the final summary. Each expected output is a file in `tests/snapshots/`; the run's own variable parts
//! (the sandbox path, run ids, durations) are replaced by placeholders before comparing.
//!
//! These were taken before issue 14's restructuring and must stay byte-identical through it. When a change of
//! behaviour means to change one of these texts, rerun with `XTASK_UPDATE_SNAPSHOTS=1` and review the diff.

mod support;

use support::demo::project;
use support::{fixture_path, Output, Sandbox};

fn snapshot_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(format!("{name}.txt"))
}

/// The output as the user saw it (exit code, stdout, stderr), with the per-run parts replaced.
fn render(sb: &Sandbox, out: &Output) -> String {
    let text = format!(
        "exit code: {}\n--- stdout\n{}--- stderr\n{}",
        out.code.map_or("none".to_string(), |c| c.to_string()),
        out.stdout,
        out.stderr
    );
    normalize(&text.replace(&sb.root.display().to_string(), "[SANDBOX]"))
}

/// Run ids (`20261130T020603-up-22735`) become `[RUN]`, durations (`(11ms)`, `in 1.2s`) become `[T]`.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // A run id: 8 digits, 'T', 6 digits, '-', a command word, '-', a pid.
        if i + 16 <= b.len()
            && b[i..i + 8].iter().all(u8::is_ascii_digit)
            && b[i + 8] == b'T'
            && b[i + 9..i + 15].iter().all(u8::is_ascii_digit)
            && b[i + 15] == b'-'
            && (i == 0 || !b[i - 1].is_ascii_digit())
        {
            let mut j = i + 16;
            while j < b.len() && b[j].is_ascii_lowercase() {
                j += 1;
            }
            if j < b.len() && b[j] == b'-' {
                let mut k = j + 1;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                if k > j + 1 {
                    out.push_str("[RUN]");
                    i = k;
                    continue;
                }
            }
        }
        // A duration: digits (with an optional fraction) followed by `ms` or `s`, not inside a word.
        if b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.')) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let unit = if text[j..].starts_with("ms") {
                2
            } else if text[j..].starts_with('s') {
                1
            } else {
                0
            };
            let end = j + unit;
            if unit > 0 && (end == b.len() || !b[end].is_ascii_alphanumeric()) {
                out.push_str("[T]");
                i = end;
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn check(name: &str, actual: &str) {
    let path = snapshot_path(name);
    if std::env::var_os("XTASK_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (XTASK_UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).position(|(a, b)| a != b);
        panic!(
            "{name} differs from {} (first differing line: {:?})\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display(),
            first.map(|l| l + 1)
        );
    }
}

#[test]
fn normalize_replaces_run_ids_and_durations_only() {
    assert_eq!(
        normalize("ok build:api (11ms) in 1.25s; runs/20261130T020603-up-22735/x 6.0 MB 3.16.2 v1.31.0 120s"),
        "ok build:api ([T]) in [T]; runs/[RUN]/x 6.0 MB 3.16.2 v1.31.0 [T]"
    );
}

#[test]
fn plan_up_is_pinned() {
    let sb = project();
    let out = sb.xtask(&["plan", "up"]).run();
    check("plan_up", &render(&sb, &out));
}

#[test]
fn plan_build_is_pinned() {
    let sb = project();
    let out = sb.xtask(&["plan", "build"]).run();
    check("plan_build", &render(&sb, &out));
}

#[test]
fn doctor_with_every_tool_is_pinned() {
    let sb = project();
    let out = sb.xtask(&["doctor"]).run();
    check("doctor", &render(&sb, &out));
}

#[test]
fn doctor_on_a_bare_machine_is_pinned() {
    let sb = project();
    let empty = sb.root.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = sb.xtask(&["doctor"]).env("PATH", &empty).run();
    check("doctor_bare", &render(&sb, &out));
    let out = sb.xtask(&["doctor", "--json"]).env("PATH", &empty).run();
    check("doctor_bare_json", &render(&sb, &out));
}

#[test]
fn doctor_with_tools_below_their_minimums_is_pinned() {
    let sb = project()
        .with_env("FAKE_HELM_VERSION", "3.10.2")
        .with_env("FAKE_MINIKUBE_VERSION", "v1.29.0")
        .with_env("FAKE_KUBECTL_VERSION", "v1.27.3");
    let out = sb.xtask(&["doctor"]).run();
    check("doctor_too_old", &render(&sb, &out));
}

/// One image over its size budget, one job so the progress lines come in one order.
#[test]
fn a_failed_size_gate_is_pinned() {
    let config = std::fs::read_to_string(fixture_path("demo/xtask.yaml")).unwrap().replacen(
        "    port: 8080\n",
        "    port: 8080\n    size_budget: { uncompressed: 5MB }\n",
        1,
    );
    assert!(config.contains("size_budget"), "the demo config changed shape: {config}");
    let sb = project().with_file("xtask.yaml", config).with_env("FAKE_IMAGE_EXTRA_BYTES", "6000000");
    let out = sb.xtask(&["build", "--jobs", "1", "--skip-gate", "vuln"]).run();
    check("gate_failed", &render(&sb, &out));
}

/// A whole `up` with one job: every progress line and the final summary.
#[test]
fn a_passing_up_and_its_summary_are_pinned() {
    let sb = project();
    let out = sb.xtask(&["up", "--jobs", "1"]).run();
    check("up_passed", &render(&sb, &out));
}
