//! `verify:health`: the backend's and the frontend's health endpoints answer 200.

use anyhow::Result;

use super::reach::{endpoint, expect, frontend_url, port_forward, HTTP_TIMEOUT};
use crate::config::Config;
use crate::http;
use crate::pipeline::{Done, StepCx};

pub fn check(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let backend = endpoint(&cfg.verify.backend, "verify.backend")?.clone();
    let (_pf, api) = port_forward(cx, cfg, &backend)?;
    let (_svc, web) = frontend_url(cx, cfg)?;
    if cx.dry_run() {
        return Ok(Done::Passed);
    }
    let front = endpoint(&cfg.verify.frontend, "verify.frontend")?;
    for (name, url) in [("backend", format!("{api}{}", backend.health)), ("frontend", format!("{web}{}", front.health))]
    {
        let r = http::request("GET", &url, None, HTTP_TIMEOUT)?;
        expect(&r, 200, &format!("{name} GET {url}"))?;
        cx.note(format!("{name} {url}: {}", r.status));
    }
    Ok(Done::Passed)
}
