//! todo-api: a REST API for tasks with all state in PostgreSQL. The binary (main.rs) only reads the
//! environment; everything else lives here so tests can run the server in-process.

pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod schema;
pub mod task;
pub mod tasks;

use std::future::Future;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Router};
use todo_common::log;
use todo_common::metrics::{self, Metrics};
use todo_common::server::Timeouts;
use tokio::net::TcpListener;

pub use db::Db;

/// Request bodies are small JSON objects; anything bigger is a mistake or abuse (413). Shared with todo-web's
/// proxy, which refuses the same bodies with the same status.
pub const BODY_LIMIT: usize = todo_common::body::LIMIT;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    /// Request counts and latencies for /metrics; each server has its own.
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(db: Db) -> AppState {
        AppState { db, metrics: Metrics::new() }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics_page))
        .route("/api/tasks", get(tasks::list).post(tasks::create))
        .route("/api/tasks/{id}", get(tasks::get).patch(tasks::update).delete(tasks::delete))
        .route("/api/tasks/{id}/complete", post(tasks::complete))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::map_response(error::ensure_json))
        .layer(middleware::from_fn(log::requests))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .with_state(state)
}

/// GET /metrics: requests by route and status, latency histograms, the connection pool, RSS (Prometheus text).
async fn metrics_page(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(4096);
    state.metrics.render(&mut out);
    state.db.render_metrics(&mut out);
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], out)
}

/// Serves with the default timeouts until `shutdown` resolves, then drains (see `todo_common::server`).
pub async fn serve(
    listener: TcpListener,
    db: Db,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, db, shutdown, Timeouts::default()).await
}

/// `serve` with the header, body and drain timeouts of the configuration.
pub async fn serve_with(
    listener: TcpListener,
    db: Db,
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    let fields = [("database", db.target()), ("pool", db.pool_fields()), ("version", env!("CARGO_PKG_VERSION").into())];
    todo_common::server::serve(listener, router(AppState::new(db)), &fields, shutdown, timeouts).await
}
