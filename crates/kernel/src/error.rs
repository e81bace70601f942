//! The one error vocabulary of the domain.
//!
//! Every domain operation fails with a [`DomainError`]; every `DomainError` has exactly
//! one [`ErrorCode`] from a closed set. The API layer turns these into GraphQL errors
//! in one place: clients see the code and [`DomainError::public_message`], never the
//! cause chain (SQL, driver text, paths), which goes to the log instead.

use chrono::{DateTime, Utc};
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// The result of a domain operation.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// The closed set of error codes clients can rely on (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No valid credentials were presented.
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    /// The thing does not exist, or the caller may not know it exists.
    NotFound,
    /// The input is invalid; the message says which field and why.
    BadUserInput,
    /// The request conflicts with the current state (taken slug, overlapping booking).
    Conflict,
    /// Too many attempts; retry later.
    RateLimited,
    /// The tenant used all its tier allows of something (`extensions` name the
    /// metric, the limit and when it resets).
    QuotaExceeded,
    /// The bank or the payment provider declined a payment (`extensions`
    /// carry the provider's `declineCode`); the customer must act.
    PaymentDeclined,
    /// A price quote (a plan change's) expired or no longer matches the
    /// subscription; preview it again.
    QuoteExpired,
    /// A dependency (the database, a payment provider) is unavailable;
    /// retrying later may succeed.
    ServiceUnavailable,
    /// Something failed on our side; the log has the details.
    InternalServerError,
}

impl ErrorCode {
    /// The code as it appears in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::PaymentDeclined => "PAYMENT_DECLINED",
            Self::QuoteExpired => "QUOTE_EXPIRED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }

    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 11] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::RateLimited,
        Self::QuotaExceeded,
        Self::PaymentDeclined,
        Self::QuoteExpired,
        Self::ServiceUnavailable,
        Self::InternalServerError,
    ];
}

/// Why a domain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The entity does not exist in the caller's scope.
    #[error("{entity} not found")]
    NotFound {
        /// What was looked for, e.g. "tenant".
        entity: &'static str,
    },
    /// An input field is invalid.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The input field, in the API's spelling (`slug`, `timezone`).
        field: String,
        /// Why it is invalid; safe to show.
        message: String,
    },
    /// The operation conflicts with existing state; the message is safe to show.
    #[error("{0}")]
    Conflict(String),
    /// Credentials are missing, wrong or expired; the message is safe to show.
    #[error("{0}")]
    Unauthenticated(String),
    /// The actor lacks a permission; the message is safe to show.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts.
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// A hard limit of the tenant's tier is reached; nothing was done.
    #[error("{}", quota_message(metric, *limit, *resets_at))]
    QuotaExceeded {
        /// The metric, as the API names it (`bookings`, `providers`).
        metric: &'static str,
        /// What the tenant may use.
        limit: i64,
        /// When the period ends and the count starts again; `None` for a
        /// count of things that exist (providers), freed only by removing one.
        resets_at: Option<DateTime<Utc>>,
    },
    /// A payment was declined by the bank or the provider; nothing was paid.
    #[error("the payment was declined ({code})")]
    PaymentDeclined {
        /// The provider's decline code (`card_declined`, `insufficient_funds`).
        code: String,
    },
    /// A price quote expired or no longer holds; the message is safe to show.
    #[error("{0}")]
    QuoteExpired(String),
    /// A payment provider could not be reached or failed; the text is for the
    /// log only.
    #[error("payment provider unavailable: {0}")]
    ProviderUnavailable(String),
    /// The database could not be reached.
    #[error("database unavailable")]
    Unavailable(#[source] DbErr),
    /// Any other database failure.
    #[error("database error")]
    Database(#[source] DbErr),
    /// A broken invariant on our side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// An invalid input field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), message: message.into() }
    }

    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::InvalidInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Self::PaymentDeclined { .. } => ErrorCode::PaymentDeclined,
            Self::QuoteExpired(_) => ErrorCode::QuoteExpired,
            Self::Unavailable(_) | Self::ProviderUnavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Database(_) | Self::Internal(_) => ErrorCode::InternalServerError,
        }
    }

    /// The message a client may see. Internal causes are replaced by a generic text.
    pub fn public_message(&self) -> String {
        match self {
            Self::Unavailable(_) => "the service is temporarily unavailable, try again shortly".into(),
            Self::ProviderUnavailable(_) => "the payment provider is unavailable, try again shortly".into(),
            Self::Database(_) | Self::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }

    /// The input field this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Turns a unique-constraint violation into a [`DomainError::Conflict`] with a safe
    /// message; any other database error is classified as usual.
    pub fn conflict_on_unique(err: DbErr, message: &str) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(message.to_owned()),
            _ => Self::from(err),
        }
    }
}

fn quota_message(metric: &str, limit: i64, resets_at: Option<DateTime<Utc>>) -> String {
    match resets_at {
        Some(at) => format!(
            "the tenant's limit of {limit} {metric} for this period is reached; it resets at {}",
            at.to_rfc3339()
        ),
        None => format!("the tenant's limit of {limit} {metric} is reached; remove one or move to a larger tier"),
    }
}

impl From<DbErr> for DomainError {
    fn from(err: DbErr) -> Self {
        if is_connectivity_error(&err) { Self::Unavailable(err) } else { Self::Database(err) }
    }
}

/// Whether the error means "the database is not reachable" rather than "the
/// statement failed", so the API can answer 503-style and retry later.
fn is_connectivity_error(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            e.as_ref(),
            SqlxError::Io(_) | SqlxError::PoolTimedOut | SqlxError::PoolClosed | SqlxError::WorkerCrashed
        ),
        _ => false,
    }
}
