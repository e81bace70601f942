//! What the audit log records and answers.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tessera_kernel::{DomainError, Result, SessionId, UserId};

/// One change to record: what was done to which thing, and its fields before and
/// after (only the fields that changed are kept; secrets are redacted).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// What was done, `resource.verb` (`booking.cancel`).
    pub action: &'static str,
    /// The kind of thing changed (`booking`).
    pub target_type: &'static str,
    /// Its id.
    pub target_id: String,
    /// Its fields before (`None` when created).
    pub before: Option<Value>,
    /// Its fields after (`None` when deleted).
    pub after: Option<Value>,
}

impl AuditEntry {
    /// An entry comparing two snapshots of a record (any serializable row or
    /// value; `None` when created or deleted).
    pub fn change<T: serde::Serialize>(
        action: &'static str,
        target_type: &'static str,
        target_id: impl ToString,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<Self> {
        let snapshot = |row: &T| {
            serde_json::to_value(row)
                .map_err(|e| DomainError::Internal(format!("{target_type} cannot be audited: {e}")))
        };
        Ok(Self {
            action,
            target_type,
            target_id: target_id.to_string(),
            before: before.map(snapshot).transpose()?,
            after: after.map(snapshot).transpose()?,
        })
    }
}

/// One record of a tenant's audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Id.
    pub id: uuid::Uuid,
    /// Its place in the tenant's chain, from 1.
    pub seq: i64,
    /// The user who acted (`None`: the system).
    pub actor_user_id: Option<UserId>,
    /// Their session.
    pub session_id: Option<SessionId>,
    /// What was done.
    pub action: String,
    /// The kind of thing changed.
    pub target_type: String,
    /// Its id.
    pub target_id: String,
    /// `{"before": {…}, "after": {…}}` of the changed fields.
    pub changes: Value,
    /// The request it was part of.
    pub request_id: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Its hash (covering its content and the previous hash).
    pub hash: String,
}

/// Which records to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<String>,
    /// Only this kind of target.
    pub target_type: Option<String>,
    /// Only this target.
    pub target_id: Option<String>,
    /// Only this actor's.
    pub actor_user_id: Option<UserId>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

/// The outcome of checking a tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// How many records were checked.
    pub checked: u64,
    /// Records up to this sequence number were expired by retention (0: none);
    /// the check started after it.
    pub expired_through_seq: i64,
    /// The first sequence number where the chain breaks, and why; `None` when it
    /// is intact.
    pub broken: Option<(i64, String)>,
}

/// Field names whose values never reach the log.
const SECRET_MARKERS: [&str; 5] = ["password", "secret", "token", "otp", "code_hash"];

/// The changed fields of `before` and `after` (objects), secrets redacted:
/// `{"before": {…}, "after": {…}}`. A missing side is recorded as `null`.
pub(crate) fn changes(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let as_map = |v: Option<&Value>| v.and_then(Value::as_object).cloned();
    let (old, new) = (as_map(before), as_map(after));
    let (old_fields, new_fields) = (old.as_ref().unwrap_or(&empty), new.as_ref().unwrap_or(&empty));
    let mut keys: Vec<&String> = old_fields.keys().chain(new_fields.keys()).collect();
    keys.sort();
    keys.dedup();
    let (mut was, mut is) = (Map::new(), Map::new());
    for key in keys {
        let (a, b) = (old_fields.get(key), new_fields.get(key));
        if a == b {
            continue;
        }
        let redact = |v: Option<&Value>| {
            let secret = SECRET_MARKERS.iter().any(|m| key.to_ascii_lowercase().contains(m));
            match v {
                Some(_) if secret => Value::String("[redacted]".into()),
                Some(v) => v.clone(),
                None => Value::Null,
            }
        };
        if old.is_some() {
            was.insert(key.clone(), redact(a));
        }
        if new.is_some() {
            is.insert(key.clone(), redact(b));
        }
    }
    let side = |present: bool, fields: Map<String, Value>| if present { Value::Object(fields) } else { Value::Null };
    serde_json::json!({ "before": side(old.is_some(), was), "after": side(new.is_some(), is) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_changed_fields_are_kept_and_secrets_are_redacted() {
        let before = json!({"status": "SCHEDULED", "startsAt": "09:00", "passwordHash": "x"});
        let after = json!({"status": "CANCELLED", "startsAt": "09:00", "passwordHash": "y"});
        assert_eq!(
            changes(Some(&before), Some(&after)),
            json!({
                "before": {"passwordHash": "[redacted]", "status": "SCHEDULED"},
                "after": {"passwordHash": "[redacted]", "status": "CANCELLED"}
            })
        );
        assert_eq!(
            changes(None, Some(&json!({"name": "Ana"}))),
            json!({"before": null, "after": {"name": "Ana"}}),
            "a creation records every field"
        );
    }
}
