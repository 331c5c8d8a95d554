//! A minimal HTTP/1.1 client for verify's checks (health, the task round-trip): plain HTTP to a port-forward or a
//! NodePort, so no HTTP or TLS crate is compiled into the xtask.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends one request (`Connection: close`) and reads the whole response.
pub fn request(method: &str, url: &str, body: Option<&str>, timeout: Duration) -> Result<Response> {
    send(method, url, None, body, timeout)
}

/// A GET with another Host header than the URL's (an Ingress rule's host, reached by the node's IP).
pub fn request_with_host(method: &str, url: &str, host: &str, timeout: Duration) -> Result<Response> {
    send(method, url, Some(host).filter(|h| !h.is_empty()), None, timeout)
}

fn send(method: &str, url: &str, host: Option<&str>, body: Option<&str>, timeout: Duration) -> Result<Response> {
    // One limit for the whole exchange, and never past the calling step's deadline.
    let timeout = crate::pipeline::within_step(timeout);
    let deadline = std::time::Instant::now() + timeout;
    let left = || {
        let l = deadline.saturating_duration_since(std::time::Instant::now());
        if l.is_zero() {
            Err(anyhow!(
                "{method} {url} got no complete answer within {} (the step's time limit or the 10 s per request)",
                crate::text::fmt_duration(timeout)
            ))
        } else {
            Ok(l)
        }
    };
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow!("only http:// URLs are supported: {url}"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = hostport.to_socket_addrs().with_context(|| format!("resolving {hostport}"))?.next();
    let addr = addr.ok_or_else(|| anyhow!("{hostport} resolves to no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, left()?).with_context(|| format!("connecting to {hostport}"))?;
    s.set_write_timeout(Some(left()?))?;
    let body = body.unwrap_or("");
    let host = host.unwrap_or(hostport);
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: */*\r\n");
    if !body.is_empty() || method == "POST" || method == "PATCH" || method == "PUT" {
        req += &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    }
    req += "\r\n";
    req += body;
    s.write_all(req.as_bytes()).with_context(|| format!("sending {method} {url}"))?;
    let mut raw = vec![];
    let mut buf = [0u8; 16 * 1024];
    loop {
        s.set_read_timeout(Some(left()?))?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                left()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("reading the answer to {method} {url}")),
        }
        if crate::pipeline::exec::interrupted() {
            return Err(crate::error::Error::Interrupted.into());
        }
    }
    parse(&raw).with_context(|| format!("{method} {url}"))
}

fn parse(raw: &[u8]) -> Result<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow!("no HTTP header in the answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad status line {status_line:?}"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Response { status, body: String::from_utf8_lossy(&body).to_string() })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = vec![];
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").ok_or_else(|| anyhow!("bad chunked body"))?;
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            bail!("chunk shorter than announced");
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        let r = parse(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!((r.status, r.body.as_str()), (201, "abcde"));
        assert!(parse(b"garbage").is_err());
    }
}
