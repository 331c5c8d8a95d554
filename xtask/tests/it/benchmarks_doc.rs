//! docs/benchmarks.md's figures come from `scripts/bench.sh --write-doc`, not from hand edits: the figures block
//! has exactly the line formats scripts/bench_pairs.py and bench.sh print, every comparison the issue asks for is
//! there with a verdict, and its last line is the sha256 digest of the lines above it, as bench.sh computes it.

use crate::support::repo;
use std::process::Command;

use sha2::{Digest, Sha256};

const BEGIN: &str = "<!-- figures: begin (bash scripts/bench.sh --write-doc) -->";
const END: &str = "<!-- figures: end -->";

/// The lines of the figures block (inside its ```text fence).
fn figures_block(doc: &str) -> Vec<String> {
    let start = doc.find(BEGIN).unwrap_or_else(|| panic!("docs/benchmarks.md has no `{BEGIN}` marker"));
    let rest = &doc[start + BEGIN.len()..];
    let end = rest.find(END).unwrap_or_else(|| panic!("docs/benchmarks.md has no `{END}` marker"));
    let inner = rest[..end].trim();
    let body = inner
        .strip_prefix("```text")
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or_else(|| panic!("the figures block is not one ```text fence:\n{inner}"));
    body.trim().lines().map(str::to_owned).collect()
}

fn is_number(s: &str) -> bool {
    s == "nan" || s.parse::<f64>().is_ok()
}

/// `a / b / c` of numbers (min / median / max).
fn is_triple(s: &str) -> bool {
    let parts: Vec<&str> = s.split(" / ").collect();
    parts.len() == 3 && parts.iter().all(|p| is_number(p))
}

/// `<label>: <unit> <triple>[, <figure> <triple>]...` as bench_pairs.py's `describe` prints it.
fn is_side(s: &str) -> bool {
    let Some((label, figures)) = s.rsplit_once(": ") else { return false };
    !label.trim().is_empty()
        && figures.split(", ").all(|f| {
            let words: Vec<&str> = f.splitn(2, " / ").collect();
            // "<unit words> <number>" before the first " / ".
            let Some((unit, first)) = words[0].rsplit_once(' ') else { return false };
            !unit.is_empty() && is_triple(&format!("{first} / {}", words.get(1).unwrap_or(&"")))
        })
}

fn is_ci(s: &str) -> bool {
    s.strip_prefix("CI95 ").and_then(|r| r.split_once(" - ")).is_some_and(|(a, b)| is_number(a) && is_number(b))
}

fn is_load(s: &str) -> bool {
    s.strip_prefix("load ").and_then(|r| r.split_once(" -> ")).is_some_and(|(a, b)| is_number(a) && is_number(b))
}

fn is_verdict(s: &str) -> bool {
    matches!(s, "met" | "not met" | "missed" | "-")
}

fn is_target(s: &str, prefix: &str, suffix: &str) -> bool {
    let Some(t) = s.strip_prefix("target ") else { return false };
    if t == "-" {
        return true;
    }
    let Some(t) = t.strip_prefix(prefix).and_then(|t| t.strip_suffix(suffix)) else { return false };
    let Some((op, n)) = t.split_once(' ') else { return false };
    matches!(op, "<=" | ">=" | "<" | ">") && is_number(n)
}

/// Why `line` is not in one of the script's formats, or None when it is.
fn bad_line(line: &str) -> Option<&'static str> {
    let f: Vec<&str> = line.split(" | ").collect();
    let ok = match f[0] {
        "bench" => f.len() == 5 && f[1] == "scripts/bench.sh" && f[2].starts_with("commit ") && f[3].ends_with('Z'),
        "machine" => f.len() >= 3 && f.last().unwrap().starts_with("load "),
        "count" => f.len() == 5 && f[3].starts_with("target ") && is_verdict(f[4]),
        "measure" => {
            f.len() == 8
                && is_side(f[2])
                && is_ci(f[3])
                && f[4].strip_prefix("runs ").is_some_and(|n| n.parse::<u32>().is_ok())
                && is_target(f[5], "median cpu ", " ms")
                && is_verdict(f[6])
                && is_load(f[7])
        }
        "compare" => {
            f.len() == 10
                && f[2].strip_prefix("A ").is_some_and(is_side)
                && f[3].strip_prefix("B ").is_some_and(is_side)
                && f[4].strip_prefix("A/B ").is_some_and(is_triple)
                && is_ci(f[5])
                && f[6].strip_prefix("pairs ").is_some_and(|n| n.parse::<u32>().is_ok())
                && is_target(f[7], "A/B ", "")
                && is_verdict(f[8])
                && is_load(f[9])
        }
        _ => return Some("unknown line kind"),
    };
    (!ok).then_some("fields do not match the script's format")
}

