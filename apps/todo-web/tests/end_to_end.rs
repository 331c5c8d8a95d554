//! The browser's path: todo-web in front of a real todo-api and PostgreSQL, all in-process.

mod common;

use common::{require_postgres, start_api_ready, start_web, Server};
use serde_json::json;

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_tasks_through_the_web_proxy() {
    let db = require_postgres!();
    let api = start_api_ready(&db.url).await;
    let web = start_web(&format!("http://{}", api.addr)).await;

    assert_eq!(web.get("/api/tasks").await.json(), json!([]));
    let res = web
        .send("POST", "/api/tasks", Some(&json!({"title": "via web", "due_date": "2030-01-31", "priority": "low"})))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let task = res.json();
    let id = task["id"].as_i64().unwrap();
    assert_eq!(res.header("location"), Some(format!("/api/tasks/{id}").as_str()));
    assert_eq!(web.get(&format!("/api/tasks/{id}")).await.json(), task);

    let second = web.send("POST", "/api/tasks", Some(&json!({"title": "second"}))).await.json();
    let patched = web.send("PATCH", &format!("/api/tasks/{id}"), Some(&json!({"priority": "high"}))).await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json()["priority"], "high");

    let done = web.send("POST", &format!("/api/tasks/{id}/complete"), None).await;
    assert_eq!(done.json()["status"], "done");
    let open = web.get("/api/tasks?status=open").await.json();
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["id"], second["id"]);
    assert_eq!(web.get("/api/tasks?status=done").await.json()[0]["id"], id);

    // The API's JSON errors come through unchanged.
    web.get("/api/tasks?status=maybe").await.assert_error(400);
    web.send_raw("POST", "/api/tasks", "application/json", b"{oops").await.assert_error(400);
    web.get("/api/tasks/not-a-number").await.assert_error(400);
    web.get("/api/tasks/999999").await.assert_error(404);
    web.get("/api/nope").await.assert_error(404);

    let deleted = web.send("DELETE", &format!("/api/tasks/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    web.get(&format!("/api/tasks/{id}")).await.assert_error(404);

    web.shutdown().await.unwrap();
    api.shutdown().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TODO_TEST_DATABASE_URL, e.g. eval \"$(scripts/ci/postgres.sh)\""]
async fn postgres_api_outage_shows_as_502_then_recovers() {
    let db = require_postgres!();
    let api = start_api_ready(&db.url).await;
    let api_addr = api.addr;
    let web = start_web(&format!("http://{api_addr}")).await;
    assert_eq!(web.get("/api/tasks").await.status, 200);
    api.shutdown().await.unwrap();
    web.get("/api/tasks").await.assert_error(502);
    // A new API instance on the same address: the proxy reconnects without a restart.
    let listener = tokio::net::TcpListener::bind(api_addr).await.unwrap();
    let db_handle = todo_api::Db::connect(&db.url).unwrap();
    let api = Server::spawn(listener, |listener, stop| todo_api::serve(listener, db_handle, stop));
    api.wait_ready().await;
    assert_eq!(web.get("/api/tasks").await.status, 200);
    web.shutdown().await.unwrap();
    api.shutdown().await.unwrap();
}
