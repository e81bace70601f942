//! The platform operator's view of what payment providers sent (`tessera
//! payments events`, `tessera payments replay <id>`): every event kept, with
//! whether and when it was applied and why its last try failed; replaying
//! one asks the provider again about what it names, so it never moves a
//! payment back.

use clap::Subcommand;
use uuid::Uuid;

use crate::services::Services;

/// `tessera payments …`.
#[derive(Debug, Subcommand)]
pub enum PaymentsAction {
    /// Print the events providers sent, the newest first.
    Events {
        /// Only those not applied yet.
        #[arg(long)]
        unapplied: bool,
        /// How many (at most 1000).
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Apply an event again.
    Replay {
        /// Tessera's id of the event (the first column of `events`).
        id: Uuid,
    },
}

/// Runs `tessera payments …`.
pub async fn payments(services: &Services, action: PaymentsAction) -> Result<(), String> {
    let billing = &services.billing;
    match action {
        PaymentsAction::Events { unapplied, limit } => {
            for event in billing.provider_events(unapplied, limit).await.map_err(|e| e.public_message())? {
                let state = match (event.processed_at, &event.last_error) {
                    (Some(at), _) => format!("applied {}", at.to_rfc3339()),
                    (None, Some(why)) => format!("failed {} times: {why}", event.attempts),
                    (None, None) => "waiting".into(),
                };
                println!(
                    "{} {}/{} {} {} received {} {state}",
                    event.id,
                    event.provider,
                    event.account,
                    event.event_id,
                    event.kind,
                    event.received_at.to_rfc3339()
                );
            }
        }
        PaymentsAction::Replay { id } => {
            billing.replay_event(id, services.clock.now()).await.map_err(|e| e.public_message())?;
            println!("applied {id}");
        }
    }
    Ok(())
}
