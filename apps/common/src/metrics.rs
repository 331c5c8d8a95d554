//! Request counts and latencies per route, rendered in the Prometheus text exposition format for `/metrics`.
//!
//! Hand-rolled instead of the `prometheus` crate: a few counters and one histogram are all the apps need, and
//! the format is a plain text page (https://prometheus.io/docs/instrumenting/exposition_formats/). Each server
//! owns its own `Metrics`, so servers started side by side in one test process do not count each other's
//! requests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// The `Content-Type` Prometheus expects for the text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram bucket bounds in seconds: from a cached read (~1 ms) to the API's 5 s query timeout.
pub const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Requests that matched no route are counted under this one label, so scanners cannot grow the page unbounded.
pub const UNMATCHED: &str = "unmatched";

#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Per-bucket (non-cumulative) counts; rendered cumulatively, as the format requires.
    buckets: [u64; BUCKETS.len()],
    sum_seconds: f64,
    count: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, route template) → stats. A std Mutex: the critical section is a few additions.
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let stats = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            stats.buckets[i] += 1;
        }
        stats.sum_seconds += seconds;
        stats.count += 1;
    }

    /// Appends `http_requests_total` and `http_request_duration_seconds` to `out`.
    pub fn render(&self, out: &mut String) {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP http_requests_total HTTP requests answered, by method, route and status code.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for ((method, route), stats) in routes.iter() {
            for (status, n) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        out.push_str("# HELP http_request_duration_seconds Time from request received to response headers sent.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((method, route), stats) in routes.iter() {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                cumulative += n;
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {}", stats.sum_seconds);
            let _ = writeln!(out, "http_request_duration_seconds_count{{{labels}}} {}", stats.count);
        }
        if let Some(rss) = resident_bytes() {
            out.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
            out.push_str("# TYPE process_resident_memory_bytes gauge\n");
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }
    }
}

/// Appends one gauge or counter with its HELP and TYPE lines.
pub fn write_metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// Middleware (added with `Router::layer`, where axum has already set `MatchedPath`): counts and times each
/// request under its route template (`/api/tasks/{id}`), not its path, so ids do not become label values.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    metrics.observe(&method, &route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}

/// Label values escape backslash, double quote and newline (the text format's only escapes).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// VmRSS from /proc/self/status (Linux); `None` elsewhere, and then the metric is left out.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_add_up() {
        let m = Metrics::default();
        m.observe("GET", "/api/tasks", 200, 0.003);
        m.observe("GET", "/api/tasks", 200, 0.2);
        m.observe("GET", "/api/tasks", 503, 7.0);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("http_requests_total{method=\"GET\",route=\"/api/tasks\",status=\"200\"} 2\n"), "{out}");
        assert!(out.contains("http_requests_total{method=\"GET\",route=\"/api/tasks\",status=\"503\"} 1\n"), "{out}");
        let labels = "method=\"GET\",route=\"/api/tasks\"";
        assert!(out.contains(&format!("http_request_duration_seconds_bucket{{{labels},le=\"0.001\"}} 0\n")));
        assert!(out.contains(&format!("http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1\n")));
        assert!(out.contains(&format!("http_request_duration_seconds_bucket{{{labels},le=\"0.25\"}} 2\n")));
        assert!(out.contains(&format!("http_request_duration_seconds_bucket{{{labels},le=\"5\"}} 2\n")));
        assert!(out.contains(&format!("http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 3\n")));
        assert!(out.contains(&format!("http_request_duration_seconds_count{{{labels}}} 3\n")));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
