//! Bad input of every kind gets a 4xx with a JSON `{"error": ...}` body, never a 500.

mod common;

use common::{require_postgres, start_api, start_api_ready, Server};
use serde_json::json;

/// A server on a real database with one task in it, whose id is returned.
async fn server_with_task(db: &common::TestDb) -> (Server, i64) {
    let server = start_api_ready(&db.url).await;
    let res = server.send("POST", "/api/tasks", Some(&json!({"title": "t"}))).await;
    assert_eq!(res.status, 201);
    let id = res.json()["id"].as_i64().unwrap();
    (server, id)
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_create_rejects_invalid_fields() {
    let db = require_postgres!();
    let (server, _) = server_with_task(&db).await;
    let cases = [
        (json!({}), "missing title"),
        (json!({"title": ""}), "empty title"),
        (json!({"title": "   "}), "blank title"),
        (json!({"title": "x".repeat(201)}), "title over 200 chars"),
        (json!({"title": null}), "null title"),
        (json!({"title": 5}), "number title"),
        (json!({"title": ["a"]}), "array title"),
        (json!({"title": "t", "priority": "urgent"}), "unknown priority"),
        (json!({"title": "t", "priority": "HIGH"}), "priority is case-sensitive"),
        (json!({"title": "t", "priority": 1}), "number priority"),
        (json!({"title": "t", "due_date": "2023-02-29"}), "no such day"),
        (json!({"title": "t", "due_date": "2024-13-01"}), "no such month"),
        (json!({"title": "t", "due_date": "01/02/2024"}), "wrong date format"),
        (json!({"title": "t", "due_date": "2024-01-01T10:00:00Z"}), "timestamp, not date"),
        (json!({"title": "t", "due_date": 20240101}), "number date"),
        (json!({"title": "t", "description": 7}), "number description"),
        (json!({"title": "t", "description": "d".repeat(2001)}), "description too long"),
        (json!({"title": "t", "status": "done"}), "status is not set on create"),
        (json!({"title": "a\u{0}b"}), "NUL in the title (PostgreSQL text cannot hold it)"),
        (json!({"title": "t", "description": "\u{0}"}), "NUL in the notes"),
        (json!(["title"]), "array body"),
        (json!("title"), "string body"),
    ];
    for (body, why) in cases {
        let res = server.send("POST", "/api/tasks", Some(&body)).await;
        assert_eq!(res.status, 400, "{why}: {}", res.text());
        res.assert_error(400);
    }
    // Nothing invalid was stored.
    assert_eq!(server.get("/api/tasks").await.json().as_array().unwrap().len(), 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_malformed_bodies() {
    let db = require_postgres!();
    let (server, id) = server_with_task(&db).await;
    let patch = format!("/api/tasks/{id}");
    for path in ["/api/tasks", patch.as_str()] {
        let method = if path == "/api/tasks" { "POST" } else { "PATCH" };
        for body in [&b"{"[..], b"{\"title\": }", b"not json", b"", b"\xff\xfe", b"{\"title\":\"a\"} trailing"] {
            let res = server.send_raw(method, path, "application/json", body).await;
            let msg = res.assert_error(400);
            assert!(!msg.is_empty());
        }
        // Wrong content type.
        server.send_raw(method, path, "text/plain", br#"{"title":"a"}"#).await.assert_error(415);
        server.send_raw(method, path, "application/x-www-form-urlencoded", b"title=a").await.assert_error(415);
        // Oversize body (limit 64 KiB).
        let big = format!(r#"{{"title":"{}"}}"#, "a".repeat(100 * 1024));
        server.send_raw(method, path, "application/json", big.as_bytes()).await.assert_error(413);
    }
    // `application/json; charset=utf-8` is JSON too.
    let res = server.send_raw("POST", "/api/tasks", "application/json; charset=utf-8", br#"{"title":"ok"}"#).await;
    assert_eq!(res.status, 201);
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_patch_rejects_invalid_fields() {
    let db = require_postgres!();
    let (server, id) = server_with_task(&db).await;
    let path = format!("/api/tasks/{id}");
    for body in [
        json!({"title": null}),
        json!({"title": ""}),
        json!({"title": "x".repeat(201)}),
        json!({"priority": null}),
        json!({"priority": "urgent"}),
        json!({"due_date": "2024-02-30"}),
        json!({"due_date": false}),
        json!({"status": "maybe"}),
        json!({"status": null}),
        json!({"title": "a\u{0}b"}),
        json!({"description": "a\u{0}b"}),
        json!({"id": 99}),
        json!([]),
    ] {
        server.send("PATCH", &path, Some(&body)).await.assert_error(400);
    }
    assert_eq!(server.get(&path).await.json()["title"], "t", "task unchanged");
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_bad_and_unknown_ids() {
    let db = require_postgres!();
    let (server, id) = server_with_task(&db).await;
    let patch = Some(json!({"title": "x"}));
    for (method, suffix, body) in
        [("GET", "", None), ("PATCH", "", patch.as_ref()), ("DELETE", "", None), ("POST", "/complete", None)]
    {
        for bad in ["abc", "1.5", "-", "99999999999999999999", "1e3", "%20"] {
            server.send(method, &format!("/api/tasks/{bad}{suffix}"), body).await.assert_error(400);
        }
        for unknown in [id + 1000, 0, -1, i64::MAX] {
            server.send(method, &format!("/api/tasks/{unknown}{suffix}"), body).await.assert_error(404);
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_bad_status_filter() {
    let db = require_postgres!();
    let (server, _) = server_with_task(&db).await;
    for q in ["status=all", "status=", "status=OPEN", "status=open&status=done"] {
        server.get(&format!("/api/tasks?{q}")).await.assert_error(400);
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    // Routing errors happen before any database access, so no database is needed.
    let server = start_api(&common::unreachable_db_url()).await;
    server.get("/nope").await.assert_error(404);
    server.get("/api/tasks/1/nope").await.assert_error(404);
    server.get("/").await.assert_error(404);
    let res = server.send("PUT", "/api/tasks/1", Some(&json!({}))).await;
    res.assert_error(405);
    assert!(res.header("allow").unwrap_or("").contains("PATCH"));
    server.send("DELETE", "/api/tasks", None).await.assert_error(405);
    server.send("GET", "/api/tasks/1/complete", None).await.assert_error(405);
    server.send("POST", "/health", None).await.assert_error(405);
    server.shutdown().await.unwrap();
}
