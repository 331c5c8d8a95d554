//! The integration tests stay one binary: a `.rs` file directly under xtask/tests/ would be a second test binary
//! that compiles and links everything again, and a file under xtask/tests/it/ without its `mod` line in main.rs
//! would never compile, so its tests would silently not run.

use std::path::Path;

use crate::support::repo;

/// The `.rs` files of a folder, by name, sorted.
fn rust_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    names.sort();
    names
}

#[test]
fn no_test_file_sits_beside_the_one_binary() {
    let stray = rust_files(&repo().join("xtask/tests"));
    assert!(
        stray.is_empty(),
        "xtask/tests/{stray:?} would each be a test binary of their own: move them to xtask/tests/it/ and add \
         `mod <name>;` to xtask/tests/it/main.rs"
    );
}

#[test]
fn every_test_module_is_declared_in_main() {
    let dir = repo().join("xtask/tests/it");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let declared: Vec<&str> = main.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
    let missing: Vec<String> = rust_files(&dir)
        .into_iter()
        .map(|n| n.trim_end_matches(".rs").to_string())
        .filter(|m| m != "main" && !declared.contains(&m.as_str()))
        .collect();
    assert!(missing.is_empty(), "xtask/tests/it/main.rs lacks `mod` lines for {missing:?}: their tests never run");
    assert!(declared.contains(&"support") && declared.len() > 30, "read {declared:?} from main.rs");
}
