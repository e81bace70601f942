//! The hash chain: what each record's hash covers, computed the same way when a
//! record is appended and when the chain is verified. Pure, so it is unit-tested.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use tessera_kernel::{SessionId, TenantId, UserId};

/// The `prev_hash` of a tenant's first record.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything a record's hash covers: its whole content, its place in the chain
/// (tenant and sequence number) and the hash before it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link<'a> {
    pub(crate) tenant_id: TenantId,
    pub(crate) seq: i64,
    pub(crate) id: uuid::Uuid,
    pub(crate) actor_user_id: Option<UserId>,
    pub(crate) session_id: Option<SessionId>,
    pub(crate) action: &'a str,
    pub(crate) target_type: &'a str,
    pub(crate) target_id: &'a str,
    pub(crate) changes: &'a str,
    pub(crate) request_id: Option<&'a str>,
    pub(crate) ip: Option<&'a str>,
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) occurred_at: DateTime<Utc>,
    pub(crate) prev_hash: &'a str,
}

impl Link<'_> {
    /// The SHA-256 (hex) of the record's canonical form: a JSON array, so no field
    /// can bleed into the next one.
    pub(crate) fn hash(&self) -> String {
        let canonical = json!([
            "tessera-audit-v1",
            self.tenant_id.to_string(),
            self.seq,
            self.id.to_string(),
            self.actor_user_id.map(|id| id.to_string()),
            self.session_id.map(|id| id.to_string()),
            self.action,
            self.target_type,
            self.target_id,
            self.changes,
            self.request_id,
            self.ip,
            self.user_agent,
            self.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.prev_hash,
        ]);
        Sha256::digest(canonical.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn link(prev_hash: &str) -> Link<'_> {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).single().unwrap_or_default();
        Link {
            tenant_id: TenantId::generate(at),
            seq: 1,
            id: uuid::Uuid::nil(),
            actor_user_id: None,
            session_id: None,
            action: "booking.create",
            target_type: "booking",
            target_id: "b1",
            changes: "{}",
            request_id: Some("r1"),
            ip: None,
            user_agent: None,
            occurred_at: at,
            prev_hash,
        }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_previous_hash() {
        let base = link(GENESIS);
        let hash = base.hash();
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, base.hash(), "deterministic");
        assert_ne!(hash, link("1").hash(), "previous hash");
        assert_ne!(hash, Link { seq: 2, ..base }.hash(), "sequence");
        assert_ne!(hash, Link { action: "booking.cancel", ..base }.hash(), "action");
        assert_ne!(hash, Link { changes: "{\"a\":1}", ..base }.hash(), "changes");
        assert_ne!(hash, Link { ip: Some("10.0.0.1"), ..base }.hash(), "request facts");
        // Fields cannot trade characters with their neighbours.
        assert_ne!(
            Link { target_type: "book", target_id: "ingb1", ..base }.hash(),
            Link { target_type: "booking", target_id: "b1", ..base }.hash()
        );
    }
}
