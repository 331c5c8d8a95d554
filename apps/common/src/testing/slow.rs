//! Misbehaving clients for the server tests: a request head that never ends (slowloris) and a half-sent request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection that sends a request head one header line every `every`, never the blank line that ends it.
/// Returns how long the connection stayed open (from connect to the server closing it), or `None` if it was still
/// open at `limit`.
pub async fn slow_header_client(addr: SocketAddr, every: Duration, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    if stream.write_all(b"GET /health HTTP/1.1\r\nHost: slow\r\n").await.is_err() {
        return Some(start.elapsed());
    }
    let mut buf = [0u8; 1024];
    let mut n = 0u32;
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                // Closed (EOF or reset), possibly after a 408 or 400 answer: either way the server let go.
                Ok(0) | Err(_) => return Some(start.elapsed()),
                Ok(_) => {}
            },
            () = tokio::time::sleep(every.min(left)) => {
                if start.elapsed() >= limit {
                    return None;
                }
                n += 1;
                if stream.write_all(format!("X-Slow-{n}: 1\r\n").as_bytes()).await.is_err() {
                    return Some(start.elapsed());
                }
            }
        }
    }
}

/// A connection holding an unfinished request head (`GET /health` without its blank line), for shutdown tests.
pub async fn half_sent_request(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    stream
}

/// The shared server checks, run against each app's real binary (`exe` with the app's own `env`).
pub mod checks {
    use std::time::{Duration, Instant};

    use super::{half_sent_request, slow_header_client};
    use crate::testing::{request, Binary};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
    }

    /// With a connection holding half a request head (and a 60 s header timeout, so only the drain can end it),
    /// SIGTERM ends the server, exit code 0, within the 1 s drain time (plus scheduling slack), and it says why.
    pub fn sigterm_with_half_sent_request_ends_within_drain(exe: &str, env: &[(&str, &str)]) {
        let mut env = env.to_vec();
        env.extend([("DRAIN_TIMEOUT_SECONDS", "1"), ("HEADER_TIMEOUT_SECONDS", "60")]);
        let bin = Binary::start(exe, &env);
        assert_eq!(bin.listening["drain_timeout_ms"], 1000, "{}", bin.listening);
        let rt = runtime();
        let _held = rt.block_on(half_sent_request(bin.addr()));
        std::thread::sleep(Duration::from_millis(200));
        let (status, lines, took) = bin.terminate_timed();
        assert_eq!(status.code(), Some(0), "{lines:#?}");
        assert!(took >= Duration::from_millis(900), "exited after {took:?}, before the drain time: {lines:#?}");
        assert!(took < Duration::from_millis(1500), "exited {took:?} after SIGTERM; drain time 1 s: {lines:#?}");
        assert!(lines.iter().any(|l| l.contains("drain time over") && l.contains(r#""open":1"#)), "{lines:#?}");
    }

    /// An idle keep-alive connection (one request served, kept open) does not hold the shutdown: the server
    /// closes it at once and exits long before its 5 s drain time.
    pub fn sigterm_closes_idle_keep_alive_at_once(exe: &str, env: &[(&str, &str)]) {
        let mut env = env.to_vec();
        env.push(("DRAIN_TIMEOUT_SECONDS", "5"));
        let bin = Binary::start(exe, &env);
        let rt = runtime();
        let _idle = rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(bin.addr()).await.unwrap();
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).await.unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&buf[..n]));
            s
        });
        let (status, lines, took) = bin.terminate_timed();
        assert_eq!(status.code(), Some(0), "{lines:#?}");
        assert!(took < Duration::from_secs(1), "an idle connection held the shutdown for {took:?}: {lines:#?}");
    }

    /// 100 connections that send one header line every 200 ms and never finish are all closed at the 1 s header
    /// timeout, while /health keeps answering. Bounded: at most 6 s, 127.0.0.1 only.
    pub fn slow_headers_are_closed_at_the_header_timeout(exe: &str, env: &[(&str, &str)]) {
        let mut env = env.to_vec();
        env.push(("HEADER_TIMEOUT_SECONDS", "1"));
        let bin = Binary::start(exe, &env);
        let addr = bin.addr();
        let rt = runtime();
        rt.block_on(async {
            let clients: Vec<_> = (0..100)
                .map(|_| tokio::spawn(slow_header_client(addr, Duration::from_millis(200), Duration::from_secs(6))))
                .collect();
            let start = Instant::now();
            let mut probes = 0;
            while start.elapsed() < Duration::from_millis(2500) {
                let res = request(addr, "GET", "/health", None).await;
                assert_eq!(res.status, 200, "/health while 100 slow clients are connected: {}", res.text());
                probes += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(probes >= 10, "only {probes} health probes in 2.5 s");
            for (i, c) in clients.into_iter().enumerate() {
                let open = c.await.unwrap().unwrap_or_else(|| panic!("slow client {i} still open after 6 s"));
                assert!(
                    open >= Duration::from_millis(900) && open < Duration::from_millis(2500),
                    "slow client {i} was closed after {open:?}; header timeout 1 s"
                );
            }
        });
        let (status, _, _) = bin.terminate_timed();
        assert_eq!(status.code(), Some(0));
    }
}
