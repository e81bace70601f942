//! What a business asks its customers to pay when they book: nothing, a
//! deposit (a fixed amount or a percentage of the price) or the whole price,
//! how long a booking waits for its payment before its time is freed, and
//! whether a card is kept at booking for the fees of a no-show or a late
//! cancellation. The business sets its terms once; a service may have its
//! own.

use serde::{Deserialize, Serialize};
use tessera_kernel::{DomainError, Result};

use crate::payments::BookingPaymentKind;

/// What is paid when booking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMode {
    /// Nothing: the customer pays at the visit.
    #[default]
    None,
    /// A deposit: `deposit_minor`, or `deposit_percent` of the price.
    Deposit,
    /// The whole price.
    Prepayment,
}

/// A business's (or a service's) payment terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentTerms {
    /// What is paid when booking.
    pub mode: PaymentMode,
    /// A fixed deposit in minor units; 0 takes `deposit_percent` of the price.
    pub deposit_minor: i64,
    /// The deposit as a percentage of the price (1 to 100), when no fixed
    /// amount is set.
    pub deposit_percent: u32,
    /// How long a booking waits for its payment, in minutes (5 to 1440);
    /// then its time is freed.
    pub hold_minutes: u32,
    /// Whether a booking keeps a card at the provider (the customer gives it
    /// once per business; only its brand and last four are kept here), for
    /// the fees below: the booking waits for it as it waits for a payment.
    pub keep_card: bool,
    /// Charged to the kept card when the customer does not come (0: none).
    pub no_show_fee_minor: i64,
    /// Charged to the kept card when the customer cancels later than
    /// `late_cancellation_hours` before the start (0: none).
    pub late_cancellation_fee_minor: i64,
    /// How many hours before the start a customer's cancellation is late (1
    /// to 720).
    pub late_cancellation_hours: u32,
}

impl Default for PaymentTerms {
    fn default() -> Self {
        Self {
            mode: PaymentMode::None,
            deposit_minor: 0,
            deposit_percent: 20,
            hold_minutes: 15,
            keep_card: false,
            no_show_fee_minor: 0,
            late_cancellation_fee_minor: 0,
            late_cancellation_hours: 24,
        }
    }
}

/// The fees a customer agreed to when booking with a kept card, kept with
/// the booking: a later change of the business's terms does not change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardFees {
    /// Charged when the customer does not come.
    pub no_show_fee_minor: i64,
    /// Charged when the customer cancels late.
    pub late_cancellation_fee_minor: i64,
    /// How many hours before the start a cancellation is late.
    pub late_cancellation_hours: u32,
}

impl CardFees {
    /// As stored with a booking; unreadable fees are an internal error.
    pub fn from_json(raw: &str) -> Result<Self> {
        serde_json::from_str(raw)
            .map_err(|e| DomainError::Internal(format!("a booking's stored card fees are unreadable: {e}")))
    }

    /// As stored with a booking.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The fee of a cancellation `notice` before the start, if it is late.
    pub fn late_cancellation_fee(&self, notice: chrono::Duration) -> Option<i64> {
        let late = notice < chrono::Duration::hours(i64::from(self.late_cancellation_hours));
        (late && self.late_cancellation_fee_minor > 0).then_some(self.late_cancellation_fee_minor)
    }
}

/// The largest fixed deposit, in minor units.
pub const MAX_DEPOSIT_MINOR: i64 = 100_000_000;

