//! What minikube calls addons, installed by the pipeline on kind and k3d clusters: ingress-nginx and
//! metrics-server from their project's Helm chart repositories, with `helm upgrade --install` (idempotent).

use anyhow::{Context as _, Result};

use crate::pipeline::{Ran, StepCx};
use crate::target::Addon;

/// (release, chart, repository, namespace, extra flags) of an addon's Helm chart.
fn chart(addon: Addon) -> (&'static str, &'static str, &'static str, &'static str, Vec<String>) {
    match addon {
        // kubernetes/ingress-nginx's chart repository, as its deploy docs install it.
        Addon::IngressNginx => {
            ("ingress-nginx", "ingress-nginx", "https://kubernetes.github.io/ingress-nginx", "ingress-nginx", vec![])
        }
        // kind and k3d kubelets serve self-signed certificates: metrics-server's README asks for
        // --kubelet-insecure-tls on such test clusters.
        Addon::MetricsServer => (
            "metrics-server",
            "metrics-server",
            "https://kubernetes-sigs.github.io/metrics-server/",
            "kube-system",
            vec!["--set".into(), "args={--kubelet-insecure-tls}".into()],
        ),
    }
}

/// Installs (or upgrades in place) each addon into the cluster behind `context`.
pub fn install(cx: &mut StepCx, context: &str, addons: &[Addon]) -> Result<()> {
    let mut installed = vec![];
    for &addon in addons {
        let (name, chart, repo, namespace, extra) = chart(addon);
        let release = crate::helm::Release { name, namespace, context };
        let ran = cx
            .query(crate::helm::install_from_repo_cmd(&cx.sh, release, chart, repo, &extra))
            .with_context(|| format!("installing the {} addon", addon.name()))?;
        if let Ran::Done(_) = ran {
            installed.push(addon.name());
        }
    }
    if !installed.is_empty() {
        cx.note(format!("addons: {}", installed.join(", ")));
    }
    Ok(())
}
