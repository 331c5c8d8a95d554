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
    let front = endpoint(&cfg.verify.frontend, "verify.frontend")?;
    let urls = [("backend", format!("{api}{}", backend.health)), ("frontend", format!("{web}{}", front.health))];
    // The requests go to what the commands above opened: a plan shows the commands only.
    cx.unless_planning(|cx| {
        for (name, url) in urls {
            let r = http::request("GET", &url, None, HTTP_TIMEOUT)?;
            expect(&r, 200, &format!("{name} GET {url}"))?;
            cx.note(format!("{name} {url}: {}", r.status));
        }
        Ok(())
    })?;
    Ok(Done::Passed)
}
