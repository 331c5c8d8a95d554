//! /health and /ready, with the database up and down.

mod common;

use common::{require_postgres, start_api, start_api_ready, unreachable_db_url};

#[tokio::test]
async fn health_is_ok_even_when_the_database_is_down() {
    let server = start_api(&unreachable_db_url()).await;
    let res = server.get("/health").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), serde_json::json!({"status": "ok"}));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn ready_and_api_are_503_json_when_the_database_is_down() {
    let server = start_api(&unreachable_db_url()).await;
    // Give the supervisor time for a few failed attempts: it must keep serving meanwhile.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    server.get("/ready").await.assert_error(503);
    server.get("/api/tasks").await.assert_error(503);
    server.send("POST", "/api/tasks", Some(&serde_json::json!({"title": "x"}))).await.assert_error(503);
    // Input errors are still reported as such, before the database is needed.
    server.get("/api/tasks/abc").await.assert_error(400);
    assert_eq!(server.get("/health").await.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_ready_is_200_when_the_database_is_up() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let res = server.get("/ready").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "ready");
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_ready_recovers_after_the_connection_is_killed() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    // Kill the server's backend connection from another session, like a database restart would.
    let admin = db.admin().await;
    let killed = admin
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&db.schema])
        .await
        .unwrap();
    assert_eq!(killed, 1, "expected exactly the server's one connection");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let res = server.get("/api/tasks").await;
        if res.status == 200 {
            break;
        }
        res.assert_error(503);
        assert!(std::time::Instant::now() < deadline, "no reconnect within 15s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.shutdown().await.unwrap();
}
