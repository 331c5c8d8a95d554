//! JSON error responses (`{"error": "..."}`), the same shape todo-api uses, so the UI handles one format.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such route")
}

pub async fn method_not_allowed() -> Response {
    json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}
