//! The embedded single-page UI and the web server's own routes.

mod common;

use common::{closed_port, start_web, Server};

async fn web() -> Server {
    // The UI routes never call the backend, so an unreachable one is fine.
    start_web(&format!("http://127.0.0.1:{}", closed_port())).await
}

#[tokio::test]
async fn index_page_is_served_with_security_headers() {
    let server = web().await;
    let res = server.get("/").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(res.header("content-security-policy").unwrap().contains("default-src 'self'"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    let html = res.text();
    assert!(html.contains("<title>Tasks</title>"));
    assert!(html.contains(r#"src="/app.js""#) && html.contains(r#"href="/app.css""#));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn scripts_and_styles_are_served() {
    let server = web().await;
    let js = server.get("/app.js").await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(js.text().contains("/api/tasks"));
    assert!(!js.text().contains("innerHTML"), "user text must only go through textContent");
    let css = server.get("/app.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_and_json_errors_for_unknown_routes() {
    let server = web().await;
    let res = server.get("/health").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), serde_json::json!({"status": "ok"}));
    server.get("/nope").await.assert_error(404);
    server.get("/index.html").await.assert_error(404);
    server.send("POST", "/", None).await.assert_error(405);
    server.send("DELETE", "/health", None).await.assert_error(405);
    server.shutdown().await.unwrap();
}
