//! `verify:ingress`: the release's Ingress routes `/` and the API path, checked through a port-forward to
//! minikube's ingress controller with the Ingress's host.

use anyhow::{bail, Result};

use super::reach::{expect, forward, HTTP_TIMEOUT};
use crate::config::Config;
use crate::http;
use crate::kube::{self, Ingress, Target};
use crate::pipeline::{Done, Ran, StepCx};

const INGRESS_NAMESPACE: &str = "ingress-nginx";
const INGRESS_SERVICE: &str = "svc/ingress-nginx-controller";

pub fn check(cx: &mut StepCx, cfg: &Config) -> Result<Done> {
    let t = Target::release(cfg);
    let Ran::Done(list) = kube::get::<kube::List<Ingress>>(cx, t, "ingress")? else { return Ok(Done::Passed) };
    let Some(ing) = list.items.into_iter().next() else {
        return Ok(Done::Skipped("no Ingress in the namespace (ingress.enabled is false)".into()));
    };
    let host = ing.spec.rules.first().and_then(|r| r.host.clone()).unwrap_or_default();
    if cfg.target.provider() != crate::target::Provider::Minikube {
        bail!(
            "the ingress check goes through minikube's ingress addon (ingress-nginx), which target `{}` does not \
             have: leave `ingress` out of the target's `verify:` checks and check the Ingress through its load \
             balancer's address",
            cfg.target.name
        );
    }
    // Through a port-forward to minikube's ingress controller, not to `minikube ip`: the node's address is not
    // reachable wherever minikube itself tunnels (docker driver on macOS/Windows, WSL2, Docker Desktop for Linux,
    // rootless Docker, a remote DOCKER_HOST: minikube v1.35.0 `pkg/minikube/driver/driver.go:215-235`),
    // while the API server is reachable everywhere kubectl works. The addon's Service is
    // `ingress-nginx/ingress-nginx-controller`, port 80 (minikube v1.35.0
    // `deploy/addons/ingress/ingress-deploy.yaml.tmpl:380-413`).
    let (_pf, base) = forward(cx, t.in_namespace(INGRESS_NAMESPACE), INGRESS_SERVICE, 80)?;
    for path in ["/", cfg.verify.api.path.as_str()] {
        let r = http::request_with_host("GET", &format!("{base}{path}"), &host, HTTP_TIMEOUT)?;
        expect(&r, 200, &format!("GET {path} through the ingress controller (host {host:?})"))?;
    }
    cx.note(format!(
        "ingress {} routes / and {} for host {host:?} (through {INGRESS_NAMESPACE}/{})",
        ing.metadata.name(),
        cfg.verify.api.path,
        INGRESS_SERVICE.trim_start_matches("svc/")
    ));
    Ok(Done::Passed)
}
