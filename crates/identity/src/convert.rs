//! Rows into the crate's model types.

use crate::entity::{session, user};
use crate::model::{Session, User};

impl From<user::Model> for User {
    fn from(row: user::Model) -> Self {
        Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            status: row.status,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
            email_verified_at: row.email_verified_at,
            status_reason: row.status_reason,
            status_changed_at: row.status_changed_at,
            status_changed_by: row.status_changed_by,
        }
    }
}

impl From<session::Model> for Session {
    fn from(row: session::Model) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            idle_expires_at: row.idle_expires_at,
            absolute_expires_at: row.absolute_expires_at,
            revoked_at: row.revoked_at,
            revoked_reason: row.revoked_reason,
            user_agent: row.user_agent,
            ip: row.ip,
        }
    }
}