fn check_block(lines: &[String]) -> Vec<String> {
    let mut errors = vec![];
    let Some((digest, body)) = lines.split_last() else { return vec!["the figures block is empty".into()] };
    let hex: String = Sha256::digest(body.join("\n").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let want = format!("digest | sha256 {hex}");
    if *digest != want {
        errors.push(format!(
            "the last line is not the digest of the lines above (edited by hand?): got `{digest}`, the lines give `{want}` \
             — regenerate with `bash scripts/bench.sh --write-doc`"
        ));
    }
    if !body.first().is_some_and(|l| l.starts_with("bench | ")) {
        errors.push("the block does not start with bench.sh's `bench | ...` line".into());
    }
    for (i, line) in body.iter().enumerate() {
        if let Some(why) = bad_line(line) {
            errors.push(format!("figures line {}: {why}: {line}", i + 1));
        }
    }
    errors
}

#[test]
fn the_figures_block_is_bench_sh_output_with_every_comparison() {
    let doc = std::fs::read_to_string(repo().join("docs/benchmarks.md")).unwrap();
    let lines = figures_block(&doc);
    let mut errors = check_block(&lines);
    for needed in [
        "compare | no-op cargo xtask build vs docker build x2 cached, parallel |",
        "compare | GET /api/tasks, 100 connections,",
        "compare | POST /api/tasks, 100 connections,",
        "count | tool calls per no-op xtask up (fakes) |",
    ] {
        if !lines.iter().any(|l| l.starts_with(needed)) {
            errors.push(format!("no `{needed}...` line: run the whole benchmark (no --skip) with --write-doc"));
        }
    }
    assert!(errors.is_empty(), "docs/benchmarks.md's figures block:\n  {}", errors.join("\n  "));
}

#[test]
fn a_hand_edit_is_caught() {
    let doc = std::fs::read_to_string(repo().join("docs/benchmarks.md")).unwrap();
    let mut lines = figures_block(&doc);
    let i = lines.iter().position(|l| l.starts_with("compare | ")).expect("a compare line");
    lines[i] =
        lines[i].replacen("| missed |", "| met |", 1).replacen("| not met |", "| met |", 1).replacen(" / ", " / 1", 1);
    assert!(check_block(&lines).iter().any(|e| e.contains("digest")), "an edited figure passed the check");
    assert_eq!(bad_line("compare | x | A a: ms 1 / 2 | B b: ms 1 / 2 / 3 | A/B 1 / 1 / 1 | CI95 1 - 1 | pairs 3 | target - | met | load 1 -> 1"), Some("fields do not match the script's format"));
}

#[test]
#[ignore = "needs python3: apt-get install -y python3"]
fn bench_pairs_py_prints_the_checked_formats() {
    let script = repo().join("scripts/bench_pairs.py");
    let run = |args: &[&str]| {
        let out = Command::new("python3").arg(&script).args(args).output().expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let compare = run(&[
        "compare",
        "--name",
        "true vs true",
        "--a-label",
        "a",
        "--a",
        "[\"true\"]",
        "--b-label",
        "b",
        "--b",
        "[\"true\"]",
        "--pairs",
        "3",
        "--max-pairs",
        "3",
        "--warmup",
        "0",
        "--a-per",
        "4",
        "--target",
        "<= 5",
    ]);
    let measure = run(&[
        "measure",
        "--name",
        "true",
        "--label",
        "true",
        "--cmd",
        "[\"true\"]",
        "--runs",
        "3",
        "--target",
        "< 1000",
    ]);
    assert_eq!(bad_line(&compare), None, "{compare}");
    assert_eq!(bad_line(&measure), None, "{measure}");
    assert!(measure.contains("| met |"), "{measure}");
    // The digest the script appends is the one the doc test recomputes.
    let dir = tempfile::tempdir().unwrap();
    let body = vec![
        "bench | scripts/bench.sh | commit abc | 2026-01-01T00:00Z | xtask debug build".to_string(),
        compare,
        measure,
    ];
    std::fs::write(dir.path().join("block.txt"), body.join("\n") + "\n").unwrap();
    let digest = run(&["digest", dir.path().join("block.txt").to_str().unwrap()]);
    let mut lines = body;
    lines.push(digest);
    assert_eq!(check_block(&lines), Vec::<String>::new());
}
