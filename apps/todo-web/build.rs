//! Decides whether the browser suite (tests/browser.rs) runs or is counted as ignored with its reason: it runs
//! when Debian's chromium, node and the suite's npm packages (`npm ci` in e2e/) are all present, or when
//! XTASK_REQUIRE_ENGINES=1 (CI), where a missing piece must fail the test instead of hiding it.

use std::path::Path;
use std::process::{Command, Stdio};

/// The browser the suite drives (Debian's `chromium` package) unless CHROMIUM_PATH names another Chromium (e.g.
/// on a GitHub runner); the suite never downloads one.
const CHROMIUM: &str = "/usr/bin/chromium";

fn main() {
    println!("cargo:rustc-check-cfg=cfg(browser_suite)");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=XTASK_REQUIRE_ENGINES");
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rerun-if-env-changed=CHROMIUM_PATH");
    let chromium = std::env::var("CHROMIUM_PATH").ok().filter(|p| !p.is_empty()).unwrap_or(CHROMIUM.to_owned());
    let chromium = Path::new(&chromium);
    // Watch paths that exist (a missing one would make cargo rerun this script on every build): `npm ci`
    // creates e2e/node_modules, which changes e2e/'s mtime; installing chromium changes /usr/bin's.
    println!("cargo:rerun-if-changed=e2e");
    let modules = Path::new("e2e/node_modules");
    if modules.exists() {
        println!("cargo:rerun-if-changed=e2e/node_modules");
    }
    let bin_dir = chromium.parent().unwrap_or(Path::new("/"));
    if chromium.exists() {
        println!("cargo:rerun-if-changed={}", chromium.display());
    } else if bin_dir.exists() {
        println!("cargo:rerun-if-changed={}", bin_dir.display());
    }

    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let packages = ["playwright-core", "axe-core"].iter().all(|p| modules.join(p).join("package.json").exists());
    let required = std::env::var("XTASK_REQUIRE_ENGINES").is_ok_and(|v| v == "1");
    if required || (node && packages && chromium.exists()) {
        println!("cargo:rustc-cfg=browser_suite");
    }
}
