//! The demo project most integration tests deploy (xtask/tests/fixtures/demo, shared with scripts/bench.sh): two
//! images, a chart whose render the fake helm returns, a cluster and a release, a secret from an env var, and
//! verify endpoints.

use super::{fixture_path, Sandbox};

/// The demo's xtask.yaml, for tests that extend or change it.
pub fn config() -> String {
    std::fs::read_to_string(fixture_path("demo/xtask.yaml")).expect("the demo config")
}

pub fn project() -> Sandbox {
    Sandbox::new().with_tree(&fixture_path("demo")).with_env("DEMO_DB_PASSWORD", "pw-for-tests-123")
}