impl PaymentTerms {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        if !(0..=MAX_DEPOSIT_MINOR).contains(&self.deposit_minor) {
            return Err(DomainError::invalid("depositMinor", format!("must be between 0 and {MAX_DEPOSIT_MINOR}")));
        }
        if !(1..=100).contains(&self.deposit_percent) {
            return Err(DomainError::invalid("depositPercent", "must be between 1 and 100"));
        }
        if !(5..=1440).contains(&self.hold_minutes) {
            return Err(DomainError::invalid("holdMinutes", "must be between 5 and 1440"));
        }
        for (field, fee) in
            [("noShowFeeMinor", self.no_show_fee_minor), ("lateCancellationFeeMinor", self.late_cancellation_fee_minor)]
        {
            if !(0..=MAX_DEPOSIT_MINOR).contains(&fee) {
                return Err(DomainError::invalid(field, format!("must be between 0 and {MAX_DEPOSIT_MINOR}")));
            }
            if fee > 0 && !self.keep_card {
                return Err(DomainError::invalid(field, "a fee is charged to a kept card: set keepCard too"));
            }
        }
        if !(1..=720).contains(&self.late_cancellation_hours) {
            return Err(DomainError::invalid("lateCancellationHours", "must be between 1 and 720"));
        }
        Ok(())
    }

    /// The fees a booking made under these terms agrees to, when they keep
    /// a card.
    pub fn card_fees(&self) -> Option<CardFees> {
        self.keep_card.then_some(CardFees {
            no_show_fee_minor: self.no_show_fee_minor,
            late_cancellation_fee_minor: self.late_cancellation_fee_minor,
            late_cancellation_hours: self.late_cancellation_hours,
        })
    }

    /// What a booking priced `price_minor` asks when booked: the kind and the
    /// amount, or `None` when nothing is due (no terms, or a free service).
    /// A fixed deposit above the price asks the price.
    pub fn due_at_booking(&self, price_minor: i64) -> Option<(BookingPaymentKind, i64)> {
        let due = match self.mode {
            PaymentMode::None => return None,
            PaymentMode::Prepayment => (BookingPaymentKind::Prepayment, price_minor),
            PaymentMode::Deposit if self.deposit_minor > 0 => {
                (BookingPaymentKind::Deposit, self.deposit_minor.min(price_minor))
            }
            // Rounded up: a 15 % deposit of 9.99 is 1.50, never 1.49.
            PaymentMode::Deposit => {
                (BookingPaymentKind::Deposit, (price_minor * i64::from(self.deposit_percent) + 99) / 100)
            }
        };
        (due.1 > 0).then_some(due)
    }

    /// Terms as stored (JSON); unreadable terms are an internal error.
    pub fn from_json(raw: &str) -> Result<Self> {
        serde_json::from_str(raw)
            .map_err(|e| DomainError::Internal(format!("stored payment terms are unreadable: {e}")))
    }

    /// These terms as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_deposit_rounds_up_and_a_fixed_one_never_exceeds_the_price() {
        let percent = PaymentTerms { mode: PaymentMode::Deposit, deposit_percent: 15, ..PaymentTerms::default() };
        assert_eq!(percent.due_at_booking(999), Some((BookingPaymentKind::Deposit, 150)));
        let fixed = PaymentTerms { mode: PaymentMode::Deposit, deposit_minor: 2_000, ..PaymentTerms::default() };
        assert_eq!(fixed.due_at_booking(1_500), Some((BookingPaymentKind::Deposit, 1_500)));
        assert_eq!(fixed.due_at_booking(0), None);
        let full = PaymentTerms { mode: PaymentMode::Prepayment, ..PaymentTerms::default() };
        assert_eq!(full.due_at_booking(4_500), Some((BookingPaymentKind::Prepayment, 4_500)));
        assert_eq!(PaymentTerms::default().due_at_booking(4_500), None);
    }

    #[test]
    fn terms_out_of_range_are_refused() {
        assert!(PaymentTerms { hold_minutes: 2, ..PaymentTerms::default() }.validate().is_err());
        assert!(PaymentTerms { deposit_percent: 0, ..PaymentTerms::default() }.validate().is_err());
        assert!(PaymentTerms { deposit_minor: -1, ..PaymentTerms::default() }.validate().is_err());
        assert!(PaymentTerms::default().validate().is_ok());
        let fee_without_card = PaymentTerms { no_show_fee_minor: 1_000, ..PaymentTerms::default() };
        assert!(fee_without_card.validate().is_err());
        assert!(PaymentTerms { keep_card: true, ..fee_without_card }.validate().is_ok());
        assert!(PaymentTerms { late_cancellation_hours: 0, ..PaymentTerms::default() }.validate().is_err());
    }

    #[test]
    fn terms_stored_before_cards_were_kept_read_with_no_card() {
        let stored = r#"{"mode":"deposit","depositMinor":0,"depositPercent":20,"holdMinutes":15}"#;
        let terms = PaymentTerms::from_json(stored).unwrap();
        assert_eq!(terms.card_fees(), None);
        assert_eq!(terms.late_cancellation_hours, 24);
    }

    #[test]
    fn a_cancellation_is_late_inside_the_agreed_hours_only() {
        let fees = CardFees { no_show_fee_minor: 0, late_cancellation_fee_minor: 1_500, late_cancellation_hours: 24 };
        assert_eq!(fees.late_cancellation_fee(chrono::Duration::hours(23)), Some(1_500));
        assert_eq!(fees.late_cancellation_fee(chrono::Duration::hours(24)), None);
        let free = CardFees { late_cancellation_fee_minor: 0, ..fees };
        assert_eq!(free.late_cancellation_fee(chrono::Duration::hours(1)), None);
    }
}
