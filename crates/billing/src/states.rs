//! The subscription state machine, written once. Every change of status goes
//! through [`next`]; anything it does not list is refused, so no code path can
//! move a subscription where the diagram does not go.
//!
//! ```text
//! (start, trial unused) ─────────────▶ TRIALING
//! (start, trial used) ───────────────▶ INACTIVE        (free tier until paid)
//! TRIALING ─trial ends, paid─────────▶ ACTIVE
//! TRIALING ─trial ends, unpaid───────▶ INACTIVE
//! TRIALING ─first charge declined────▶ PAST_DUE        (retries; access kept)
//! ACTIVE ─renewal fails──────────────▶ PAST_DUE        (access kept; retries)
//! PAST_DUE ─retries run out──────────▶ UNPAID or CANCELED (the business's policy)
//! PAST_DUE | UNPAID | INACTIVE ─paid─▶ ACTIVE
//! any but CANCELED ─cancel now───────▶ CANCELED
//! TRIALING | ACTIVE | PAST_DUE ─period ends while cancelling─▶ CANCELED
//! ```
//!
//! Cancelling at the period's end is a flag, not a status: the subscription
//! keeps its status (and the business its tier) until the period ends, and
//! resuming before then clears the flag.

use tessera_kernel::{DomainError, Result};

use crate::model::SubscriptionStatus::{self, Active, Canceled, Inactive, PastDue, Trialing, Unpaid};

/// What happened to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The trial ended and the first period was paid.
    TrialEndedPaid,
    /// The trial ended without a payment method.
    TrialEndedUnpaid,
    /// The trial ended and charging its first period was declined.
    TrialEndedPaymentFailed,
    /// A renewal's payment failed.
    RenewalFailed,
    /// The retries ran out; the business's policy keeps the subscription
    /// (unpaid, on the free tier) rather than ending it.
    RetriesExhaustedKeep,
    /// The retries ran out; the business's policy ends the subscription.
    RetriesExhaustedCancel,
    /// The open invoice was paid.
    Paid,
    /// The owner cancelled it with immediate effect.
    CancelNow,
    /// The period ended with the subscription set to cancel then.
    PeriodEndedCancelling,
}

/// The status after `event` in `from`, or `CONFLICT` naming why not.
pub fn next(from: SubscriptionStatus, event: Event) -> Result<SubscriptionStatus> {
    let to = match (from, event) {
        (Trialing, Event::TrialEndedPaid) => Active,
        (Trialing, Event::TrialEndedUnpaid) => Inactive,
        (Trialing, Event::TrialEndedPaymentFailed) => PastDue,
        (Active, Event::RenewalFailed) => PastDue,
        (PastDue, Event::RetriesExhaustedKeep) => Unpaid,
        (PastDue, Event::RetriesExhaustedCancel) => Canceled,
        (PastDue | Unpaid | Inactive, Event::Paid) => Active,
        (Trialing | Active | PastDue | Unpaid | Inactive, Event::CancelNow) => Canceled,
        (Trialing | Active | PastDue, Event::PeriodEndedCancelling) => Canceled,
        (from, event) => {
            return Err(DomainError::Conflict(format!(
                "a {} subscription cannot take {event:?}",
                from.as_upper().to_ascii_lowercase().replace('_', " ")
            )));
        }
    };
    Ok(to)
}

/// Whether a subscription in `status` may be set to end at its period's end
/// (or have that undone): one that is trialing or being paid for.
pub fn may_schedule_cancel(status: SubscriptionStatus) -> bool {
    matches!(status, Trialing | Active | PastDue)
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    const EVENTS: [Event; 9] = [
        Event::TrialEndedPaid,
        Event::TrialEndedUnpaid,
        Event::TrialEndedPaymentFailed,
        Event::RenewalFailed,
        Event::RetriesExhaustedKeep,
        Event::RetriesExhaustedCancel,
        Event::Paid,
        Event::CancelNow,
        Event::PeriodEndedCancelling,
    ];

    #[test]
    fn canceled_is_terminal() {
        for event in EVENTS {
            assert!(next(Canceled, event).is_err(), "{event:?} moved a canceled subscription");
        }
    }

    #[test]
    fn only_a_payment_or_a_cancellation_leaves_the_free_tier_statuses() {
        for from in [Unpaid, Inactive] {
            for event in EVENTS {
                if let Ok(to) = next(from, event) {
                    assert!(
                        matches!((event, to), (Event::Paid, Active) | (Event::CancelNow, Canceled)),
                        "{from:?} --{event:?}--> {to:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_trial_is_past_due_only_when_its_first_charge_fails_and_never_unpaid() {
        for event in EVENTS {
            if let Ok(to) = next(Trialing, event) {
                assert!(to != Unpaid, "{event:?} gave {to:?}");
                assert!(to != PastDue || event == Event::TrialEndedPaymentFailed, "{event:?} gave {to:?}");
            }
        }
    }

    #[test]
    fn every_status_but_canceled_can_be_cancelled_now() {
        for from in SubscriptionStatus::iter().filter(|s| *s != Canceled) {
            assert_eq!(next(from, Event::CancelNow).ok(), Some(Canceled), "{from:?}");
        }
    }
}
