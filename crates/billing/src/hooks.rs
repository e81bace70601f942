//! How billing's notices reach people. Billing decides what to say and when;
//! `api` (which knows who a business's owners are) queues the messages, in the
//! transaction that made the change.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use tessera_kernel::{Result, TenantId};

/// Which notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The trial ends in a few days.
    TrialEnding,
    /// The subscription started, will end, carries on or ended.
    SubscriptionChanged,
    /// A payment was declined; `last_try`: the next try is the last (urgent).
    PaymentFailed {
        /// Whether the next try is the last.
        last_try: bool,
    },
    /// An invoice was paid.
    PaymentSucceeded,
}

/// A notice to a business's owners (and its billing email).
#[derive(Debug, Clone, PartialEq)]
pub struct BillingNotice {
    /// Which notice.
    pub kind: NoticeKind,
    /// The message's variables (`businessName`, `planName`, …).
    pub variables: serde_json::Value,
    /// Sent at most once per business with this key.
    pub dedupe_key: String,
    /// The billing email, which hears too when it is not an owner's.
    pub billing_email: Option<String>,
}

/// Queues billing's notices.
#[async_trait]
pub trait BillingHooks: Send + Sync {
    /// Queues `notice` for `tenant_id`'s owners inside `txn`.
    async fn notice(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: TenantId,
        notice: BillingNotice,
        at: DateTime<Utc>,
    ) -> Result<()>;
}
