//! Resolves when the process is asked to stop (SIGTERM from Kubernetes/Docker, or SIGINT / Ctrl-C).

use crate::log;

pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a handler we can never be told to stop: wait forever rather than exit at once.
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();

    let name = tokio::select! {
        () = ctrl_c => "SIGINT",
        () = term => "SIGTERM",
    };
    log::info("shutdown requested; finishing in-flight requests", &[("signal", name.into())]);
}
