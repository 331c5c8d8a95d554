//! Helpers for the apps' integration tests (feature `test-support`): servers started in-process on
//! 127.0.0.1, a tiny HTTP/1.1 client (no client crate to compile), a private PostgreSQL schema per test, and
//! the real binary run as a child process, and misbehaving clients.

mod binary;
mod http;
mod postgres;
mod server;
mod slow;

pub use binary::{healthcheck, Binary};
pub use http::{parse_response, read_response, request, Response};
pub use postgres::{test_db, TestDb, SKIP_NOTICE};
pub use server::{Server, Stop};
pub use slow::{checks, half_sent_request, slow_header_client};

pub use crate::require_postgres;

/// A 127.0.0.1 port that refuses connections: one we just bound and released.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A DATABASE_URL that refuses connections.
pub fn unreachable_db_url() -> String {
    format!("postgres://todo:not-the-password@127.0.0.1:{}/todo", closed_port())
}
