//! The complexity budget: a validated operation's cost (the same count that
//! `TESSERA_MAX_COMPLEXITY` caps, a page costing its size times an item) is
//! spent from its business's `complexity_per_minute` before it runs. Spending
//! happens in an async-graphql extension because validation is where the cost
//! is known; an operation over budget runs nothing and answers `RATE_LIMITED`.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};
use chrono::{DateTime, Utc};
use tessera_kernel::TenantId;

use super::gcra::Charge;
use super::{Checked, Policy, RateLimits};

/// One request's access to its business's complexity budget, put in the
/// request's data; it keeps the verdict for the answer's status and headers.
#[derive(Debug)]
pub(crate) struct ComplexityGate {
    limits: Arc<RateLimits>,
    tenant: TenantId,
    per_minute: u64,
    at: DateTime<Utc>,
    checked: Mutex<Option<Checked>>,
}

impl ComplexityGate {
    pub(super) fn new(limits: Arc<RateLimits>, tenant: TenantId, per_minute: u64, at: DateTime<Utc>) -> Self {
        Self { limits, tenant, per_minute, at, checked: Mutex::new(None) }
    }

    /// Spends `cost`; the error when the budget has not that much left.
    async fn spend(&self, cost: u64) -> Option<ServerError> {
        let tenant = self.tenant;
        let charge = Charge { key: format!("complexity:{{{tenant}}}"), per_minute: self.per_minute, cost };
        let verdict = self.limits.charge(std::slice::from_ref(&charge), self.at).await.first().copied()?;
        let checked = Checked { policy: Policy::Complexity, limit: self.per_minute, verdict };
        *self.checked.lock().unwrap_or_else(PoisonError::into_inner) = Some(checked);
        (!verdict.allowed).then(|| checked.error())
    }

    /// The verdict, once the operation was validated.
    pub(crate) fn checked(&self) -> Option<Checked> {
        *self.checked.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The schema extension that spends each operation's cost.
pub(crate) struct ComplexityBudget;

impl ExtensionFactory for ComplexityBudget {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Spender)
    }
}

struct Spender;

#[async_trait::async_trait]
impl Extension for Spender {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let validated = next.run(ctx).await?;
        if let Some(gate) = ctx.data_opt::<Arc<ComplexityGate>>()
            && let Some(refused) = gate.spend(u64::try_from(validated.complexity).unwrap_or(u64::MAX)).await
        {
            return Err(vec![refused]);
        }
        Ok(validated)
    }
}
