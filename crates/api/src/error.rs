//! The one place errors become what clients see.
//!
//! Resolvers return [`ApiError`], which deliberately does not implement `Display`:
//! async-graphql turns any `Display` type into an error message with no code, and
//! that path would leak internal text. [`ApiError`] converts into a GraphQL error
//! here only, carrying a code from [`ApiCode`] and a safe message; the full cause
//! chain goes to the log, inside the request's span (which carries its request id).

use std::sync::Arc;

use async_graphql::ErrorExtensions;
use tessera_kernel::{DomainError, ErrorCode};
use tracing::{error, warn};

/// Every `extensions.code` a client can receive: the domain's codes plus those of
/// the GraphQL transport itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiCode {
    /// A domain error's code.
    Domain(ErrorCode),
    /// The document is not valid GraphQL syntax.
    GraphqlParseFailed,
    /// The document does not validate against the schema, or exceeds a limit.
    GraphqlValidationFailed,
    /// The HTTP request is not a GraphQL request (bad JSON, missing query, …).
    BadRequest,
    /// A persisted query's hash this gateway does not know: send the document
    /// with it (Apollo's APQ).
    PersistedQueryNotFound,
    /// Persisted queries are turned off here: send the document.
    PersistedQueryNotSupported,
    /// This gateway runs only its trusted documents, and this is not one of
    /// them (Apollo's safelisting code).
    PersistedQueryNotInList,
}

impl ApiCode {
    /// The code as it appears in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Domain(code) => code.as_str(),
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::BadRequest => "BAD_REQUEST",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            Self::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
        }
    }

    /// Every code, for the documentation and the tests that check responses.
    pub fn all() -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        codes.extend(
            [
                Self::GraphqlParseFailed,
                Self::GraphqlValidationFailed,
                Self::BadRequest,
                Self::PersistedQueryNotFound,
                Self::PersistedQueryNotSupported,
                Self::PersistedQueryNotInList,
            ]
            .map(Self::as_str),
        );
        codes
    }
}

/// A resolver's failure. Not `Display`, on purpose; see the module documentation.
/// (Shared, because async-graphql clones field errors.)
#[derive(Debug, Clone)]
pub struct ApiError(Arc<DomainError>);

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        Self(Arc::new(err))
    }
}

impl ApiError {
    /// An internal failure with a message for the log only.
    pub fn internal(message: impl Into<String>) -> Self {
        Self(Arc::new(DomainError::Internal(message.into())))
    }

    /// The underlying domain error.
    pub fn domain(&self) -> &DomainError {
        &self.0
    }
}

/// The full cause chain of `err`, for the log.
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

impl From<ApiError> for async_graphql::Error {
    fn from(ApiError(err): ApiError) -> Self {
        let code = err.code();
        match code {
            ErrorCode::InternalServerError => {
                error!(code = code.as_str(), cause = %cause_chain(err.as_ref()), "request failed")
            }
            ErrorCode::ServiceUnavailable => {
                warn!(code = code.as_str(), cause = %cause_chain(err.as_ref()), "dependency unavailable")
            }
            _ => {}
        }
        let field = err.field().map(str::to_owned);
        let retry_after = match err.as_ref() {
            DomainError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let decline = match err.as_ref() {
            DomainError::PaymentDeclined { code } => Some(code.clone()),
            _ => None,
        };
        let quota = match err.as_ref() {
            DomainError::QuotaExceeded { metric, limit, resets_at } => Some((*metric, *limit, *resets_at)),
            _ => None,
        };
        async_graphql::Error::new(err.public_message()).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if let Some(field) = &field {
                ext.set("field", field.as_str());
            }
            if let Some(code) = &decline {
                ext.set("declineCode", code.as_str());
            }
            if let Some(seconds) = retry_after {
                ext.set("retryAfterSeconds", seconds);
            }
            if let Some((metric, limit, resets_at)) = quota {
                ext.set("metric", metric);
                ext.set("limit", limit);
                ext.set("resetsAt", resets_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
            }
        })
    }
}

/// Result of a resolver.
pub type ApiResult<T> = Result<T, ApiError>;

/// A GraphQL error with `code` and a safe `message`, for transport-level failures.
pub fn graphql_error(code: ApiCode, message: impl Into<String>) -> async_graphql::ServerError {
    let mut err = async_graphql::ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code.as_str());
    err.extensions = Some(ext);
    err
}

/// `err` as an error of the whole request, refused before it ran: about no
/// place in the document.
pub(crate) fn request_error(err: ApiError) -> async_graphql::ServerError {
    let mut error = async_graphql::Error::from(err).into_server_error(async_graphql::Pos::default());
    error.locations.clear();
    error
}

/// Whether `message` is async-graphql's report of an argument value that does not
/// fit the argument's type (`InputValueError`), or of a variable the request did
/// not give a value (found only when the field using it resolves).
fn is_argument_coercion_error(message: &str) -> bool {
    ["Failed to parse \"", "Expected input type \"", "Invalid value for argument", "Variable "]
        .iter()
        .any(|p| message.starts_with(p))
}

/// Gives every error in a response a code, and replaces the message of any error
/// that reached here without one and after execution began (a resolver bug): the
/// client must never see internal text.
pub fn ensure_codes(errors: &mut [async_graphql::ServerError]) {
    for err in errors {
        let has_code = err.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
        if has_code {
            continue;
        }
        let code = if err.path.is_empty() {
            // Validation and limit errors: async-graphql's messages are about the
            // document and safe to show.
            ApiCode::GraphqlValidationFailed
        } else if is_argument_coercion_error(&err.message) {
            // An argument that does not fit its type, found while resolving the
            // field: the client's input, described without internals.
            ApiCode::Domain(ErrorCode::BadUserInput)
        } else {
            error!(message = %err.message, path = ?err.path, "resolver error without a code");
            err.message = "internal server error".into();
            ApiCode::Domain(ErrorCode::InternalServerError)
        };
        err.extensions.get_or_insert_with(Default::default).set("code", code.as_str());
    }
}
