//! todo-web: serves the single-page task UI and proxies `/api/*` to todo-api. The binary (main.rs) only
//! reads the environment; everything else lives here so tests can run the server in-process.

pub mod assets;
pub mod config;
pub mod error;
pub mod proxy;

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{middleware, Json, Router};
use serde_json::{json, Value};
use todo_common::log;
use todo_common::metrics::{self, Metrics};
use todo_common::server::Timeouts;
use tokio::net::TcpListener;

pub use proxy::Backend;

#[derive(Clone, Debug)]
pub struct AppState {
    pub backend: Backend,
    /// Request counts and latencies for /metrics; each server has its own.
    pub metrics: Arc<Metrics>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/app.css", get(assets::css))
        .route("/app.js", get(assets::js))
        .route("/health", get(health))
        .route("/metrics", get(metrics_page))
        .route("/api", any(proxy::forward))
        .route("/api/{*rest}", any(proxy::forward))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn(log::requests))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .with_state(state)
}

/// GET /metrics: requests by route and status (proxied ones under `/api/{*rest}`), latencies, RSS.
async fn metrics_page(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(2048);
    state.metrics.render(&mut out);
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], out)
}

/// Liveness only: it does not call the backend, so an API outage does not restart the web pods.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Serves with the default timeouts until `shutdown` resolves, then drains (see `todo_common::server`).
pub async fn serve(
    listener: TcpListener,
    backend: Backend,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, backend, shutdown, Timeouts::default()).await
}

/// `serve` with the header, body and drain timeouts of the configuration.
pub async fn serve_with(
    listener: TcpListener,
    backend: Backend,
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    let fields = [("backend", backend.url().into()), ("version", env!("CARGO_PKG_VERSION").into())];
    todo_common::server::serve(
        listener,
        router(AppState { backend, metrics: Metrics::new() }),
        &fields,
        shutdown,
        timeouts,
    )
    .await
}
