//! The /api/* proxy against a fake backend: what is forwarded, what comes back, and a dead backend.

mod common;

use common::{closed_port, request, start_echo_backend, start_web};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn forwards_method_path_query_body_and_content_type() {
    let (backend, _b) = start_echo_backend().await;
    let server = start_web(&backend).await;
    for method in ["GET", "POST", "PATCH", "PUT", "DELETE"] {
        let res = server
            .send_raw(
                method,
                "/api/tasks/7/x?status=open&q=a%20b",
                "application/json; charset=utf-8",
                br#"{"title":"t"}"#,
            )
            .await;
        assert_eq!(res.status, 201, "{method}: {}", res.text());
        assert_eq!(res.header("x-echo"), Some("yes"), "backend headers come back");
        let seen = res.json();
        assert_eq!(seen["method"], method);
        assert_eq!(seen["path"], "/api/tasks/7/x");
        assert_eq!(seen["query"], "status=open&q=a%20b");
        assert_eq!(seen["content_type"], "application/json; charset=utf-8");
        assert_eq!(seen["body"], r#"{"title":"t"}"#);
        // Host names the backend, not the browser-facing web server.
        assert_eq!(seen["host"], backend.trim_start_matches("http://"));
    }
    // /api itself, and bodies without a Content-Type.
    let seen = server.get("/api").await.json();
    assert_eq!(seen["path"], "/api");
    assert_eq!(seen["content_type"], Value::Null);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn end_to_end_headers_pass_and_hop_by_hop_headers_do_not() {
    let (backend, _b) = start_echo_backend().await;
    let server = start_web(&backend).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"GET /api/tasks HTTP/1.1\r\nHost: web\r\nX-Custom: kept\r\nX-Hop: dropped\r\n\
              Connection: close, X-Hop\r\n\r\n",
        )
        .await
        .unwrap();
    let res = common::read_response(&mut stream).await;
    let seen = res.json();
    assert_eq!(seen["x_custom"], "kept");
    assert_eq!(seen["x_hop"], Value::Null);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn no_content_and_bodies_up_to_the_api_limit_pass_through() {
    let (backend, _b) = start_echo_backend().await;
    let server = start_web(&backend).await;
    let res = server.send("DELETE", "/api/empty", None).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    // Up to the API's body limit a body passes whole; above it the proxy answers the API's 413 itself.
    let at_limit = json!({"title": "x".repeat(todo_api::BODY_LIMIT - 12)});
    assert_eq!(at_limit.to_string().len(), todo_api::BODY_LIMIT);
    let res = server.send("POST", "/api/tasks", Some(&at_limit)).await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["body"].as_str().unwrap().len(), at_limit.to_string().len());
    let over = json!({"title": "x".repeat(todo_api::BODY_LIMIT)});
    let msg = server.send("POST", "/api/tasks", Some(&over)).await.assert_error(413);
    assert_eq!(msg, "request body too large");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn backend_with_a_path_prefix() {
    let (backend, _b) = start_echo_backend().await;
    let server = start_web(&format!("{backend}/prefix/")).await;
    let seen = server.get("/api/tasks?status=done").await.json();
    assert_eq!(seen["path"], "/prefix/api/tasks");
    assert_eq!(seen["query"], "status=done");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unreachable_backend_is_a_502_json_error() {
    let server = start_web(&format!("http://127.0.0.1:{}", closed_port())).await;
    for (method, path) in [("GET", "/api/tasks"), ("POST", "/api/tasks"), ("DELETE", "/api/tasks/1")] {
        let msg = server.send(method, path, Some(&json!({"title": "x"}))).await.assert_error(502);
        assert_eq!(msg, "backend unavailable");
    }
    // The UI and liveness still work.
    assert_eq!(server.get("/").await.status, 200);
    assert_eq!(server.get("/health").await.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unresolvable_backend_host_is_a_502_json_error() {
    let server = start_web("http://no-such-host.invalid:8080").await;
    server.get("/api/tasks").await.assert_error(502);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn proxied_request_in_flight_finishes_after_shutdown_is_signalled() {
    let (backend, _b) = start_echo_backend().await;
    let mut server = start_web(&backend).await;
    let addr = server.addr;
    // The fake backend holds /slow/* for 500 ms; shut down while it does.
    let pending = tokio::spawn(async move { request(addr, "GET", "/api/slow/1", None).await });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    server.signal_shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!server.task.is_finished(), "server stopped with a request in flight");
    let res = pending.await.unwrap();
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["path"], "/api/slow/1");
    server.shutdown().await.unwrap();
}
