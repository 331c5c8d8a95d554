//! Keeps the test totals honest: every test that needs an engine (Docker, PostgreSQL, Helm's engine, the CI Python
//! tools) carries `#[ignore = "needs ..."]`, so a plain `cargo test --workspace` counts it as ignored with the reason
//! instead of reporting a skipped test as passed; CI runs them with `-- --include-ignored`.

use std::path::{Path, PathBuf};

use crate::support::repo;

/// Calls that mean "this test needs an engine": the macros and probes of xtask/tests/it/support, apps/common's
/// testing module and the tests' own probes for the CI Python tools.
const ENGINE_PROBES: &[&str] = &[
    "require_postgres!",
    "require_or_skip!",
    "python_with_tools()",
    "check_jsonschema()",
    "chromium()",
    "real_client(",
    "run_workflow_checker(",
    "validate_events(",
    "needs_curl_and_tar()",
];

fn test_files() -> Vec<PathBuf> {
    let mut dirs = vec![repo().join("xtask/tests")];
    for app in std::fs::read_dir(repo().join("apps")).unwrap() {
        dirs.push(app.unwrap().path().join("tests"));
    }
    let mut files = Vec::new();
    // Recursive: the xtask's tests are modules of one binary under xtask/tests/it/ (and its support/).
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `(file:line, test name)` of each test function that calls an engine probe without an `#[ignore = "needs ..."]`.
fn unmarked(path: &Path, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("//") || t.contains("fn ") || t.starts_with("macro_rules!") {
            continue;
        }
        if !ENGINE_PROBES.iter().any(|p| t.contains(p)) {
            continue;
        }
        // The enclosing function: the nearest line above that opens an item at column 0.
        let Some(f) = (0..i).rev().find(|&j| lines[j].starts_with("fn ") || lines[j].starts_with("async fn ")) else {
            continue;
        };
        let attrs: Vec<&str> = (0..f).rev().map(|j| lines[j].trim()).take_while(|l| l.starts_with("#[")).collect();
        let is_test = attrs.iter().any(|a| *a == "#[test]" || a.starts_with("#[tokio::test"));
        let marked = attrs.iter().any(|a| a.starts_with("#[ignore = \"needs "));
        if is_test && !marked {
            out.push(format!("{}:{}: {}", path.display(), f + 1, lines[f].trim()));
        }
    }
    out.dedup();
    out
}

#[test]
fn every_engine_test_is_ignored_with_the_engine_it_needs() {
    let mut missing = Vec::new();
    let mut marked = 0;
    for file in test_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        marked += text.matches("#[ignore = \"needs ").count();
        missing.extend(unmarked(&file, &text));
    }
    assert!(
        missing.is_empty(),
        "tests that need an engine but lack `#[ignore = \"needs <engine>: <how to get it>\"]`:\n{}",
        missing.join("\n")
    );
    // The scan must see the engine tests at all: the PostgreSQL ones of the apps and the Docker ones of the xtask.
    assert!(marked >= 20, "only {marked} tests carry `#[ignore = \"needs ...\"]`; did the scan miss the files?");
}

#[test]
fn an_unmarked_engine_test_is_reported() {
    let text = "#[tokio::test]\nasync fn talks_to_db() {\n    let db = require_postgres!();\n}\n\n#[test]\n#[ignore = \"needs a Docker engine: x\"]\nfn builds() {\n    require_or_skip!(\"docker\");\n}\n";
    assert_eq!(unmarked(Path::new("t.rs"), text), vec!["t.rs:2: async fn talks_to_db() {".to_string()]);
}
