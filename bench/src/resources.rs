//! Memory and start-up: the gateway's resident memory when idle, what an idle
//! subscription costs, and how long a first start on a new SQLite file takes.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tessera_api::config::{Config, ConfigArgs};
use tessera_api::{App, AppOptions};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{Failure, fail};
use tessera_api::http::AppState;
use tessera_kernel::UserId;

/// This process's resident memory in KiB (Linux; `None` elsewhere).
pub(crate) fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sockets and subscriptions per socket for the memory measurement.
const SOCKETS: usize = 100;
const PER_SOCKET: usize = 100;

/// KiB of resident memory per idle subscription, `SOCKETS` × `PER_SOCKET` of
/// them held open by the owner (client sockets included: an upper bound).
pub(crate) async fn per_subscription_kib(
    state: &AppState,
    owner: UserId,
    token: &str,
    ws_url: &str,
) -> Result<Option<f64>, Failure> {
    let before = rss_kib();
    let mut sockets = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS {
        let mut request = ws_url.into_client_request()?;
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let init = json!({ "type": "connection_init",
            "payload": { "Authorization": format!("Bearer {token}"), "X-Tenant": crate::world::SLUG } });
        socket.send(Message::text(init.to_string())).await?;
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => {}
            other => return Err(fail(format!("expected connection_ack, got {other:?}"))),
        }
        for id in 0..PER_SOCKET {
            let subscribe = json!({ "id": id.to_string(), "type": "subscribe",
                "payload": { "query": "subscription { tenantUpdated { kind } }" } });
            socket.send(Message::text(subscribe.to_string())).await?;
        }
        sockets.push(socket);
    }
    let wanted = SOCKETS * PER_SOCKET;
    let waiting = Instant::now();
    while state.ws_operations.running(owner) < wanted {
        if waiting.elapsed() > Duration::from_secs(120) {
            return Err(fail("the subscriptions did not all start within two minutes"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = rss_kib();
    for mut socket in sockets {
        let _ = socket.close(None).await;
    }
    Ok(before.zip(after).map(|(before, after)| after.saturating_sub(before) as f64 / wanted as f64))
}

/// A first start on a new SQLite file, as `cargo run` does it: migrations and
/// the demo, with the password hasher's production settings.
pub(crate) async fn cold_start() -> Result<Duration, Failure> {
    let path = std::env::temp_dir().join(format!("tessera-bench-cold-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let args = ConfigArgs {
        database_url: Some(format!("sqlite://{}?mode=rwc", path.display())),
        seed_demo: Some(true),
        log: Some("error".into()),
        ..ConfigArgs::default()
    };
    let config = Config::load(&args).map_err(|e| fail(e.to_string()))?;
    let started = Instant::now();
    let app = App::build(config, AppOptions::default()).await.map_err(|e| fail(e.to_string()))?;
    let took = started.elapsed();
    app.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(took)
}
