//! `verify:roundtrip`: a task's whole life through the frontend: the UI's page, then create, list, complete and
//! delete an entry through the API the frontend proxies.

use anyhow::{bail, Result};

use super::reach::{create_entry, expect, frontend_url, HTTP_TIMEOUT};
use crate::config::Config;
use crate::http;
use crate::pipeline::{Done, StepCx};

pub fn check(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let (_svc, web) = frontend_url(cx, cfg)?;
    let api = &cfg.verify.api;
    let path = &api.path;
    cx.plan(format!(
        "GET /, POST {path}, GET {path}, POST {path}/ID{}, DELETE {path}/ID",
        api.complete.as_deref().unwrap_or("")
    ));
    cx.unless_planning(|cx| exchange(cx, cfg, &web))?;
    Ok(Done::Passed)
}

/// The requests of the round-trip, through the frontend at `web`.
fn exchange(cx: &mut StepCx, cfg: &Config, web: &str) -> Result<()> {
    let api = &cfg.verify.api;
    let path = &api.path;
    let page = http::request("GET", &format!("{web}/"), None, HTTP_TIMEOUT)?;
    expect(&page, 200, "GET / (the UI)")?;
    if !page.body.to_ascii_lowercase().contains("<html") {
        bail!("GET / did not serve the UI's HTML");
    }
    let (id, marker) = create_entry(cfg, web, "verify")?;
    let list = http::request("GET", &format!("{web}{path}"), None, HTTP_TIMEOUT)?;
    expect(&list, 200, &format!("GET {path}"))?;
    if !list.body.contains(&marker) {
        bail!("the new entry {id} is missing from GET {path}");
    }
    let mut steps = vec!["created", "listed"];
    if let Some(suffix) = &api.complete {
        let done = http::request("POST", &format!("{web}{path}/{id}{suffix}"), Some(""), HTTP_TIMEOUT)?;
        expect(&done, 200, &format!("POST {path}/{id}{suffix}"))?;
        if let Some(want) = &api.completed_contains {
            if !done.body.contains(want.as_str()) {
                bail!("completing entry {id} did not answer with {want}: {}", done.body);
            }
        }
        steps.push("completed");
    }
    let del = http::request("DELETE", &format!("{web}{path}/{id}"), None, HTTP_TIMEOUT)?;
    expect(&del, 204, &format!("DELETE {path}/{id}"))?;
    let gone = http::request("GET", &format!("{web}{path}/{id}"), None, HTTP_TIMEOUT)?;
    expect(&gone, 404, "GET of the deleted entry")?;
    steps.push("deleted");
    cx.note(format!("entry {id}: {} through {web}", steps.join(", ")));
    Ok(())
}
