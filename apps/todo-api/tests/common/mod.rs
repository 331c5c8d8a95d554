//! Helpers for the todo-api integration tests: todo-api started in-process on 127.0.0.1. The generic helpers
//! (HTTP client, per-test PostgreSQL schemas, the binary under test) are todo-common's `test-support`.
//! todo-web's end-to-end tests include this file too (by path), so there is one copy of it.

#![allow(dead_code)] // Each test file uses a different subset.

pub use todo_common::testing::*;

/// todo-api on an ephemeral 127.0.0.1 port, connecting to `database_url` in the background.
pub async fn start_api(database_url: &str) -> Server {
    let db = todo_api::Db::connect(database_url).expect("valid DATABASE_URL");
    Server::start(|listener, stop| todo_api::serve(listener, db, stop)).await
}

/// Starts todo-api and waits until /ready says the database (and schema) are there.
pub async fn start_api_ready(database_url: &str) -> Server {
    let server = start_api(database_url).await;
    server.wait_ready().await;
    server
}
