//! How the verify checks reach the app: a port-forward to a Service, the frontend's URL (`minikube service
//! --url` on minikube), the entries they create through the API, and what an HTTP answer must be.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::Value;

use crate::config::{Config, Endpoint};
use crate::kube::{self, Target};
use crate::pipeline::exec::Background;
use crate::pipeline::{Placeholder, Ran, StepCx};
use crate::{http, minikube};

pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The frontend's URL from `minikube service --url`, kept running (it holds the tunnel open on some drivers) until
/// the returned handle is dropped.
pub fn frontend_url(cx: &mut StepCx, cfg: &Config) -> Result<(Option<Background>, String)> {
    let ep = endpoint(&cfg.verify.frontend, "verify.frontend")?;
    if cfg.target.provider() != crate::target::Provider::Minikube {
        // Only minikube has `service --url`; elsewhere the frontend is reached the way the backend is.
        return port_forward(cx, cfg, ep);
    }
    let (ns, profile) = (&cfg.release.namespace, cfg.kube_context());
    let e = minikube::service_url_cmd(&cx.sh, profile, ns, &ep.service);
    let Some(mut bg) = cx.background(e)? else { return Ok((None, Placeholder::FrontendUrl.to_string())) };
    let limit = cx.time_left().min(Duration::from_secs(60));
    let Some(line) = bg.wait_line(limit, |l| l.trim().starts_with("http://")) else {
        // `SVC_NOT_FOUND` (exit 115) and the like end the command at once: say so, not "within 60 s".
        bail!(match bg.ended() {
            Some(why) => format!("`{}` printed no URL ({why})", bg.display),
            None => format!("`{}` printed no URL within {}", bg.display, crate::text::fmt_duration(limit)),
        })
    };
    Ok((Some(bg), line.trim().trim_end_matches('/').to_string()))
}

/// A local URL for a ClusterIP service through `kubectl port-forward svc/NAME :PORT` (kubectl picks the local port
/// and prints `Forwarding from 127.0.0.1:PORT -> TARGET`).
pub fn port_forward(cx: &mut StepCx, cfg: &Config, ep: &Endpoint) -> Result<(Option<Background>, String)> {
    forward(cx, Target::release(cfg), &format!("svc/{}", ep.service), ep.port)
}

/// `kubectl port-forward -n NS TARGET :PORT` kept running until the handle is dropped; the local base URL.
/// kubectl itself waits up to its `--pod-running-timeout` (60 s) for a running pod and exits at once on a missing
/// Service (kubernetes/kubectl `pkg/cmd/portforward/portforward.go:99,117,428`).
pub fn forward(cx: &mut StepCx, t: Target, to: &str, port: u16) -> Result<(Option<Background>, String)> {
    let e = kube::port_forward_cmd(&cx.sh, t, to, port);
    let Some(mut bg) = cx.background(e)? else { return Ok((None, Placeholder::ForwardUrl.to_string())) };
    // At most kubectl's own wait for a running pod (plus its start), and never past the step's deadline.
    let limit = cx.time_left().min(Duration::from_secs(75));
    let Some(line) = bg.wait_line(limit, |l| l.starts_with("Forwarding from 127.0.0.1:")) else {
        bail!(match bg.ended() {
            Some(why) => format!("`{}` failed ({why})", bg.display),
            None => format!("`{}` did not start forwarding within {}", bg.display, crate::text::fmt_duration(limit)),
        })
    };
    let local = line.trim_start_matches("Forwarding from ").split(" -> ").next().unwrap_or("").to_string();
    Ok((Some(bg), format!("http://{local}")))
}

pub fn endpoint<'a>(ep: &'a Option<Endpoint>, key: &str) -> Result<&'a Endpoint> {
    ep.as_ref().ok_or_else(|| anyhow!("{key} is not set in the config: name the service and port to check"))
}

pub fn expect(resp: &http::Response, status: u16, what: &str) -> Result<()> {
    if resp.status != status {
        bail!(
            "{what}: expected HTTP {status}, got {}: {}",
            resp.status,
            resp.body.chars().take(200).collect::<String>()
        );
    }
    Ok(())
}

/// The id of an entry the API created, from the configured field (a number or a string).
fn entry_id(body: &str, field: &str) -> Result<String> {
    let v: Value =
        serde_json::from_str(body).with_context(|| format!("expected the created entry as JSON, got {body:?}"))?;
    match &v[field] {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        _ => bail!("the created entry has no `{field}` (verify.api.id_field): {body}"),
    }
}

/// Creates an entry through the frontend; returns its id and the marker text it carries.
pub fn create_entry(cfg: &Config, web: &str, what: &str) -> Result<(String, String)> {
    let api = &cfg.verify.api;
    let marker = format!("xtask {what} {}", std::process::id());
    let body = api.create.replace("{marker}", &marker);
    let created = http::request("POST", &format!("{web}{}", api.path), Some(&body), HTTP_TIMEOUT)?;
    expect(&created, 201, &format!("POST {} through the frontend", api.path))?;
    Ok((entry_id(&created.body, &api.id_field)?, marker))
}

/// The label selector of a Service (`app.kubernetes.io/component=backend,...`): the pods behind it.
pub fn service_selector(cx: &mut StepCx, cfg: &Config, service: &str) -> Result<String> {
    // A plan has read no selector: its commands show it empty.
    let Ran::Done(svc) = kube::service(cx, Target::release(cfg), service)? else { return Ok(String::new()) };
    let sel = kube::label_selector(&svc.spec.selector);
    if sel.is_empty() {
        bail!("service {service} has no selector");
    }
    Ok(sel)
}
