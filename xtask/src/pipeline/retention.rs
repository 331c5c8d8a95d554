//! Run retention: after each run, target/xtask/runs/ keeps the newest `runs.keep` run folders plus the newest
//! failed one (the report someone is most likely to come back for), and the rest are deleted and named.
//!
//! Without it the folder only grew (248 runs, 16 MB in one checkout; one `up` of 64 images leaves 1.5 MB).
//! Run ids start with the UTC start time (`20261129T233429Z-up-<pid>`), so name order is start order.

use std::path::{Path, PathBuf};

/// What a prune removed, for the one line the run prints about it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub removed: Vec<String>,
    pub kept: usize,
    /// The newest failed run, when it is older than the `keep` newest and kept because it failed.
    pub kept_failed: Option<String>,
    /// Folders that could not be deleted, with the reason.
    pub errors: Vec<String>,
}

impl Pruned {
    /// `pruned 3 old runs (kept the newest 20 and the last failed run X): A, B, C`; long lists are shortened to
    /// their oldest and newest names.
    pub fn describe(&self, keep: usize) -> String {
        let names = match self.removed.as_slice() {
            [] => String::new(),
            few @ [_] | few @ [_, _] | few @ [_, _, _] => few.join(", "),
            [first, .., last] => format!("{first} … {last}"),
        };
        let failed = match &self.kept_failed {
            Some(f) => format!(" and the last failed run {f}"),
            None => String::new(),
        };
        let runs = if self.removed.len() == 1 { "run" } else { "runs" };
        format!(
            "pruned {} old {runs} from target/xtask/runs (kept the newest {keep}{failed}; `runs.keep` in xtask.yaml): {names}",
            self.removed.len()
        )
    }
}

/// The file in the runs folder naming the newest failed run, so that pruning reads no reports (reading every
/// kept run's report.json was a tenth of a no-op `cargo xtask build`).
pub const LAST_FAILED: &str = "last-failed";

/// Notes `run_id` as the newest failed run (`""`: none).
pub fn note_failed(runs_dir: &Path, run_id: &str) -> anyhow::Result<()> {
    crate::files::write_atomic(&runs_dir.join(LAST_FAILED), run_id.as_bytes())
}

