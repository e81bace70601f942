//! Checking what callers type: names, free text, phone numbers, email addresses,
//! prices, minutes and currencies, each refused with the field's name.

use tessera_kernel::{DomainError, Result};

/// Validates a name: trimmed, 1–200 characters, no control characters.
pub(crate) fn parse_name(field: &str, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must be 1 to 200 characters, without control characters"));
    }
    Ok(name.to_owned())
}

/// Validates optional free text up to `max` characters; blank becomes `None`.
pub(crate) fn parse_text(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) if text.chars().count() > max => {
            Err(DomainError::invalid(field, format!("must be at most {max} characters")))
        }
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// Validates a phone number in E.164 form (`+15551234567`).
pub(crate) fn parse_phone(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    let Some(phone) = raw.map(str::trim).filter(|p| !p.is_empty()) else { return Ok(None) };
    let digits = phone.strip_prefix('+').unwrap_or_default();
    let valid =
        (2..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0');
    if !valid {
        return Err(DomainError::invalid(field, "must be in E.164 form, such as +15551234567"));
    }
    Ok(Some(phone.to_owned()))
}

/// Validates an optional email address.
pub(crate) fn parse_email(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|e| !e.is_empty()) {
        None => Ok(None),
        Some(email) => tessera_identity::Email::parse(email)
            .map(|e| Some(e.as_str().to_owned()))
            .map_err(|_| DomainError::invalid(field, "must be an email address such as ana@example.com")),
    }
}

/// The highest price, in minor units: GraphQL's `Int` is 32-bit.
pub const MAX_PRICE_MINOR: i64 = i32::MAX as i64;

/// Validates a price in minor units.
pub(crate) fn parse_price(field: &str, minor: i64) -> Result<i64> {
    if !(0..=MAX_PRICE_MINOR).contains(&minor) {
        return Err(DomainError::invalid(field, format!("must be between 0 and {MAX_PRICE_MINOR} minor units")));
    }
    Ok(minor)
}

/// Validates a language tag (BCP 47, as `es`, `pt-BR`, `zh-Hant-TW`):
/// a 2- or 3-letter language and up to three subtags of 2 to 8 letters or
/// digits.
pub(crate) fn parse_language(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    let Some(tag) = raw.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    let subtags: Vec<&str> = parts.collect();
    let valid = (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && subtags.len() <= 3
        && subtags.iter().all(|s| (2..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid {
        return Err(DomainError::invalid(field, "must be a language tag such as es or pt-BR"));
    }
    Ok(Some(tag.to_owned()))
}

/// The most seats one class session has.
pub const MAX_CLASS_CAPACITY: i32 = 500;

/// Validates a class's capacity (1 to [`MAX_CLASS_CAPACITY`] seats).
pub(crate) fn parse_capacity(field: &str, seats: i32) -> Result<i32> {
    if !(1..=MAX_CLASS_CAPACITY).contains(&seats) {
        return Err(DomainError::invalid(field, format!("must be between 1 and {MAX_CLASS_CAPACITY} seats")));
    }
    Ok(seats)
}

/// Validates a duration in minutes between `min` and 24 hours.
pub(crate) fn parse_minutes(field: &str, minutes: i32, min: i32) -> Result<i32> {
    if !(min..=1440).contains(&minutes) {
        return Err(DomainError::invalid(field, format!("must be between {min} and 1440 minutes")));
    }
    Ok(minutes)
}

/// Validates an ISO 4217 currency code.
pub(crate) fn parse_currency(raw: &str) -> Result<String> {
    if raw.len() == 3 && raw.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::invalid("currency", "must be an ISO 4217 code such as EUR"))
    }
}

/// Validates a resource type (`room`, `wash basin`): trimmed, 1–60
/// characters, no control characters; lowercased, so services and
/// resources name it alike.
pub(crate) fn parse_resource_type(raw: &str) -> Result<String> {
    let kind = raw.trim();
    if kind.is_empty() || kind.chars().count() > 60 || kind.chars().any(char::is_control) {
        return Err(DomainError::invalid("resourceType", "must be 1 to 60 characters, without control characters"));
    }
    Ok(kind.to_lowercase())
}

/// Checks a service's resource need against its length: it starts within
/// the service and ends by its end; the columns it is stored in.
pub(crate) fn parse_need(
    need: Option<&crate::model::ResourceNeed>,
    duration_minutes: i32,
) -> Result<(Option<String>, i32, Option<i32>)> {
    let Some(need) = need else { return Ok((None, 0, None)) };
    if !(0..duration_minutes).contains(&need.offset_minutes) {
        return Err(DomainError::invalid("resourceNeed.offsetMinutes", "must start within the service"));
    }
    if let Some(minutes) = need.minutes
        && !(5..=duration_minutes - need.offset_minutes).contains(&minutes)
    {
        return Err(DomainError::invalid("resourceNeed.minutes", "must be at least 5 and end by the service's end"));
    }
    Ok((Some(parse_resource_type(&need.resource_type)?), need.offset_minutes, need.minutes))
}
