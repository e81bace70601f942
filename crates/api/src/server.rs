//! Serving: bind, serve with connection info, and shut down gracefully.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tracing::info;

use crate::app::App;
use crate::http::router;

/// Serves `app` on `listener` until `shutdown_signal` resolves, then stops taking
/// connections, closes WebSockets (1001) and gives requests the configured grace.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown_signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = app.state.clone();
    let token = state.shutdown.clone();
    let grace = state.config.shutdown_grace();
    let service = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let graceful_token = token.clone();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        tokio::select! {
            () = shutdown_signal => {}
            () = graceful_token.cancelled() => {}
        }
        info!("shutting down");
        graceful_token.cancel();
    });
    let result = match tokio::time::timeout_at(tokio::time::Instant::now() + grace * 1000, server.into_future()).await {
        Ok(result) => result,
        Err(_) => Ok(()),
    };
    tokio::time::timeout(grace, app.stop()).await.ok();
    result
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
