//! Probes: /health says the process is up; /ready says it can reach PostgreSQL right now.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::AppState;

const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness never touches the database: a database outage must not make Kubernetes restart healthy pods.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let conn = tokio::time::timeout(READY_TIMEOUT, state.db.conn())
        .await
        .map_err(|_| ApiError::unavailable("no database connection free within 2s"))??;
    match tokio::time::timeout(READY_TIMEOUT, conn.client.simple_query("SELECT 1")).await {
        Ok(Ok(_)) => Ok(Json(json!({ "status": "ready" }))),
        Ok(Err(e)) => {
            Err(ApiError::unavailable(format!("database unavailable: {}", todo_common::log::error_chain(&e))))
        }
        Err(_) => Err(ApiError::unavailable("database did not answer within 2s")),
    }
}
