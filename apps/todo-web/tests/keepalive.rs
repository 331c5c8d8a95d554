//! The proxy keeps its connections to the backend alive and reuses them, instead of one TCP connection per
//! proxied request; and /metrics counts the proxied requests.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::start_web;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A backend that counts the TCP connections it accepts and answers every request on a connection with a
/// small keep-alive 200 (bodiless GETs only, which is all this test sends).
async fn counting_backend() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let body = b"[]";
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body).await.is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn sequential_proxied_requests_share_one_backend_connection() {
    let (backend, accepted) = counting_backend().await;
    let server = start_web(&backend).await;
    for i in 0..20 {
        let res = server.get("/api/tasks").await;
        assert_eq!(res.status, 200, "request {i}: {}", res.text());
        assert_eq!(res.text(), "[]");
    }
    // The browser side opened 20 connections (the test client closes each); the backend side saw one.
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "backend connections for 20 sequential requests");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_count_proxied_requests_under_the_route_template() {
    let (backend, _accepted) = counting_backend().await;
    let server = start_web(&backend).await;
    for _ in 0..3 {
        assert_eq!(server.get("/api/tasks/7").await.status, 200);
    }
    assert_eq!(server.get("/health").await.status, 200);
    let res = server.get("/metrics").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let page = res.text();
    assert!(page.contains("http_requests_total{method=\"GET\",route=\"/api/{*rest}\",status=\"200\"} 3\n"), "{page}");
    assert!(page.contains("http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1\n"), "{page}");
    assert!(page.contains("http_request_duration_seconds_count{method=\"GET\",route=\"/api/{*rest}\"} 3\n"), "{page}");
    server.shutdown().await.unwrap();
}
