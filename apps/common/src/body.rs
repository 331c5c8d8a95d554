//! Request bodies read the same way by todo-api and by todo-web's proxy: a deadline for the whole body (a client
//! that stops sending must not hold a connection forever) and a size limit, each failure with its own 4xx status,
//! so the proxy answers exactly what the API would.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

use crate::log;

/// Request bodies are small JSON objects; anything bigger is a mistake or abuse. todo-web's proxy enforces the
/// same limit, so an oversize body gets the API's 413 from either.
pub const LIMIT: usize = 64 * 1024;

/// Why a request body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// More than the limit, announced by Content-Length or found while reading (chunked).
    TooLarge,
    /// The body did not arrive within the body timeout.
    TimedOut(Duration),
    /// The framing was broken (a bad chunk, a connection closed mid-body).
    Invalid(String),
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Invalid(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(&self) -> String {
        match self {
            BodyError::TooLarge => "request body too large".to_owned(),
            BodyError::TimedOut(d) => format!("request body not received within {} s", d.as_secs_f64()),
            BodyError::Invalid(why) => format!("could not read the request body: {why}"),
        }
    }
}

/// The error a body wrapped by `with_deadline` yields when its time is up.
#[derive(Debug)]
pub struct BodyTimedOut(pub Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body not received within {} s", self.0.as_secs_f64())
    }
}

impl std::error::Error for BodyTimedOut {}

/// `body`, failing with `BodyTimedOut` once `timeout` has passed (counted from now, i.e. from the request head).
pub fn with_deadline(body: Body, timeout: Duration) -> Body {
    Body::new(Deadline { inner: body, timeout, sleep: Box::pin(tokio::time::sleep(timeout)) })
}

struct Deadline {
    inner: Body,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads the whole body, at most `limit` bytes. A Content-Length over the limit is refused before reading.
pub async fn read(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body::Body as _;
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut buf = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(classify)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

fn classify(e: axum::Error) -> BodyError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if let Some(t) = c.downcast_ref::<BodyTimedOut>() {
            return BodyError::TimedOut(t.0);
        }
        cause = c.source();
    }
    BodyError::Invalid(log::error_chain(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limit_and_deadline() {
        assert_eq!(read(Body::from("abc"), 3).await.unwrap(), "abc");
        assert_eq!(read(Body::from("abcd"), 3).await, Err(BodyError::TooLarge));
        // A body that never ends: the deadline turns it into a 408.
        let (_tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
        let endless = Body::new(http_body_util_free::Channel(rx));
        let body = with_deadline(endless, Duration::from_millis(50));
        let err = read(body, 10).await.unwrap_err();
        assert_eq!(err, BodyError::TimedOut(Duration::from_millis(50)));
        assert_eq!(err.status(), StatusCode::REQUEST_TIMEOUT);
    }

    /// A body fed from a channel, for the test above (http-body-util's StreamBody would need another crate).
    mod http_body_util_free {
        use super::*;

        pub struct Channel(pub tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>);

        impl http_body::Body for Channel {
            type Data = Bytes;
            type Error = std::io::Error;

            fn poll_frame(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
                self.0.poll_recv(cx)
            }
        }
    }
}
