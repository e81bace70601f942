//! Rows to domain types.

use crate::entity::{
    booking, booking_addon, customer, provider, review, schedule_exception, service, service_addon, working_hours,
};
use crate::model::{
    Addon, BookedAddon, Booking, Customer, DayWindow, ExceptionKind, OpeningMode, Provider, Review, ScheduleException,
    Service, WeeklyInterval,
};

impl From<provider::Model> for Provider {
    fn from(row: provider::Model) -> Self {
        let average_rating = (row.review_count > 0).then(|| row.rating_sum as f64 / f64::from(row.review_count));
        Self {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            title: row.title,
            provider_type: row.provider_type,
            email: row.email,
            phone: row.phone,
            active: row.active,
            average_rating,
            review_count: row.review_count,
            resource_type: row.resource_type,
            created_at: row.created_at,
        }
    }
}

impl From<&working_hours::Model> for WeeklyInterval {
    fn from(row: &working_hours::Model) -> Self {
        Self {
            weekday: u8::try_from(row.weekday).unwrap_or(0),
            window: DayWindow { start_minute: row.start_minute, end_minute: row.end_minute },
        }
    }
}

impl From<schedule_exception::Model> for ScheduleException {
    fn from(row: schedule_exception::Model) -> Self {
        let window = match (row.start_minute, row.end_minute) {
            (Some(start_minute), Some(end_minute)) => Some(DayWindow { start_minute, end_minute }),
            _ => None,
        };
        let opening = match (row.kind, row.adds_to_weekly_hours) {
            (ExceptionKind::Closed, _) => None,
            (ExceptionKind::Open, false) => Some(OpeningMode::ReplaceWeeklyHours),
            (ExceptionKind::Open, true) => Some(OpeningMode::AddToWeeklyHours),
        };
        Self {
            id: row.id,
            provider_id: row.provider_id,
            date: row.date,
            kind: row.kind,
            opening,
            window,
            reason: row.reason,
        }
    }
}

impl From<service::Model> for Service {
    fn from(row: service::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            price_minor: row.price_minor,
            currency: row.currency,
            duration_minutes: row.duration_minutes,
            buffer_before_minutes: row.buffer_before_minutes,
            buffer_after_minutes: row.buffer_after_minutes,
            active: row.active,
            deleted_at: row.deleted_at,
            // Written by `set_service_payment_terms` from checked terms only.
            payment_terms: row
                .payment_policy
                .as_deref()
                .and_then(|raw| tessera_ledger::PaymentTerms::from_json(raw).ok()),
            class_capacity: row.class_capacity,
            resource_need: row.resource_type.map(|resource_type| crate::model::ResourceNeed {
                resource_type,
                offset_minutes: row.resource_offset_minutes,
                minutes: row.resource_minutes,
            }),
        }
    }
}

impl From<service_addon::Model> for Addon {
    fn from(row: service_addon::Model) -> Self {
        Self {
            id: row.id,
            service_id: row.service_id,
            name: row.name,
            price_minor: row.price_minor,
            duration_minutes: row.duration_minutes,
            active: row.active,
        }
    }
}

impl From<customer::Model> for Customer {
    fn from(row: customer::Model) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            email: row.email,
            phone: row.phone,
            notes: row.notes,
            language: row.language,
            created_at: row.created_at,
        }
    }
}

impl From<booking::Model> for Booking {
    fn from(row: booking::Model) -> Self {
        Self {
            id: row.id,
            provider_id: row.provider_id,
            service_id: row.service_id,
            customer_id: row.customer_id,
            status: row.status,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            service_name: row.service_name,
            price_minor: row.price_minor,
            currency: row.currency,
            duration_minutes: row.duration_minutes,
            notes: row.notes,
            created_by: row.created_by,
            created_at: row.created_at,
            confirmed_at: row.confirmed_at,
            started_at: row.started_at,
            completed_at: row.completed_at,
            no_show_at: row.no_show_at,
            cancelled_at: row.cancelled_at,
            cancelled_by: row.cancelled_by,
            cancellation_reason: row.cancellation_reason,
            refund_minor: row.refund_minor,
            payment_due_by: row.payment_due_by,
            // Written by this crate from `CardFees`; unreadable is none.
            card_fees: row.card_fees.as_deref().and_then(|raw| tessera_ledger::CardFees::from_json(raw).ok()),
            class_session_id: row.class_session_id,
            seats: row.seats,
            series_id: row.series_id,
            offer_expires_at: row.offer_expires_at,
        }
    }
}

impl From<booking_addon::Model> for BookedAddon {
    fn from(row: booking_addon::Model) -> Self {
        Self {
            addon_id: row.addon_id,
            name: row.name,
            price_minor: row.price_minor,
            duration_minutes: row.duration_minutes,
        }
    }
}

impl From<review::Model> for Review {
    fn from(row: review::Model) -> Self {
        Self {
            id: row.id,
            booking_id: row.booking_id,
            provider_id: row.provider_id,
            rating: row.rating,
            comment: row.comment,
            created_at: row.created_at,
        }
    }
}
