//! Typed identifiers.
//!
//! Every id is a UUIDv7 wrapped in its own type, so a `UserId` can never be passed
//! where a `TenantId` is expected. v7 ids sort by creation time, which keyset paging
//! relies on. Ids are generated from the request's clock, not the ambient one.

use std::fmt;
use std::str::FromStr;

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use uuid::{ContextV7, Timestamp, Uuid};

/// One counter for the process, so ids made within the same millisecond (or from a
/// clock that stands still, in tests) still sort in the order they were made.
static V7_CONTEXT: Mutex<ContextV7> = Mutex::new(ContextV7::new());

/// A UUIDv7 whose timestamp comes from `at`, greater than every id this process
/// made before.
pub fn uuid_v7_at(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    let context = V7_CONTEXT.lock().unwrap_or_else(PoisonError::into_inner);
    Uuid::new_v7(Timestamp::from_unix(&*context, seconds, at.timestamp_subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_at_the_same_instant_sort_in_creation_order() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let ids: Vec<Uuid> = (0..1000).map(|_| uuid_v7_at(at)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sea_orm::DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id created at `at`.
            pub fn generate(at: DateTime<Utc>) -> Self {
                Self(uuid_v7_at(at))
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        // Ids are never auto-incremented; SeaORM requires the trait for primary keys.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    };
}

define_id!(
    /// A tenant: one business (salon, clinic, studio) on Tessera.
    TenantId
);
define_id!(
    /// A person who can sign in; global across tenants.
    UserId
);
define_id!(
    /// A user's membership in a tenant.
    MembershipId
);
define_id!(
    /// A signed-in session (and its refresh-token family).
    SessionId
);
define_id!(
    /// A provider (staff member) who performs services.
    ProviderId
);
define_id!(
    /// A service a tenant offers.
    ServiceId
);
define_id!(
    /// An optional extra to a service.
    AddonId
);
define_id!(
    /// A tenant's customer.
    CustomerId
);
define_id!(
    /// A booking.
    BookingId
);
define_id!(
    /// A series of recurring appointments.
    BookingSeriesId
);
define_id!(
    /// A customer's place on the waitlist of a service.
    WaitlistEntryId
);
define_id!(
    /// A session of a class: a service taught to several customers at once.
    ClassSessionId
);
define_id!(
    /// A recurring class: the rule that generates its sessions.
    ClassScheduleId
);
define_id!(
    /// A role in a tenant: a named set of permissions.
    RoleId
);
define_id!(
    /// A group of users in a tenant, to assign roles to together.
    GroupId
);
define_id!(
    /// One user's membership in a group.
    GroupMemberId
);
define_id!(
    /// A role granted to a user or group, in a scope, for a time.
    AssignmentId
);
define_id!(
    /// A message to deliver: to a person over their channels, or to a tenant's
    /// webhook endpoints. Also the idempotency key receivers see on every attempt.
    NotificationId
);
define_id!(
    /// One notification's delivery over one channel to one destination.
    DeliveryId
);
define_id!(
    /// A URL a tenant receives signed webhooks at.
    WebhookEndpointId
);
define_id!(
    /// One version of a plan in the platform's catalogue.
    PlanId
);
define_id!(
    /// A tenant's subscription to a plan.
    SubscriptionId
);
define_id!(
    /// An invitation of an email address to join a tenant.
    InvitationId
);
define_id!(
    /// A passkey (WebAuthn credential) of a user.
    PasskeyId
);
define_id!(
    /// A personal API key; a request made with it runs as a session of this id.
    ApiKeyId
);
define_id!(
    /// A partner client (OAuth 2.0 client credentials) of a tenant; what it does is
    /// recorded under a session of this id.
    OAuthClientId
);
define_id!(
    /// A dated change to a provider's or a tenant's usual hours.
    ScheduleExceptionId
);
