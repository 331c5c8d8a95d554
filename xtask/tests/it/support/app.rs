//! A stand-in for the deployed app's pods in verify tests: an in-memory task API on 127.0.0.1 with the routes of
//! apps/todo-api (`/health`, `/ready`, `/api/tasks...`) and a page at `/` like apps/todo-web. The real app is
//! tested against PostgreSQL in apps/; here only what verify reaches through port-forward and the service URL
//! matters. It can be told to fail requests, to test that verify notices.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    tasks: Mutex<BTreeMap<i64, serde_json::Value>>,
    next: Mutex<i64>,
    /// Answer 503 to everything (a broken backend).
    broken: AtomicBool,
    pub requests: AtomicU32,
}

pub struct AppServer {
    pub addr: String,
    state: Arc<State>,
}

impl AppServer {
    pub fn start() -> AppServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the stand-in app");
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State::default());
        let s = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &s);
                });
            }
        });
        AppServer { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn break_it(&self) {
        self.state.broken.store(true, Ordering::SeqCst);
    }

    pub fn requests(&self) -> u32 {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn task_count(&self) -> usize {
        self.state.tasks.lock().unwrap().len()
    }
}

fn handle(conn: TcpStream, s: &State) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("/").to_string());
    let mut len = 0;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    s.requests.fetch_add(1, Ordering::SeqCst);
    let (status, ctype, text) = route(s, &method, &path, &String::from_utf8_lossy(&body));
    let mut conn = conn;
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        404 => "Not Found",
        _ => "Error",
    };
    write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}

fn route(s: &State, method: &str, path: &str, body: &str) -> (u16, &'static str, String) {
    const JSON: &str = "application/json";
    if s.broken.load(Ordering::SeqCst) {
        return (503, JSON, r#"{"error":"database unavailable"}"#.into());
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        ("GET", ["health"]) | ("GET", ["ready"]) => (200, JSON, r#"{"status":"ok"}"#.into()),
        ("GET", [""]) => (200, "text/html", "<!doctype html><html><body>tasks</body></html>".into()),
        ("GET", ["api", "tasks"]) => {
            let tasks: Vec<_> = s.tasks.lock().unwrap().values().cloned().collect();
            (200, JSON, serde_json::to_string(&tasks).unwrap())
        }
        ("POST", ["api", "tasks"]) => {
            let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) else {
                return (400, JSON, r#"{"error":"bad json"}"#.into());
            };
            let id = {
                let mut n = s.next.lock().unwrap();
                *n += 1;
                *n
            };
            v["id"] = id.into();
            v["status"] = "open".into();
            s.tasks.lock().unwrap().insert(id, v.clone());
            (201, JSON, v.to_string())
        }
        (m, ["api", "tasks", id, rest @ ..]) => {
            let Ok(id) = id.parse::<i64>() else { return (400, JSON, r#"{"error":"bad id"}"#.into()) };
            let mut tasks = s.tasks.lock().unwrap();
            match (m, rest) {
                ("GET", []) => match tasks.get(&id) {
                    Some(t) => (200, JSON, t.to_string()),
                    None => (404, JSON, r#"{"error":"not found"}"#.into()),
                },
                ("POST", ["complete"]) => match tasks.get_mut(&id) {
                    Some(t) => {
                        t["status"] = "done".into();
                        (200, JSON, t.to_string())
                    }
                    None => (404, JSON, r#"{"error":"not found"}"#.into()),
                },
                ("DELETE", []) => match tasks.remove(&id) {
                    Some(_) => (204, JSON, String::new()),
                    None => (404, JSON, r#"{"error":"not found"}"#.into()),
                },
                _ => (404, JSON, r#"{"error":"no route"}"#.into()),
            }
        }
        _ => (404, JSON, r#"{"error":"no route"}"#.into()),
    }
}
