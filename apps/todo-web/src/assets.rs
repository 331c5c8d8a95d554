//! The single-page UI, compiled into the binary so the image needs no files besides the executable.

use axum::http::{header, HeaderName};
use axum::response::IntoResponse;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");

/// Same-origin only: the UI loads nothing from elsewhere and talks only to our own /api.
const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

type Headers = [(HeaderName, &'static str); 4];

fn headers(content_type: &'static str) -> Headers {
    [
        (header::CONTENT_TYPE, content_type),
        // Revalidate every time: a new image must not be hidden behind a cached old UI.
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ]
}

pub async fn index() -> impl IntoResponse {
    (headers("text/html; charset=utf-8"), INDEX_HTML)
}

pub async fn css() -> impl IntoResponse {
    (headers("text/css; charset=utf-8"), APP_CSS)
}

pub async fn js() -> impl IntoResponse {
    (headers("text/javascript; charset=utf-8"), APP_JS)
}
