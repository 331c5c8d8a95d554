//! Requests the API refuses get the same status through todo-web as from todo-api directly: oversize bodies
//! (announced or chunked), broken framing (Content-Length beside Transfer-Encoding), NUL in text, a body that
//! never finishes. The API runs in-process on an unreachable database: it judges these before any query.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{parse_response, unreachable_db_url, Response, Server};
use todo_common::server::Timeouts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY_TIMEOUT: Duration = Duration::from_millis(500);

fn timeouts() -> Timeouts {
    Timeouts { body: BODY_TIMEOUT, ..Timeouts::default() }
}

/// The API, and todo-web in front of it, both with a 0.5 s body timeout.
async fn api_and_web() -> (Server, Server) {
    let db = todo_api::Db::connect(&unreachable_db_url()).unwrap();
    let api = Server::start(|l, stop| todo_api::serve_with(l, db, stop, timeouts())).await;
    let backend = todo_web::Backend::new(&format!("http://{}", api.addr)).unwrap();
    let web = Server::start(|l, stop| todo_web::serve_with(l, backend, stop, timeouts())).await;
    (api, web)
}

/// Sends `head` and `body` raw while reading the answer, so a server that answers early (413) and closes is
/// heard before its reset.
async fn raw(addr: SocketAddr, head: &str, body: Vec<u8>) -> Response {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = head.replace('\n', "\r\n");
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for chunk in body.chunks(64 * 1024) {
            if wr.write_all(chunk).await.is_err() {
                return;
            }
        }
        // Keep the write side open until the answer is read: hyper's server (half_close off, its default) takes
        // a client's FIN during a request for a client gone away and drops the request.
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
            if response_complete(&raw) {
                break;
            }
        }
    })
    .await;
    writer.abort();
    assert!(read.is_ok(), "no answer within 10 s: {:?}", String::from_utf8_lossy(&raw));
    assert!(!raw.is_empty(), "the connection closed without an answer");
    parse_response(&raw)
}

fn response_complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let len = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok());
    len.is_some_and(|len: usize| raw.len() >= end + 4 + len)
}

fn chunked(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(8192) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Each case, sent to the API and to todo-web: the status must be `want` from both, with a JSON error.
async fn same_status(api: &Server, web: &Server, what: &str, head: &str, body: Vec<u8>, want: u16) {
    for (name, addr) in [("todo-api", api.addr), ("todo-web", web.addr)] {
        let res = raw(addr, head, body.clone()).await;
        assert_eq!(res.status, want, "{what} via {name}: {}", res.text());
        res.assert_error(want);
    }
}

#[tokio::test]
async fn refused_requests_get_the_api_status_through_the_proxy() {
    let (api, web) = api_and_web().await;
    let big = format!(r#"{{"title":"{}"}}"#, "a".repeat(10 * 1024 * 1024));
    let post = "POST /api/tasks HTTP/1.1\nHost: x\nContent-Type: application/json\n";

    same_status(
        &api,
        &web,
        "10 MB chunked",
        &format!("{post}Transfer-Encoding: chunked\n\n"),
        chunked(big.as_bytes()),
        413,
    )
    .await;
    same_status(
        &api,
        &web,
        "100 KiB with Content-Length",
        &format!("{post}Content-Length: {}\n\n", 100 * 1024),
        vec![b'a'; 100 * 1024],
        413,
    )
    .await;
    // RFC 9112 §6.3: with both, Transfer-Encoding wins; the body is not valid chunked data.
    let plain = br#"{"title":"x"}"#.to_vec();
    same_status(
        &api,
        &web,
        "Content-Length + Transfer-Encoding",
        &format!("{post}Content-Length: {}\nTransfer-Encoding: chunked\n\n", plain.len()),
        plain,
        400,
    )
    .await;
    let nul = br#"{"title":"a\u0000b"}"#.to_vec();
    same_status(
        &api,
        &web,
        "NUL in the title",
        &format!("{post}Content-Length: {}\nConnection: close\n\n", nul.len()),
        nul,
        400,
    )
    .await;
    let nul = br#"{"title":"ok","description":"a\u0000b"}"#.to_vec();
    same_status(
        &api,
        &web,
        "NUL in the notes",
        &format!("{post}Content-Length: {}\nConnection: close\n\n", nul.len()),
        nul,
        400,
    )
    .await;
    // 13 of 100 announced bytes, then silence: the body timeout answers 408.
    same_status(
        &api,
        &web,
        "body never finished",
        &format!("{post}Content-Length: 100\n\n"),
        br#"{"title":"ab"#.to_vec(),
        408,
    )
    .await;

    web.shutdown().await.unwrap();
    api.shutdown().await.unwrap();
}
