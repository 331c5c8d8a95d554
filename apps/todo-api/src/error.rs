//! The API's error type: every failure becomes a status code plus a `{"error": "..."}` body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use todo_common::log;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// Maps a database error to a response. Connection-level failures are 503 (retryable, and what readiness
/// reports); anything else is logged and hidden behind a generic 500, since its text may name schema internals.
impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            None => {
                log::warn("database request failed", &[("error", log::error_chain(&e).into())]);
                ApiError::unavailable("database unavailable")
            }
            Some(code) => {
                log::error(
                    "database error",
                    &[("error", log::error_chain(&e).into()), ("sqlstate", code.code().into())],
                );
                // Class 08 (connection), 53 (resources), 57 (operator intervention, e.g. shutdown) are transient.
                let class = &code.code()[..2];
                if matches!(class, "08" | "53" | "57") {
                    ApiError::unavailable("database unavailable")
                } else {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                }
            }
        }
    }
}

/// Unknown routes: JSON like every other error.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// Safety net for the "errors are always JSON" contract: any error response that some layer produced without
/// a JSON body (e.g. a future extractor rejection) is given one.
pub async fn ensure_json(res: Response) -> Response {
    let is_json =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status().as_u16() < 400 || is_json {
        return res;
    }
    let status = res.status();
    let mut fixed = ApiError::new(status, status.canonical_reason().unwrap_or("request failed")).into_response();
    // Keep headers such as Allow on 405s.
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fixed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fixed.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    fixed
}
