//! Listening, timeouts and graceful shutdown, the same for every app: bind $HOST:$PORT, log "listening", serve
//! HTTP/1.1 with a header and a body read timeout, and on shutdown stop accepting, let in-flight requests finish,
//! close idle and half-open connections, and force-close whatever is still open when the drain time is over.
//!
//! hyper's HTTP/1 server is driven here directly instead of through `axum::serve`, which (axum 0.8) neither sets
//! hyper's header read timeout nor lets a caller close the connections left after a deadline: one client that sent
//! half a request head kept a server alive after SIGTERM until the client gave up.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::{body, log};

/// How long a client may take to send a request head and a request body, and how long shutdown waits for open
/// connections before closing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From the connection's start (or the end of the previous response) to the end of the request head. Also
    /// bounds how long an idle keep-alive connection stays open.
    pub header: Duration,
    /// From the request head to the end of its body.
    pub body: Duration,
    /// After the shutdown signal: in-flight requests get this long to finish; then every connection is closed.
    pub drain: Duration,
}

impl Default for Timeouts {
    /// 10 s each: far above what a real client needs for a request of at most 64 KiB, and the drain time stays
    /// well under Kubernetes' default 30 s grace period (see the chart's terminationGracePeriodSeconds).
    fn default() -> Self {
        Timeouts { header: Duration::from_secs(10), body: Duration::from_secs(10), drain: Duration::from_secs(10) }
    }
}

/// Binds `host`:`port`.
pub async fn listen(host: IpAddr, port: u16) -> Result<TcpListener, String> {
    let addr = SocketAddr::from((host, port));
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} — set HOST and PORT to a free address"))
}

/// Serves `app` until `shutdown` resolves, then drains (see the module docs). `fields` follow `addr` in the
/// "listening" line (the app's backend and version).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    fields: &[(&str, Value)],
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let mut line = vec![("addr", addr.to_string().into())];
    line.extend_from_slice(fields);
    line.push(("drain_timeout_ms", (timeouts.drain.as_millis() as u64).into()));
    log::info("listening", &line);

    let body_timeout = timeouts.body;
    let app = app.layer(middleware::from_fn(move |req: Request, next: Next| body_deadline(req, next, body_timeout)));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(timeouts.header);

    let (draining, drain_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // E.g. out of file descriptors: wait a little rather than spin on the error.
                        log::warn("accept failed", &[("error", e.to_string().into())]);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
                let mut drain_rx = drain_rx.clone();
                connections.spawn(async move {
                    let mut conn = pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => return,
                        _ = drain_rx.wait_for(|d| *d) => {}
                    }
                    // Closes the connection now if it is between requests, else after the current response.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                });
            }
            // Reap finished connections so the set does not grow with every connection ever served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = draining.send(true);
    let open = connections.len();
    let drained =
        tokio::time::timeout(timeouts.drain, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        // A half-sent request head or body, or a response still streaming: the drain time is the promise.
        log::warn(
            "drain time over; closing the connections still open",
            &[("open", connections.len().into()), ("drain_timeout_ms", (timeouts.drain.as_millis() as u64).into())],
        );
        connections.shutdown().await;
    }
    log::info("stopped", &[("connections_at_shutdown", open.into())]);
    Ok(())
}

/// Gives the request body a deadline (the body timeout), which `body::read` reports as a 408.
async fn body_deadline(req: Request, next: Next, timeout: Duration) -> Response {
    let (parts, b) = req.into_parts();
    next.run(Request::from_parts(parts, body::with_deadline(b, timeout))).await
}
