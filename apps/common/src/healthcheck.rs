//! `<app> healthcheck` (todo-api and todo-web alike): GET http://127.0.0.1:$PORT/health, exit 0 on 200, else 1.
//!
//! The image is FROM scratch (no shell, no curl), so Docker's HEALTHCHECK runs the binary itself. Plain std
//! networking keeps it independent of the async runtime.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

pub fn run(port: u16) -> ExitCode {
    match probe(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck: http://127.0.0.1:{port}/health: {e}");
            ExitCode::FAILURE
        }
    }
}

fn probe(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    // The status line is all we need; a bounded read keeps a misbehaving server from stalling us.
    let mut buf = [0u8; 64];
    let mut len = 0;
    while len < buf.len() {
        match stream.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) => return Err(e.to_string()),
        }
        if buf[..len].contains(&b'\n') {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        Ok(())
    } else {
        Err(format!("unexpected response {:?}", head.lines().next().unwrap_or("")))
    }
}
