//! Helpers for the todo-web integration tests: todo-web (and a fake backend) started in-process on
//! 127.0.0.1. The generic helpers are todo-common's `test-support`; starting the real API is todo-api's test
//! helper, included by path to keep one copy.

#![allow(dead_code)] // Each test file uses a different subset.

#[path = "../../../todo-api/tests/common/mod.rs"]
mod api;

pub use api::*;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;

/// todo-web on an ephemeral 127.0.0.1 port, proxying to `backend_url`.
pub async fn start_web(backend_url: &str) -> Server {
    let backend = todo_web::Backend::new(backend_url).expect("valid BACKEND_URL");
    Server::start(|listener, stop| todo_web::serve(listener, backend, stop)).await
}

/// A backend that answers every request with 201, an `x-echo` header and a JSON description of what it
/// received; paths containing `/slow/` wait 500 ms first; paths ending in `/empty` get a 204.
pub async fn start_echo_backend() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(echo);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

async fn echo(req: Request) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    if parts.uri.path().contains("/slow/") {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    if parts.uri.path().ends_with("/empty") {
        return StatusCode::NO_CONTENT.into_response();
    }
    let header = |h: &HeaderMap, name: &str| h.get(name).map(|v| v.to_str().unwrap_or("").to_owned());
    let described = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "content_type": header(&parts.headers, "content-type"),
        "host": header(&parts.headers, "host"),
        "x_custom": header(&parts.headers, "x-custom"),
        "x_hop": header(&parts.headers, "x-hop"),
        "body": String::from_utf8_lossy(&body),
    });
    (StatusCode::CREATED, [("x-echo", "yes"), ("content-type", "application/json")], described.to_string())
        .into_response()
}
