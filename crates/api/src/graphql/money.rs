//! Amounts of money as every domain's types show them.

use async_graphql::SimpleObject;

use crate::error::{ApiError, ApiResult};

/// An amount of money.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Money")]
pub(crate) struct MoneyObject {
    /// In minor units (cents).
    amount_minor: i32,
    /// ISO 4217 code.
    currency: String,
}

/// An amount as the API shows it. Prices and booking totals are bounded when
/// they are entered (`MAX_PRICE_MINOR`), so this never fails; should a stored
/// amount not fit, the field fails rather than show a wrong number.
pub(crate) fn money(minor: i64, currency: &str) -> ApiResult<MoneyObject> {
    let amount_minor = i32::try_from(minor)
        .map_err(|_| ApiError::internal(format!("an amount of {minor} minor units does not fit")))?;
    Ok(MoneyObject { amount_minor, currency: currency.to_owned() })
}
