//! Every /api/tasks endpoint on the happy path, against a real PostgreSQL.

mod common;

use common::{require_postgres, start_api_ready, Server};
use serde_json::{json, Value};

async fn create(server: &Server, body: Value) -> Value {
    let res = server.send("POST", "/api/tasks", Some(&body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let task = res.json();
    assert_eq!(res.header("location"), Some(format!("/api/tasks/{}", task["id"]).as_str()));
    task
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_create_with_defaults() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let t = create(&server, json!({"title": "  buy milk  "})).await;
    assert!(t["id"].as_i64().unwrap() > 0);
    assert_eq!(t["title"], "buy milk", "titles are trimmed");
    assert_eq!(t["description"], Value::Null);
    assert_eq!(t["due_date"], Value::Null);
    assert_eq!(t["priority"], "medium");
    assert_eq!(t["status"], "open");
    // RFC 3339 in UTC.
    let created = t["created_at"].as_str().unwrap();
    assert_eq!(created.len(), "2024-01-01T00:00:00.000000Z".len(), "{created}");
    assert!(created.ends_with('Z') && created.as_bytes()[10] == b'T');
    assert_eq!(t["created_at"], t["updated_at"]);
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_create_with_all_fields_and_get() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let t = create(
        &server,
        json!({"title": "taxes", "description": "form 1040", "due_date": "2024-02-29", "priority": "high"}),
    )
    .await;
    assert_eq!(t["description"], "form 1040");
    assert_eq!(t["due_date"], "2024-02-29");
    assert_eq!(t["priority"], "high");
    let got = server.get(&format!("/api/tasks/{}", t["id"])).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), t);
    // A 200-character title is the maximum, counted in characters, not bytes.
    let long = "é".repeat(200);
    assert_eq!(create(&server, json!({"title": long})).await["title"], long);
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_list_and_filter_by_status() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let empty = server.get("/api/tasks").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json(), json!([]));
    let a = create(&server, json!({"title": "a"})).await["id"].as_i64().unwrap();
    let b = create(&server, json!({"title": "b"})).await["id"].as_i64().unwrap();
    let c = create(&server, json!({"title": "c"})).await["id"].as_i64().unwrap();
    assert_eq!(server.send("POST", &format!("/api/tasks/{b}/complete"), None).await.status, 200);
    assert_eq!(ids(&server.get("/api/tasks").await.json()), vec![a, b, c]);
    assert_eq!(ids(&server.get("/api/tasks?status=open").await.json()), vec![a, c]);
    assert_eq!(ids(&server.get("/api/tasks?status=done").await.json()), vec![b]);
    // Unrelated query parameters are ignored.
    assert_eq!(ids(&server.get("/api/tasks?page=2").await.json()), vec![a, b, c]);
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_list_items_are_the_tasks_as_get_returns_them() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    // The list is built by PostgreSQL (json_agg), a single task by serde: both must give the same object.
    create(&server, json!({"title": "plain"})).await;
    let full = json!({"title": "full \"quoted\" ünïcode", "description": "line\nbreak", "due_date": "2030-02-28", "priority": "high"});
    let id = create(&server, full).await["id"].as_i64().unwrap();
    assert_eq!(server.send("POST", &format!("/api/tasks/{id}/complete"), None).await.status, 200);
    let res = server.get("/api/tasks").await;
    assert_eq!(res.header("content-type"), Some("application/json"));
    let list = res.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    for item in list.as_array().unwrap() {
        let one = server.get(&format!("/api/tasks/{}", item["id"])).await.json();
        assert_eq!(item, &one);
        // The same keys in the same order as the single task's body.
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(item), keys(&one));
    }
    let text = res.text();
    let order: Vec<usize> = [
        "\"id\"",
        "\"title\"",
        "\"description\"",
        "\"due_date\"",
        "\"priority\"",
        "\"status\"",
        "\"created_at\"",
        "\"updated_at\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap_or_else(|| panic!("no {k} in {text}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "key order in {text}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_patch_updates_only_sent_fields() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let t =
        create(&server, json!({"title": "old", "description": "d", "due_date": "2030-01-01", "priority": "low"})).await;
    let path = format!("/api/tasks/{}", t["id"]);

    let res = server.send("PATCH", &path, Some(&json!({"title": "new", "priority": "high"}))).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let u = res.json();
    assert_eq!(u["title"], "new");
    assert_eq!(u["priority"], "high");
    assert_eq!(u["description"], "d", "unsent fields are kept");
    assert_eq!(u["due_date"], "2030-01-01");
    assert_eq!(u["status"], "open");
    assert_eq!(u["created_at"], t["created_at"]);
    assert!(u["updated_at"].as_str().unwrap() > t["updated_at"].as_str().unwrap());

    // null clears the nullable fields.
    let u = server.send("PATCH", &path, Some(&json!({"description": null, "due_date": null}))).await.json();
    assert_eq!(u["description"], Value::Null);
    assert_eq!(u["due_date"], Value::Null);
    assert_eq!(u["title"], "new");

    let u = server.send("PATCH", &path, Some(&json!({"due_date": "2031-12-31"}))).await.json();
    assert_eq!(u["due_date"], "2031-12-31");

    // An empty patch changes nothing but is not an error.
    assert_eq!(server.send("PATCH", &path, Some(&json!({}))).await.json()["title"], "new");
    assert_eq!(server.get(&path).await.json()["due_date"], "2031-12-31");
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_complete_is_idempotent() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let id = create(&server, json!({"title": "x"})).await["id"].clone();
    let first = server.send("POST", &format!("/api/tasks/{id}/complete"), None).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["status"], "done");
    let again = server.send("POST", &format!("/api/tasks/{id}/complete"), None).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), first.json());
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_patch_status_reopens_a_done_task() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let id = create(&server, json!({"title": "x"})).await["id"].clone();
    let path = format!("/api/tasks/{id}");
    server.send("POST", &format!("{path}/complete"), None).await;
    let reopened = server.send("PATCH", &path, Some(&json!({"status": "open"}))).await;
    assert_eq!(reopened.status, 200, "{}", reopened.text());
    assert_eq!(reopened.json()["status"], "open");
    assert_eq!(server.get("/api/tasks?status=open").await.json().as_array().unwrap().len(), 1);
    let done = server.send("PATCH", &path, Some(&json!({"status": "done", "title": "y"}))).await.json();
    assert_eq!((done["status"].as_str(), done["title"].as_str()), (Some("done"), Some("y")));
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_delete_then_404() {
    let db = require_postgres!();
    let server = start_api_ready(&db.url).await;
    let id = create(&server, json!({"title": "x"})).await["id"].clone();
    let path = format!("/api/tasks/{id}");
    let res = server.send("DELETE", &path, None).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    server.get(&path).await.assert_error(404);
    server.send("DELETE", &path, None).await.assert_error(404);
    assert_eq!(server.get("/api/tasks").await.json(), json!([]));
    server.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_state_survives_a_restart() {
    // Stateless server: a second instance on the same database sees the same tasks.
    let db = require_postgres!();
    let first = start_api_ready(&db.url).await;
    let t = create(&first, json!({"title": "persisted"})).await;
    first.shutdown().await.unwrap();
    let second = start_api_ready(&db.url).await;
    assert_eq!(second.get(&format!("/api/tasks/{}", t["id"])).await.json(), t);
    second.shutdown().await.unwrap();
}
