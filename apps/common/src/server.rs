//! Listening and graceful shutdown, the same for every app: bind 0.0.0.0:$PORT, log "listening", serve until
//! the shutdown future resolves, let in-flight requests finish, log "stopped".

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::log;

/// Binds 0.0.0.0:`port` (all interfaces: in a container the traffic arrives from outside the loopback).
pub async fn listen(port: u16) -> Result<TcpListener, String> {
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// Serves `app` until `shutdown` resolves, then stops accepting and waits for in-flight requests to finish.
/// `fields` follow `addr` in the "listening" line (the app's backend and version).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    fields: &[(&str, Value)],
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let mut line = vec![("addr", addr.to_string().into())];
    line.extend_from_slice(fields);
    log::info("listening", &line);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    log::info("stopped", &[]);
    Ok(())
}
