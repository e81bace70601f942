//! The front desk's reads of booking payments (`payment:read`): the
//! business's payments, filtered and paged, and its daily takings.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use tessera_kernel::db::Access;
use tessera_kernel::paging::{Page, PageRequest};
use tessera_kernel::{Permission, RequestContext, Result};
use tessera_ledger::payment_reads::{self, PaymentFilter, TakingsBy};
use tessera_ledger::payments::BookingPayment;

use crate::service::{BillingService, timezone_of};

impl BillingService {
    /// The business's booking payments, the oldest first (`payment:read`).
    pub async fn booking_payments(
        &self,
        ctx: &RequestContext,
        filter: &PaymentFilter,
        page: &PageRequest,
    ) -> Result<Page<BookingPayment>> {
        tessera_kernel::paging::check_time_window(filter.from, filter.to)?;
        let keyset = page.keyset()?;
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::PaymentRead, Access::Read).await?;
        let found = payment_reads::page(&*txn, auth.tenant_id, filter, &keyset).await?;
        txn.commit().await?;
        Ok(found)
    }

    /// The business's takings of each local day from `from` to `to` (at most
    /// a month), per provider and currency (`payment:read`).
    pub async fn takings(
        &self,
        ctx: &RequestContext,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, TakingsBy>> {
        let (auth, txn) = self.db.begin_authorized(ctx, Permission::PaymentRead, Access::Read).await?;
        let tenant = tessera_tenant::load_tenant_in_scope(&*txn, auth.tenant_id).await?;
        let days = payment_reads::takings(&*txn, auth.tenant_id, timezone_of(&tenant)?, (from, to)).await?;
        txn.commit().await?;
        Ok(days)
    }
}
