//! Two customer records of one person merged into one: the second's
//! bookings, series, reviews, waitlist entries, payments and kept card
//! follow to the first, its details fill the first's blanks, and the second
//! record is gone. One transaction, audited. Refused (`CONFLICT`, nothing
//! changed) where the two cannot be one: both hold a seat in one class
//! session, both wait for one service, both are linked to an account.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QuerySelect,
};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::{
    ClassSessionId, CustomerId, DomainError, Permission, RequestContext, Result, ServiceId, TenantId,
};

use crate::booking::ACTIVE;
use crate::entity::{booking, booking_series, calendar_feed, customer, review, waitlist_entry};
use crate::model::{Customer, WaitlistStatus};
use crate::service::{SchedulingService, not_found};

impl SchedulingService {
    /// Merges customer `merged` into customer `kept` (see the module):
    /// `customer:manage`. Answers the record kept.
    pub async fn merge_customers(
        &self,
        ctx: &RequestContext,
        kept: CustomerId,
        merged: CustomerId,
    ) -> Result<Customer> {
        if kept == merged {
            return Err(DomainError::invalid("mergeId", "a customer cannot be merged into itself"));
        }
        let (auth, txn) = self.open(ctx, Permission::CustomerManage, Access::Write).await?;
        let tenant_id = auth.tenant_id;
        let keep = customer::Entity::find_by_id((tenant_id, kept)).one(&txn).await?.ok_or(not_found("customer"))?;
        let gone = customer::Entity::find_by_id((tenant_id, merged)).one(&txn).await?.ok_or(not_found("customer"))?;
        if keep.user_id.is_some() && gone.user_id.is_some() {
            return Err(DomainError::Conflict(
                "both records are linked to an account: unlink one first (updateCustomer, userId: null)".into(),
            ));
        }
        check_no_clash(&txn, tenant_id, (kept, merged)).await?;
        let now = ctx.now();
        booking::Entity::update_many()
            .col_expr(booking::Column::CustomerId, Expr::value(kept))
            .filter(booking::Column::TenantId.eq(tenant_id))
            .filter(booking::Column::CustomerId.eq(merged))
            .exec(&txn)
            .await?;
        booking_series::Entity::update_many()
            .col_expr(booking_series::Column::CustomerId, Expr::value(kept))
            .filter(booking_series::Column::TenantId.eq(tenant_id))
            .filter(booking_series::Column::CustomerId.eq(merged))
            .exec(&txn)
            .await?;
        review::Entity::update_many()
            .col_expr(review::Column::CustomerId, Expr::value(kept))
            .filter(review::Column::TenantId.eq(tenant_id))
            .filter(review::Column::CustomerId.eq(merged))
            .exec(&txn)
            .await?;
        waitlist_entry::Entity::update_many()
            .col_expr(waitlist_entry::Column::CustomerId, Expr::value(kept))
            .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
            .filter(waitlist_entry::Column::CustomerId.eq(merged))
            .exec(&txn)
            .await?;
        // Its feeds' secret addresses were given to the other record's
        // holder: they stop, and follow only as history.
        calendar_feed::Entity::update_many()
            .col_expr(calendar_feed::Column::CustomerId, Expr::value(kept))
            .col_expr(calendar_feed::Column::RevokedAt, Expr::value(now))
            .filter(calendar_feed::Column::TenantId.eq(tenant_id))
            .filter(calendar_feed::Column::CustomerId.eq(merged))
            .filter(calendar_feed::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        calendar_feed::Entity::update_many()
            .col_expr(calendar_feed::Column::CustomerId, Expr::value(kept))
            .filter(calendar_feed::Column::TenantId.eq(tenant_id))
            .filter(calendar_feed::Column::CustomerId.eq(merged))
            .exec(&txn)
            .await?;
        tessera_ledger::payments::move_customer(&txn, tenant_id, merged, kept).await?;
        tessera_ledger::cards::move_customer(&txn, tenant_id, merged, kept).await?;
        customer::Entity::delete_by_id((tenant_id, merged)).exec(&txn).await?;
        let before = keep.clone();
        let mut row = keep.into_active_model();
        let fill = |mine: Option<String>, theirs: &Option<String>| mine.or_else(|| theirs.clone());
        row.email = Set(fill(before.email.clone(), &gone.email));
        row.phone = Set(fill(before.phone.clone(), &gone.phone));
        row.language = Set(fill(before.language.clone(), &gone.language));
        row.user_id = Set(before.user_id.or(gone.user_id));
        row.notes = Set(joined_notes(before.notes.as_deref(), gone.notes.as_deref()));
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        let was = serde_json::json!({ "kept": before, "merged": gone });
        let entry = AuditEntry::change("customer.merged", "customer", kept, Some(&was), Some(&serde_json::json!(row)))?;
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }
}

/// Both records' notes, the kept one's first, within a record's 2,000
/// characters.
fn joined_notes(kept: Option<&str>, merged: Option<&str>) -> Option<String> {
    let joined = match (kept, merged) {
        (Some(a), Some(b)) => format!("{a}\n\n{b}"),
        (Some(a), None) => a.to_owned(),
        (None, Some(b)) => b.to_owned(),
        (None, None) => return None,
    };
    Some(joined.chars().take(2000).collect())
}

/// `CONFLICT` when the two records each hold an active seat in one class
/// session, or each wait for one service: one person holds one of each.
/// (The database's unique indexes refuse the same if a parallel request
/// makes one meanwhile.)
async fn check_no_clash(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    (kept, merged): (CustomerId, CustomerId),
) -> Result<()> {
    let seats = |who: CustomerId| {
        booking::Entity::find()
            .select_only()
            .column(booking::Column::ClassSessionId)
            .filter(booking::Column::TenantId.eq(tenant_id))
            .filter(booking::Column::CustomerId.eq(who))
            .filter(booking::Column::ClassSessionId.is_not_null())
            .filter(booking::Column::Status.is_in(ACTIVE))
    };
    let mine: Vec<Option<ClassSessionId>> = seats(kept).into_tuple().all(txn).await?;
    let shared =
        seats(merged).filter(booking::Column::ClassSessionId.is_in(mine.into_iter().flatten())).count(txn).await?;
    if shared > 0 {
        return Err(DomainError::Conflict(
            "both records hold a seat in the same class session: cancel one of the two seats first".into(),
        ));
    }
    let waits = |who: CustomerId| {
        waitlist_entry::Entity::find()
            .select_only()
            .column(waitlist_entry::Column::ServiceId)
            .filter(waitlist_entry::Column::TenantId.eq(tenant_id))
            .filter(waitlist_entry::Column::CustomerId.eq(who))
            .filter(waitlist_entry::Column::Status.is_in([WaitlistStatus::Waiting, WaitlistStatus::Offered]))
    };
    let mine: Vec<ServiceId> = waits(kept).into_tuple().all(txn).await?;
    let shared = waits(merged).filter(waitlist_entry::Column::ServiceId.is_in(mine)).count(txn).await?;
    if shared > 0 {
        return Err(DomainError::Conflict(
            "both records wait for the same service: take one off the waitlist first".into(),
        ));
    }
    Ok(())
}
