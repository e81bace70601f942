//! The audit log: its records, read page by page, and the check of its hash
//! chain.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_audit::{AuditFilter, AuditRecord};
use tessera_kernel::Permission;

use crate::error::ApiResult;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::identity::objects::{OAuthClientObject, UserObject, user_by_id};
use crate::graphql::{Requires, loaders, parse_id, request, services};

/// One change to the tenant's data: who, what, when, from where, and the changed
/// fields before and after (secrets redacted).
pub(crate) struct AuditRecordObject(AuditRecord);

#[Object(name = "AuditRecord")]
impl AuditRecordObject {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its place in the tenant's hash chain, from 1.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// Who acted; null for the system.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.actor_user_id).await
    }
    /// The session they acted in (for a partner client, the client's id).
    async fn session_id(&self) -> Option<ID> {
        self.0.session_id.map(|id| ID(id.to_string()))
    }
    /// The partner client that acted, when one did; `actor` is then whoever
    /// made the client (whose rights bound it).
    async fn partner_client(&self, ctx: &Context<'_>) -> ApiResult<Option<OAuthClientObject>> {
        let Some(id) = self.0.session_id else { return Ok(None) };
        let found = loaders(ctx)?.partner_clients().load_one(tessera_kernel::OAuthClientId(id.as_uuid())).await?;
        Ok(found.map(OAuthClientObject::from))
    }
    /// What was done, `resource.verb` (`booking.cancelled`).
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of thing changed (`booking`).
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    /// Its id.
    async fn target_id(&self) -> &str {
        &self.0.target_id
    }
    /// `{"before": {…}, "after": {…}}` of the fields that changed.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(self.0.changes.clone())
    }
    /// The request it was part of (`x-request-id`).
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// The client's IP address.
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }
    /// The client's user agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    /// When.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// SHA-256 over its content and the previous record's hash.
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

/// Which audit records to list.
#[derive(InputObject, Default)]
pub(crate) struct AuditFilterInput {
    /// Only this action (`booking.cancelled`).
    action: Option<String>,
    /// Only this kind of target (`booking`).
    target_type: Option<String>,
    /// Only this target.
    target_id: Option<String>,
    /// Only this user's changes.
    actor_id: Option<ID>,
    /// At or after.
    from: Option<DateTime<Utc>>,
    /// Before.
    to: Option<DateTime<Utc>>,
}

/// The answer to "can we trust the log?".
#[derive(SimpleObject)]
#[graphql(name = "AuditChainVerification")]
pub(crate) struct AuditChainVerificationObject {
    /// Whether every record is present, unchanged and linked to the one before.
    ok: bool,
    /// How many records were checked before the answer.
    checked: i64,
    /// Records up to this sequence number were removed by the tenant's activity
    /// retention (0: none); the chain is checked from the next one, against the
    /// hash the cut recorded.
    expired_through_seq: i64,
    /// The first sequence number where the chain breaks.
    first_broken_seq: Option<i64>,
    /// What is wrong there.
    reason: Option<String>,
}

/// Queries about the audit log.
#[derive(Default)]
pub(super) struct RecordQueries;

#[operations]
#[Object]
impl RecordQueries {
    /// The current tenant's audit log, oldest first.
    #[access(Requires(Permission::AuditRead))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<AuditFilterInput>,
    ) -> ApiResult<Connection<String, AuditRecordObject>> {
        let filter = filter.unwrap_or_default();
        let filter = AuditFilter {
            action: filter.action,
            target_type: filter.target_type,
            target_id: filter.target_id,
            actor_user_id: filter.actor_id.as_ref().map(|id| parse_id("actorId", id)).transpose()?,
            from: filter.from,
            to: filter.to,
        };
        let page =
            services(ctx)?.audit.records(request(ctx)?, &filter, &page_request(first, after, last, before)).await?;
        Ok(connection(page, |r| r.id, AuditRecordObject))
    }

    /// Walks the current tenant's whole audit chain and reports the first record that
    /// was changed, removed or cut off, if any.
    #[access(Requires(Permission::AuditRead))]
    async fn verify_audit_chain(&self, ctx: &Context<'_>) -> ApiResult<AuditChainVerificationObject> {
        let verification = services(ctx)?.audit.verify(request(ctx)?).await?;
        let checked = i64::try_from(verification.checked).unwrap_or(i64::MAX);
        let (first_broken_seq, reason) = verification.broken.unzip();
        Ok(AuditChainVerificationObject {
            ok: first_broken_seq.is_none(),
            checked,
            expired_through_seq: verification.expired_through_seq,
            first_broken_seq,
            reason,
        })
    }
}
