//! A server running in-process on 127.0.0.1, with graceful shutdown on demand and request shortcuts.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::http::{request, Response};
use crate::log;

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

/// The shutdown future handed to the app's `serve`: resolves on `Server::signal_shutdown` (or when the
/// `Server` is dropped).
pub struct Stop(oneshot::Receiver<()>);

impl Future for Stop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Server {
    /// Runs `serve(listener, stop)` (e.g. `todo_api::serve` with its state) on an ephemeral 127.0.0.1 port.
    pub async fn start<F>(serve: impl FnOnce(TcpListener, Stop) -> F) -> Server
    where
        F: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        Server::spawn(TcpListener::bind("127.0.0.1:0").await.unwrap(), serve)
    }

    /// Like `start`, on a listener of the caller's, e.g. one re-bound to the address of a server just stopped.
    pub fn spawn<F>(listener: TcpListener, serve: impl FnOnce(TcpListener, Stop) -> F) -> Server
    where
        F: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        quiet_logs();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, Stop(stopped)));
        Server { addr, stop: Some(stop), task }
    }

    /// Waits until /ready answers 200 (todo-api: the database and schema are there).
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let res = self.get("/ready").await;
            if res.status == 200 {
                return;
            }
            assert!(Instant::now() < deadline, "server not ready after 15s: {} {}", res.status, res.text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signals graceful shutdown and waits for the server to finish.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.signal_shutdown();
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("server did not stop within 10s")
            .expect("server task panicked")
    }

    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, None).await
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Response {
        let body = body.map(|b| b.to_string());
        request(self.addr, method, path, body.as_deref().map(|b| ("application/json", b.as_bytes()))).await
    }

    /// A request with a raw body and content type, for malformed input.
    pub async fn send_raw(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Response {
        request(self.addr, method, path, Some((content_type, body))).await
    }
}

/// The in-process servers log to stdout directly, which the test harness does not capture: keep them to
/// errors unless TODO_TEST_LOGS is set.
fn quiet_logs() {
    if std::env::var_os("TODO_TEST_LOGS").is_none() {
        log::set_level(log::Level::Error);
    }
}
