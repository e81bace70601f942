//! The tenant types other domains show: a business's tier (a plan's, in
//! billing).

use async_graphql::Enum;

/// A tenant's service tier.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "TenantTier", remote = "tessera_tenant::TenantTier")]
pub(crate) enum TenantTierEnum {
    Free,
    Basic,
    Premium,
    Enterprise,
}

/// Something a business uses and its tier may limit.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UsageMetric", remote = "tessera_ledger::Metric")]
pub(crate) enum UsageMetricEnum {
    /// Active providers.
    Providers,
    /// Members (staff seats).
    StaffSeats,
    /// Bookings made in the period (cancelling one does not give it back).
    Bookings,
    /// Text messages sent in the period.
    Sms,
    /// Emails sent in the period.
    Emails,
    /// Webhook endpoints.
    WebhookEndpoints,
    /// API keys and partner clients.
    ApiCredentials,
    /// API requests per minute.
    RequestsPerMinute,
    /// GraphQL query cost per minute.
    ComplexityPerMinute,
    /// API requests made in the period (for the statistics; not limited by
    /// default).
    ApiRequests,
    /// Webhook deliveries sent in the period (each once, whatever its
    /// retries; not limited by default).
    WebhookDeliveries,
    /// Customers' booking payments that went through in the period (the
    /// business's payment volume; not limited by default).
    BookingPayments,
}
