//! Reviews: one per completed booking, by its customer, within the tenant's
//! window; read in batches for DataLoaders, limited to the bookings the caller
//! may see.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tessera_audit::AuditEntry;
use tessera_kernel::db::Access;
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{BookingId, DomainError, Permission, RequestContext, Result};

use crate::booking_reads::visible_ids;
use crate::entity::{provider, review};
use crate::model::{BookingStatus, Review, parse_text};
use crate::reach::Own;
use crate::service::SchedulingService;

impl SchedulingService {
    /// Records the customer's review of a completed booking (one per booking) and
    /// updates the provider's rating. `review:create_own` reviews the actor's own
    /// bookings as a customer.
    pub async fn review_booking(
        &self,
        ctx: &RequestContext,
        id: BookingId,
        rating: i32,
        comment: Option<String>,
    ) -> Result<Review> {
        let rating = i16::try_from(rating)
            .ok()
            .filter(|r| (1..=5).contains(r))
            .ok_or_else(|| DomainError::invalid("rating", "must be 1 to 5"))?;
        let comment = parse_text("comment", comment.as_deref(), 2000)?;
        let (auth, txn, visible) = self
            .open_reach(ctx, Permission::BookingManage, Permission::ReviewCreateOwn, Own::Customer, Access::Write)
            .await?;
        let booking = Self::booking_within(&txn, auth.tenant_id, id, &visible).await?;
        if booking.status != BookingStatus::Completed {
            return Err(DomainError::invalid("status", "only a completed booking can be reviewed"));
        }
        let row = review::ActiveModel {
            id: Set(uuid_v7_at(ctx.now())),
            tenant_id: Set(auth.tenant_id),
            booking_id: Set(booking.id),
            provider_id: Set(booking.provider_id),
            customer_id: Set(booking.customer_id),
            rating: Set(rating),
            comment: Set(comment),
            created_at: Set(ctx.now()),
        }
        .insert(&txn)
        .await
        .map_err(|e| DomainError::conflict_on_unique(e, "this booking has been reviewed already"))?;
        // One statement, so concurrent reviews of one provider cannot lose a count.
        provider::Entity::update_many()
            .col_expr(provider::Column::RatingSum, Expr::col(provider::Column::RatingSum).add(i64::from(rating)))
            .col_expr(provider::Column::ReviewCount, Expr::col(provider::Column::ReviewCount).add(1))
            .filter(provider::Column::TenantId.eq(auth.tenant_id))
            .filter(provider::Column::Id.eq(booking.provider_id))
            .exec(&txn)
            .await?;
        let entry = AuditEntry {
            action: "booking.reviewed",
            target_type: "booking",
            target_id: booking.id.to_string(),
            before: None,
            after: Some(serde_json::json!({ "rating": row.rating, "comment": row.comment })),
        };
        tessera_audit::append(&txn, ctx, &auth, entry).await?;
        txn.commit().await?;
        Ok(row.into())
    }

    /// The reviews of several bookings.
    pub async fn reviews_of_bookings(
        &self,
        ctx: &RequestContext,
        ids: &[BookingId],
    ) -> Result<HashMap<BookingId, Review>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let ids = visible_ids(&txn, auth.tenant_id, ids, &visible).await?;
        let rows = review::Entity::find()
            .filter(review::Column::TenantId.eq(auth.tenant_id))
            .filter(review::Column::BookingId.is_in(ids))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|r| (r.booking_id, Review::from(r))).collect())
    }

    /// Reviews by id, of bookings the caller may read.
    pub async fn reviews_by_ids(
        &self,
        ctx: &RequestContext,
        ids: &[uuid::Uuid],
    ) -> Result<HashMap<uuid::Uuid, Review>> {
        let (auth, txn, visible) = self.open_bookings(ctx).await?;
        let rows = review::Entity::find()
            .filter(review::Column::TenantId.eq(auth.tenant_id))
            .filter(review::Column::Id.is_in(ids.iter().copied()))
            .all(&txn)
            .await?;
        let bookings: Vec<BookingId> = rows.iter().map(|r| r.booking_id).collect();
        let readable = visible_ids(&txn, auth.tenant_id, &bookings, &visible).await?;
        txn.commit().await?;
        Ok(rows.into_iter().filter(|r| readable.contains(&r.booking_id)).map(|r| (r.id, Review::from(r))).collect())
    }
}
