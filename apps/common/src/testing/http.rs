//! A tiny HTTP/1.1 client: one request per connection, the whole response read into memory.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts a client error with the `{"error": "..."}` body every failure must have; returns the message.
    #[track_caller]
    pub fn assert_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert!(
            self.header("content-type").unwrap_or("").starts_with("application/json"),
            "content-type {:?}",
            self.header("content-type")
        );
        let msg = self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no \"error\" string in {}", self.text()))
            .to_owned();
        assert!(!msg.is_empty());
        msg
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`, so the body ends at EOF or per headers).
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Response {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((ct, b)) = body {
        head.push_str(&format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    if let Some((_, b)) = body {
        // The server may answer (413) and close before reading a big body: ignore write errors.
        let _ = stream.write_all(b).await;
    }
    read_response(&mut stream).await
}

/// Reads a whole response; understands Content-Length, chunked, and read-to-EOF bodies.
pub async fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                // A reset after the full response (server closed with unread request body) is fine.
                Err(_) => break,
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no complete response within 20s");
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        let len: usize = len.parse().unwrap();
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        data = &data[eol + 2..];
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
