//! The browser suite: Debian's chromium, driven by playwright-core (e2e/suite.mjs), against the real todo-web and
//! todo-api binaries and a real PostgreSQL reached through a TCP proxy the suite can cut (database down and back).
//! Ignored with its reason in a plain `cargo test` like every engine test; `-- --include-ignored` runs it, and a
//! missing piece then skips it with a notice, or fails it when XTASK_REQUIRE_ENGINES=1 (CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::require_postgres;

const WEB: &str = env!("CARGO_BIN_EXE_todo-web");

#[tokio::test]
#[ignore = "needs PostgreSQL, chromium, node and the e2e npm packages: bash scripts/ci/browser.sh (docs/dev/testing.md)"]
async fn browser_suite() {
    let db = require_postgres!();
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    let chromium = std::env::var("CHROMIUM_PATH").ok().filter(|p| !p.is_empty());
    let chromium = chromium.as_deref().unwrap_or("/usr/bin/chromium");
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (Path::new(chromium).exists(), "chromium (apt-get install chromium, or set CHROMIUM_PATH)"),
        (node, "node (Node.js 18+)"),
        (
            e2e.join("node_modules/playwright-core").exists() && e2e.join("node_modules/axe-core").exists(),
            "the npm packages (npm ci in apps/todo-web/e2e)",
        ),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, what)| what)
    .collect();
    if !missing.is_empty() {
        let msg = format!("browser_suite needs {} — bash scripts/ci/browser.sh installs them", missing.join(", "));
        assert!(std::env::var("XTASK_REQUIRE_ENGINES").as_deref() != Ok("1"), "{msg} (XTASK_REQUIRE_ENGINES=1)");
        println!("skipped: {msg}");
        return;
    }
    // Built beside todo-web by `cargo test --workspace` (the README's command); `-p todo-web` alone does not.
    let api = Path::new(WEB).with_file_name(format!("todo-api{}", std::env::consts::EXE_SUFFIX));
    assert!(api.exists(), "{} is missing: run `cargo build -p todo-api` (or `cargo test --workspace`)", api.display());
    // Screenshots go where CI collects artifacts: <target>/e2e/screenshots.
    let target = PathBuf::from(WEB).parent().and_then(Path::parent).unwrap().to_path_buf();
    let shots = target.join("e2e").join("screenshots");

    let mut child = Command::new("node")
        .arg(e2e.join("suite.mjs"))
        .current_dir(&e2e)
        .env("TODO_WEB_BIN", WEB)
        .env("TODO_API_BIN", &api)
        .env("DATABASE_URL", &db.url)
        .env("SCREENSHOT_DIR", &shots)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run node");
    // Bounded: the suite itself gives up after 240 s; this is the backstop.
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser suite did not finish within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        status.success(),
        "the browser suite failed ({status}); its steps are above, screenshots in {}",
        shots.display()
    );
}
