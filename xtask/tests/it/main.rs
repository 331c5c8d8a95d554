//! The xtask's integration tests as one test binary: each module is one feature's tests, `support` their shared
//! sandbox, runner and readers. One binary links once instead of once per file; run one feature with
//! `cargo test -p xtask --test it -- <module>::`.

#[macro_use]
mod support;

mod adoption;
mod ai;
mod benchmarks_doc;
mod broken_profile;
mod chart;
mod ci;
mod cli;
mod config_errors;
mod config_fuzz;
mod dev;
mod dockerignore;
mod docs;
mod doctor;
mod downloads;
mod emitted_flags;
mod engine;
mod fail_fast;
mod fake_providers;
mod fake_tools;
mod gates;
mod helm_test;
mod images;
mod init;
mod layering;
mod minikube_quirks;
mod msrv;
mod registry;
mod release;
mod reports;
mod retention;
mod robustness;
mod secrets;
mod snapshots;
mod targets;
mod test_layout;
mod test_marks;
mod tools_install;
mod trivy_gate;
mod verify;
mod verify_failures;
