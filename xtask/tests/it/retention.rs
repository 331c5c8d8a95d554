//! Run retention: after a run, target/xtask/runs keeps the newest `runs.keep` runs and the newest failed one,
//! deletes the rest, and says which it deleted.

use crate::support;

use support::{api_image, Sandbox};

/// The one-image project with `runs` (the retention keys) in its config.
fn project(runs: &str) -> Sandbox {
    api_image::project(&api_image::config("", runs), "api binary")
}

/// Earlier runs, oldest first, as the engine leaves them: a folder named by start time with a report.json.
fn seed_runs(sb: &Sandbox, runs: &[(&str, &str)]) {
    for (name, status) in runs {
        let dir = sb.project_path(&format!("target/xtask/runs/{name}"));
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        std::fs::write(dir.join("report.json"), format!("{{\"status\":\"{status}\"}}")).unwrap();
    }
}

fn runs_left(sb: &Sandbox) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(sb.project_path("target/xtask/runs"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_run_keeps_the_newest_n_and_the_last_failed_run_and_names_what_it_pruned() {
    let sb = project("runs:\n  keep: 2\n");
    seed_runs(
        &sb,
        &[
            ("20200101T000001Z-up-11", "failed"),
            ("20200101T000002Z-up-12", "failed"),
            ("20200101T000003Z-build-13", "passed"),
            ("20200101T000004Z-build-14", "passed"),
        ],
    );
    let out = sb.xtask(&["build", "--skip-gate", "vuln"]).run();
    out.assert_success();
    out.stderr_contains(
        "pruned 2 old runs from target/xtask/runs (kept the newest 2 and the last failed run 20200101T000002Z-up-12; \
         `runs.keep` in xtask.yaml): 20200101T000001Z-up-11, 20200101T000003Z-build-13\n",
    );
    let left = runs_left(&sb);
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(left[..2], ["20200101T000002Z-up-12", "20200101T000004Z-build-14"]);
    let latest = std::fs::read_to_string(sb.project_path("target/xtask/runs/latest")).unwrap();
    assert_eq!(left[2], latest.trim(), "the run that just finished is kept");
}

#[test]
fn by_default_twenty_runs_are_kept() {
    let sb = project("");
    let old: Vec<(String, &str)> = (10..30).map(|i| (format!("20200101T0000{i}Z-build-{i}"), "passed")).collect();
    seed_runs(&sb, &old.iter().map(|(n, s)| (n.as_str(), *s)).collect::<Vec<_>>());
    let out = sb.xtask(&["build", "--skip-gate", "vuln"]).run();
    out.assert_success();
    // 20 earlier runs + this one: the oldest goes.
    out.stderr_contains("pruned 1 old run from target/xtask/runs (kept the newest 20; `runs.keep` in xtask.yaml): 20200101T000010Z-build-10\n");
    assert_eq!(runs_left(&sb).len(), 20);
    // Each further run removes the next oldest, so the folder stays at 20.
    let again = sb.xtask(&["build", "--skip-gate", "vuln"]).run();
    again.assert_success();
    again.stderr_contains("(kept the newest 20; `runs.keep` in xtask.yaml): 20200101T000011Z-build-11\n");
    assert_eq!(runs_left(&sb).len(), 20);
}

#[test]
fn keep_zero_is_a_config_error() {
    let sb = project("runs:\n  keep: 0\n");
    let out = sb.xtask(&["build", "--skip-gate", "vuln"]).run();
    out.assert_code(2);
    out.stderr_contains("runs.keep is 0, but the run that just finished is always kept");
}