/// The run's status from its report.json (`passed`, `failed`, `interrupted`), `None` without a readable one.
fn status(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("report.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("status")?.as_str().map(str::to_owned)
}

/// Deletes all but the newest `keep` run folders of `runs_dir` and the newest failed one. `current` (the run
/// that just finished) is never deleted, whatever its position. Files (`latest`) are left alone.
pub fn prune(runs_dir: &Path, keep: usize, current: &Path) -> std::io::Result<Pruned> {
    let mut runs: Vec<(String, PathBuf)> = std::fs::read_dir(runs_dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    // Newest first.
    runs.sort_by(|a, b| b.0.cmp(&a.0));
    let mut out = Pruned::default();
    if runs.len() <= keep {
        out.kept = runs.len();
        return Ok(out);
    }
    let last_failed = match std::fs::read_to_string(runs_dir.join(LAST_FAILED)) {
        Ok(name) => runs.iter().position(|(n, _)| *n == name.trim()),
        // Runs from before the file: the reports say, once; the file (empty when none failed) spares the next
        // prune from reading them.
        Err(_) => {
            let found = runs.iter().position(|(_, p)| status(p).as_deref() == Some("failed"));
            let _ = note_failed(runs_dir, found.map_or("", |i| runs[i].0.as_str()));
            found
        }
    };
    for (i, (name, path)) in runs.iter().enumerate() {
        if i < keep || path == current {
            out.kept += 1;
        } else if Some(i) == last_failed {
            out.kept += 1;
            out.kept_failed = Some(name.clone());
        } else {
            match std::fs::remove_dir_all(path) {
                Ok(()) => out.removed.push(name.clone()),
                Err(e) => out.errors.push(format!("{name}: {e}")),
            }
        }
    }
    // Oldest first reads better in the message.
    out.removed.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, name: &str, status: Option<&str>) {
        let d = dir.join(name);
        std::fs::create_dir_all(d.join("logs")).unwrap();
        if let Some(s) = status {
            std::fs::write(d.join("report.json"), format!("{{\"status\":\"{s}\"}}")).unwrap();
        }
    }

    fn left(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn keeps_the_newest_n_and_the_last_failed_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        run(dir, "20260101T000001Z-up-1", Some("failed"));
        run(dir, "20260101T000002Z-up-2", Some("failed"));
        run(dir, "20260101T000003Z-up-3", Some("passed"));
        run(dir, "20260101T000004Z-build-4", None);
        run(dir, "20260101T000005Z-up-5", Some("interrupted"));
        run(dir, "20260101T000006Z-up-6", Some("passed"));
        std::fs::write(dir.join("latest"), "20260101T000006Z-up-6").unwrap();
        let p = prune(dir, 2, &dir.join("20260101T000006Z-up-6")).unwrap();
        assert_eq!(p.removed, ["20260101T000001Z-up-1", "20260101T000003Z-up-3", "20260101T000004Z-build-4"]);
        assert_eq!(p.kept_failed.as_deref(), Some("20260101T000002Z-up-2"));
        assert_eq!(p.kept, 3);
        assert_eq!(
            left(dir),
            ["20260101T000002Z-up-2", "20260101T000005Z-up-5", "20260101T000006Z-up-6", "last-failed", "latest"]
        );
        assert_eq!(
            p.describe(2),
            "pruned 3 old runs from target/xtask/runs (kept the newest 2 and the last failed run \
             20260101T000002Z-up-2; `runs.keep` in xtask.yaml): 20260101T000001Z-up-1, 20260101T000003Z-up-3, \
             20260101T000004Z-build-4"
        );
    }

    #[test]
    fn a_failed_run_among_the_newest_needs_no_extra_slot() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for i in 1..=5 {
            run(dir, &format!("2026010{i}T000000Z-up-{i}"), Some(if i == 5 { "failed" } else { "passed" }));
        }
        let p = prune(dir, 2, &dir.join("20260105T000000Z-up-5")).unwrap();
        assert_eq!(p.kept_failed, None);
        assert_eq!(p.removed.len(), 3);
        assert_eq!(
            p.describe(2).split(": ").nth(1),
            Some("20260101T000000Z-up-1, 20260102T000000Z-up-2, 20260103T000000Z-up-3")
        );
        // Nothing over the limit: nothing to do.
        assert_eq!(prune(dir, 2, &dir.join("x")).unwrap().removed, Vec::<String>::new());
    }

    #[test]
    fn the_last_failed_file_names_the_failed_run_without_reading_reports() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // No report says "failed" (one even says "passed"): the file is what counts.
        run(dir, "20260101T000001Z-up-1", Some("passed"));
        for i in 2..=4 {
            run(dir, &format!("20260101T00000{i}Z-up-{i}"), None);
        }
        note_failed(dir, "20260101T000001Z-up-1").unwrap();
        let p = prune(dir, 2, &dir.join("20260101T000004Z-up-4")).unwrap();
        assert_eq!(p.kept_failed.as_deref(), Some("20260101T000001Z-up-1"));
        assert_eq!(p.removed, ["20260101T000002Z-up-2"]);
        assert_eq!(
            left(dir),
            ["20260101T000001Z-up-1", "20260101T000003Z-up-3", "20260101T000004Z-up-4", "last-failed"]
        );
    }

    #[test]
    fn long_lists_name_the_oldest_and_newest() {
        let p = Pruned { removed: vec!["a".into(), "b".into(), "c".into(), "d".into()], ..Pruned::default() };
        assert!(
            p.describe(20).ends_with("(kept the newest 20; `runs.keep` in xtask.yaml): a … d"),
            "{}",
            p.describe(20)
        );
    }
}
