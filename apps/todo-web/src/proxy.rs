//! Forwards `/api/*` to the backend named by BACKEND_URL: method, path, query, headers and body. The request
//! body is read first, with the API's own size limit and the body timeout (`todo_common::body`), so a body the
//! API would refuse gets the API's status here too (413, 400, 408) instead of a 502 from a backend that hung up
//! mid-upload. Responses stream back. An unreachable backend is a 502 JSON error, a slow one a 504.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::uri::{Authority, Scheme};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use todo_common::{body as request_body, log};

use crate::error::json_error;
use crate::AppState;

/// Until the backend's response headers arrive; the API's own query timeout is 5 s.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle keep-alive connections kept to the backend: enough for a burst of concurrent proxied requests.
const MAX_IDLE_PER_BACKEND: usize = 64;

/// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not be forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
];

#[derive(Clone, Debug)]
pub struct Backend {
    scheme: Scheme,
    authority: Authority,
    /// Path prefix of BACKEND_URL without its trailing slash ("" for `http://todo-api:8080`).
    prefix: String,
    client: Client<HttpConnector, Body>,
}

impl Backend {
    /// Accepts `http://host[:port][/prefix]`. Plain HTTP only: the backend is cluster-internal and TLS
    /// would bring a TLS stack into a binary that must stay small and static.
    pub fn new(url: &str) -> Result<Backend, String> {
        let bad = |why: &str| format!("BACKEND_URL {url:?} is not usable: {why}");
        let uri: Uri = url.trim().parse().map_err(|e| bad(&format!("{e}")))?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(bad("it must start with http://"));
        }
        let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        if uri.query().is_some() {
            return Err(bad("it must not have a query string"));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        // Keep-alive pool: a connection to the backend is reused by later requests instead of a TCP handshake
        // per request (tests/keepalive.rs counts them). Idle ones are bounded in number (hyper-util's default
        // is unbounded) and closed after 30 s, below the API server's own idle limit.
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(MAX_IDLE_PER_BACKEND)
            .build(connector);
        Ok(Backend { scheme: Scheme::HTTP, authority, prefix: uri.path().trim_end_matches('/').to_owned(), client })
    }

    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }

    fn target(&self, uri: &Uri) -> Result<Uri, axum::http::Error> {
        let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{path_and_query}", self.prefix))
            .build()
    }
}

pub async fn forward(State(state): State<AppState>, req: Request) -> Response {
    let backend = &state.backend;
    let (parts, body) = req.into_parts();
    let target = match backend.target(&parts.uri) {
        Ok(t) => t,
        Err(_) => return json_error(StatusCode::BAD_REQUEST, "invalid request path"),
    };
    let body = match request_body::read(body, request_body::LIMIT).await {
        Ok(b) => b,
        Err(e) => return json_error(e.status(), &e.message()),
    };
    let mut out = axum::http::Request::new(Body::empty());
    *out.method_mut() = parts.method;
    *out.uri_mut() = target;
    *out.headers_mut() = strip_hop_by_hop(parts.headers);
    // The body is whole now: its length replaces whatever framing the client used (chunked, or a Content-Length
    // sent beside Transfer-Encoding, which RFC 9112 §6.3 says to ignore).
    out.headers_mut().remove(header::CONTENT_LENGTH);
    if !body.is_empty() {
        out.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    *out.body_mut() = Body::from(body);
    // The client sets Host from the target URI; the browser's Host names us, not the backend.
    out.headers_mut().remove(header::HOST);

    match tokio::time::timeout(RESPONSE_TIMEOUT, backend.client.request(out)).await {
        Ok(Ok(res)) => {
            let (mut parts, body) = res.into_parts();
            parts.headers = strip_hop_by_hop(parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Ok(Err(e)) => {
            log::warn(
                "backend request failed",
                &[("backend", backend.url().into()), ("error", log::error_chain(&e).into())],
            );
            json_error(StatusCode::BAD_GATEWAY, "backend unavailable")
        }
        Err(_) => {
            log::warn(
                "backend timed out",
                &[("backend", backend.url().into()), ("timeout_ms", (RESPONSE_TIMEOUT.as_millis() as u64).into())],
            );
            json_error(StatusCode::GATEWAY_TIMEOUT, "backend timed out")
        }
    }
}

fn strip_hop_by_hop(mut headers: HeaderMap) -> HeaderMap {
    // Headers named in Connection are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    // An Upgrade (e.g. WebSocket) cannot be proxied by this forwarder.
    headers.remove(header::UPGRADE);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_urls() {
        let b = Backend::new("http://todo-api:8080").unwrap();
        let t = b.target(&"/api/tasks?status=open".parse().unwrap()).unwrap();
        assert_eq!(t.to_string(), "http://todo-api:8080/api/tasks?status=open");
        let b = Backend::new("http://10.0.0.1:9000/base/").unwrap();
        let t = b.target(&"/api/tasks/1".parse().unwrap()).unwrap();
        assert_eq!(t.to_string(), "http://10.0.0.1:9000/base/api/tasks/1");
        for bad in ["https://x", "todo-api:8080", "http://u:p@x", "http://x/?q=1", "", "http://"] {
            assert!(Backend::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert("connection", "keep-alive, x-secret-hop".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        let h = strip_hop_by_hop(h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("content-type"));
    }
}
