//! Message templates: a title and a text per topic and language, rendered with
//! MiniJinja.
//!
//! Templates are sandboxed (no file or network access, a fuel limit against
//! runaway loops, a tenant's template limited to values and conditions by
//! `template_shape`, and every rendered text capped in bytes while it is
//! written: a longer one is cut, or refused when a template is saved); values are inserted as text, and the HTML of an email is built
//! from the rendered text with every value escaped, so a customer named
//! `<script>` stays text. Every topic has a built-in English and Spanish version;
//! other languages fall back to English. A tenant may replace any of them
//! ([`NotifyService::set_template`](crate::NotifyService::set_template)); its
//! template is checked against every variable of the topic when saved, and should
//! it still fail when used, the built-in one is used instead: a message always goes.

use minijinja::{Environment, UndefinedBehavior};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tessera_kernel::capped::CappedWriter;
use tessera_kernel::{DomainError, Result, TenantId};
use tracing::warn;

use crate::entity::template;
use crate::model::Topic;
use crate::template_shape;

/// The longest title a tenant's template may have, in characters.
pub(crate) const MAX_TITLE_CHARS: usize = 200;
/// The longest text a tenant's template may have, in characters.
pub(crate) const MAX_BODY_CHARS: usize = 5_000;
/// The languages with built-in templates.
pub const BUILTIN_LANGUAGES: [&str; 2] = ["en", "es"];

/// The most template instructions one rendering may run.
const FUEL: u64 = 50_000;
/// The most a rendered title may take, in bytes (email subject, push and in-app title).
pub const MAX_RENDERED_TITLE_BYTES: usize = 256;
/// The most a rendered text may take, in bytes (email and in-app body, push text).
pub const MAX_RENDERED_TEXT_BYTES: usize = 64 * 1024;
/// The most a text message may carry, in bytes.
pub const MAX_SMS_BYTES: usize = 1024;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Email subject, push and in-app title, SMS text.
    pub title: String,
    /// Email and in-app body, push text.
    pub text: String,
}

/// A title and a text template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TemplatePair<'a> {
    pub(crate) title: &'a str,
    pub(crate) text: &'a str,
}

impl Topic {
    /// The variables its templates may use.
    pub fn variables(self) -> Vec<&'static str> {
        const BOOKING: [&str; 7] =
            ["businessName", "customerName", "serviceName", "providerName", "startsAt", "timezone", "bookingId"];
        match self {
            Self::BookingReceived | Self::BookingConfirmed | Self::BookingReminder => BOOKING.to_vec(),
            Self::BookingChanged => [&BOOKING[..], &["previousStartsAt"]].concat(),
            Self::BookingCancelled => [&BOOKING[..], &["reason", "refund"]].concat(),
            Self::BookingFeeCharged => [&BOOKING[..], &["fee", "amount"]].concat(),
            Self::WaitlistOffered => [&BOOKING[..], &crate::template_waitlist::OFFER[..]].concat(),
            Self::Invitation => vec!["businessName", "inviterName", "expiresAt", "link"],
            Self::PasswordReset => vec!["link", "validMinutes"],
            Self::EmailVerification => vec!["link", "validHours"],
            Self::SignInMethodAdded => vec!["method", "name", "occurredAt"],
            Self::SignUpConfirmation => vec!["link", "validHours"],
            Self::SignUpAttempted => vec!["occurredAt"],
            Self::UsageThresholdReached => crate::template_usage::VARIABLES.to_vec(),
            Self::BillingTrialEnding => crate::template_billing::TRIAL_ENDING.to_vec(),
            Self::BillingSubscriptionChanged => crate::template_billing::SUBSCRIPTION_CHANGED.to_vec(),
            Self::BillingPaymentFailed | Self::BillingPaymentSucceeded => crate::template_billing::PAYMENT.to_vec(),
        }
    }

    /// Example values of its variables, for previews and for checking a template.
    pub fn sample_variables(self) -> Value {
        let sample = |name: &str| match name {
            "businessName" => json!("Bella Roma"),
            "customerName" => json!("Ana López"),
            "serviceName" => json!("Women's Haircut"),
            "providerName" => json!("Maria"),
            "startsAt" => json!("2026-03-04 10:00"),
            "previousStartsAt" => json!("2026-03-03 16:00"),
            "timezone" => json!("Europe/Madrid"),
            "bookingId" => json!("0190f1e2-0000-7000-8000-000000000000"),
            "reason" => json!("The stylist is ill"),
            "refund" => json!("75.00 EUR"),
            "fee" => json!("no_show"),
            "amount" => json!("25.00 EUR"),
            "inviterName" => json!("Lucia"),
            "expiresAt" => json!("2026-03-10"),
            "link" => json!("https://app.example.com/accept?token=…"),
            "validMinutes" => json!(30),
            "method" => json!("passkey"),
            "name" => json!("Phone"),
            "occurredAt" => json!("2026-03-04 10:00 UTC"),
            "validHours" => json!(24),
            other => crate::template_usage::sample(other)
                .or_else(|| crate::template_billing::sample(other))
                .or_else(|| crate::template_waitlist::sample(other))
                .unwrap_or(Value::Null),
        };
        Value::Object(self.variables().into_iter().map(|name| (name.to_owned(), sample(name))).collect())
    }
}

/// The built-in templates of `topic` in `language` (`en`, `es`), English for
/// any other.
pub(crate) fn builtin(topic: Topic, language: &str) -> TemplatePair<'static> {
    let pair = |title, text| TemplatePair { title, text };
    match (topic, language) {
        (Topic::BookingReceived, "es") => pair(
            "Hemos recibido tu reserva en {{ businessName }}",
            "Hola {{ customerName }}:\n\nhemos recibido tu solicitud de {{ serviceName }} con {{ providerName }} para el {{ startsAt }} ({{ timezone }}). Te avisaremos en cuanto la confirmemos.\n\n{{ businessName }}",
        ),
        (Topic::BookingReceived, _) => pair(
            "We have received your booking at {{ businessName }}",
            "Hello {{ customerName }},\n\nwe have received your request for {{ serviceName }} with {{ providerName }} on {{ startsAt }} ({{ timezone }}). We will let you know as soon as it is confirmed.\n\n{{ businessName }}",
        ),
        (Topic::BookingConfirmed, "es") => pair(
            "Tu cita en {{ businessName }} está confirmada",
            "Hola {{ customerName }}:\n\ntu cita de {{ serviceName }} con {{ providerName }} es el {{ startsAt }} ({{ timezone }}).\n\nHasta pronto,\n{{ businessName }}",
        ),
        (Topic::BookingConfirmed, _) => pair(
            "Your booking at {{ businessName }} is confirmed",
            "Hello {{ customerName }},\n\nyour {{ serviceName }} with {{ providerName }} is booked for {{ startsAt }} ({{ timezone }}).\n\nSee you soon,\n{{ businessName }}",
        ),
        (Topic::BookingChanged, "es") => pair(
            "Tu cita en {{ businessName }} ha cambiado",
            "Hola {{ customerName }}:\n\ntu cita de {{ serviceName }} es ahora el {{ startsAt }} ({{ timezone }}) con {{ providerName }}.{% if previousStartsAt %} Antes era el {{ previousStartsAt }}.{% endif %}\n\n{{ businessName }}",
        ),
        (Topic::BookingChanged, _) => pair(
            "Your booking at {{ businessName }} has changed",
            "Hello {{ customerName }},\n\nyour {{ serviceName }} is now on {{ startsAt }} ({{ timezone }}) with {{ providerName }}.{% if previousStartsAt %} It was on {{ previousStartsAt }}.{% endif %}\n\n{{ businessName }}",
        ),
        (Topic::BookingCancelled, "es") => pair(
            "Tu cita en {{ businessName }} está cancelada",
            "Hola {{ customerName }}:\n\ntu cita de {{ serviceName }} del {{ startsAt }} ({{ timezone }}) está cancelada.{% if reason %} Motivo: {{ reason }}.{% endif %}{% if refund %} Te devolvemos {{ refund }}.{% endif %}\n\n{{ businessName }}",
        ),
        (Topic::BookingCancelled, _) => pair(
            "Your booking at {{ businessName }} is cancelled",
            "Hello {{ customerName }},\n\nyour {{ serviceName }} on {{ startsAt }} ({{ timezone }}) is cancelled.{% if reason %} Reason: {{ reason }}.{% endif %}{% if refund %} A refund of {{ refund }} is on its way.{% endif %}\n\n{{ businessName }}",
        ),
        (Topic::BookingFeeCharged, "es") => pair(
            "{{ businessName }} te ha cobrado {{ amount }}",
            "Hola {{ customerName }}:\n\n{% if fee == 'late_cancellation' %}cancelaste tu cita de {{ serviceName }} del {{ startsAt }} ({{ timezone }}) con menos antelación de la acordada{% else %}no acudiste a tu cita de {{ serviceName }} del {{ startsAt }} ({{ timezone }}){% endif %}, así que se ha cobrado a la tarjeta que guardaste la tarifa acordada al reservar: {{ amount }}.\n\n{{ businessName }}",
        ),
        (Topic::BookingFeeCharged, _) => pair(
            "{{ businessName }} charged you {{ amount }}",
            "Hello {{ customerName }},\n\n{% if fee == 'late_cancellation' %}you cancelled your {{ serviceName }} on {{ startsAt }} ({{ timezone }}) later than agreed{% else %}you did not come to your {{ serviceName }} on {{ startsAt }} ({{ timezone }}){% endif %}, so the fee you agreed to when booking was charged to the card you kept with us: {{ amount }}.\n\n{{ businessName }}",
        ),
        (Topic::BookingReminder, "es") => pair(
            "Recordatorio: {{ serviceName }} el {{ startsAt }}",
            "Hola {{ customerName }}:\n\nte esperamos el {{ startsAt }} ({{ timezone }}) para tu {{ serviceName }} con {{ providerName }}.\n\n{{ businessName }}",
        ),
        (Topic::BookingReminder, _) => pair(
            "Reminder: {{ serviceName }} on {{ startsAt }}",
            "Hello {{ customerName }},\n\nwe expect you on {{ startsAt }} ({{ timezone }}) for your {{ serviceName }} with {{ providerName }}.\n\n{{ businessName }}",
        ),
        (Topic::Invitation, "es") => pair(
            "{{ inviterName }} te invita a {{ businessName }}",
            "Hola:\n\n{{ inviterName }} te invita a unirte a {{ businessName }}. Acepta aquí antes del {{ expiresAt }}:\n{{ link }}",
        ),
        (Topic::Invitation, _) => pair(
            "{{ inviterName }} invited you to {{ businessName }}",
            "Hello,\n\n{{ inviterName }} invited you to join {{ businessName }}. Accept before {{ expiresAt }}:\n{{ link }}",
        ),
        (Topic::SignUpConfirmation, "es") => pair(
            "Termina de crear tu cuenta",
            "Para crear tu cuenta con esta dirección, abre este enlace en las próximas {{ validHours }} horas:\n{{ link }}\n\nSi no has sido tú, ignora este mensaje: sin el enlace no se crea ninguna cuenta.",
        ),
        (Topic::SignUpConfirmation, _) => pair(
            "Finish creating your account",
            "To create your account with this address, open this link within {{ validHours }} hours:\n{{ link }}\n\nIf this was not you, ignore this message: no account is created without the link.",
        ),
        (Topic::SignUpAttempted, "es") => pair(
            "Alguien intentó crear una cuenta con tu dirección",
            "El {{ occurredAt }} alguien intentó crear una cuenta con esta dirección, que ya tiene una. No se ha cambiado nada.\n\nSi has sido tú, entra con tu contraseña, o pide restablecerla si no la recuerdas. Si no, ignora este mensaje.",
        ),
        (Topic::SignUpAttempted, _) => pair(
            "Someone tried to sign up with your address",
            "On {{ occurredAt }}, someone tried to create an account with this address, which already has one. Nothing was changed.\n\nIf it was you, sign in with your password, or ask to reset it if you forgot it. If not, ignore this message.",
        ),
        (Topic::SignInMethodAdded, "es") => pair(
            "Se ha añadido una forma de entrar a tu cuenta",
            "El {{ occurredAt }} se añadió a tu cuenta {% if method == 'totp' %}una app de autenticación{% elif method == 'passkey' %}una llave de acceso{% else %}una clave de API{% endif %}{% if name %} («{{ name }}»){% endif %}.\n\nSi no has sido tú, cambia tu contraseña ahora y revisa tus sesiones, claves y métodos de acceso.",
        ),
        (Topic::SignInMethodAdded, _) => pair(
            "A new way into your account was added",
            "On {{ occurredAt }}, {% if method == 'totp' %}an authenticator app{% elif method == 'passkey' %}a passkey{% else %}an API key{% endif %}{% if name %} (“{{ name }}”){% endif %} was added to your account.\n\nIf this was not you, change your password now and review your sessions, keys and sign-in methods.",
        ),
        (Topic::PasswordReset, "es") => pair(
            "Restablece tu contraseña",
            "Usa este enlace en los próximos {{ validMinutes }} minutos:\n{{ link }}\n\nSi no lo has pedido tú, ignora este mensaje.",
        ),
        (Topic::PasswordReset, _) => pair(
            "Reset your password",
            "Use this link within {{ validMinutes }} minutes:\n{{ link }}\n\nIf you did not ask for it, ignore this message.",
        ),
        (Topic::EmailVerification, "es") => pair(
            "Confirma tu correo electrónico",
            "Confirma que esta dirección es tuya con este enlace, válido {{ validHours }} horas:\n{{ link }}\n\nSi no has creado una cuenta, ignora este mensaje.",
        ),
        (Topic::EmailVerification, _) => pair(
            "Confirm your email address",
            "Confirm that this address is yours with this link, valid for {{ validHours }} hours:\n{{ link }}\n\nIf you did not create an account, ignore this message.",
        ),
        (Topic::UsageThresholdReached, language) => crate::template_usage::builtin(language),
        (Topic::WaitlistOffered, language) => crate::template_waitlist::builtin(language),
        (
            topic @ (Topic::BillingTrialEnding
            | Topic::BillingSubscriptionChanged
            | Topic::BillingPaymentFailed
            | Topic::BillingPaymentSucceeded),
            language,
        ) => crate::template_billing::builtin(topic, language),
    }
}

/// The language part of a BCP 47 locale (`es-ES` → `es`).
pub(crate) fn language(locale: &str) -> String {
    locale.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase()
}

/// Renders `topic`'s built-in templates for `locale` with `variables` (an object).
pub fn render(topic: Topic, locale: &str, variables: &Value) -> Result<Rendered> {
    render_pair(builtin(topic, &language(locale)), variables)
}

/// The tenant's own templates for `topics` in `locale`'s language, in one read
/// (none for the platform's account messages, which are always its own).
pub(crate) async fn customs_for<C: ConnectionTrait>(
    conn: &C,
    tenant_id: TenantId,
    topics: &[Topic],
    locale: &str,
) -> Result<Vec<template::Model>> {
    let topics: Vec<&str> = topics.iter().filter(|t| !t.is_account_message()).map(|t| t.as_str()).collect();
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    Ok(template::Entity::find()
        .filter(template::Column::TenantId.eq(tenant_id))
        .filter(template::Column::Topic.is_in(topics))
        .filter(template::Column::Language.eq(language(locale).as_str()))
        .all(conn)
        .await?)
}

/// Renders `topic` for `locale` with the tenant's own template when it has one
/// for the language (among `customs`, from [`customs_for`]), else the built-in
/// one; a tenant template that fails falls back to the built-in one. Account
/// messages always use the built-in one.
pub(crate) fn render_with(
    customs: &[template::Model],
    tenant_id: TenantId,
    topic: Topic,
    locale: &str,
    variables: &Value,
) -> Result<Rendered> {
    let language = language(locale);
    if topic.is_account_message() {
        return render_pair(builtin(topic, &language), variables);
    }
    let custom = customs.iter().find(|c| c.topic == topic.as_str() && c.language == language);
    if let Some(custom) = custom {
        if let Some(why) = template_shape::refusal(&custom.title).or_else(|| template_shape::refusal(&custom.body)) {
            warn!(tenant_id = %tenant_id, topic = topic.as_str(), why, "a tenant template is not allowed; the built-in one is used");
            return render_pair(builtin(topic, &language), variables);
        }
        match render_pair(TemplatePair { title: &custom.title, text: &custom.body }, variables) {
            Ok(rendered) if topic.is_framed() => return framed(topic, &language, &rendered, variables),
            Ok(rendered) => return Ok(rendered),
            Err(err) => {
                warn!(tenant_id = %tenant_id, topic = topic.as_str(), error = %err, "a tenant template failed; the built-in one is used")
            }
        }
    }
    render_pair(builtin(topic, &language), variables)
}

/// The platform's frame around a tenant's words in a message it sends to
/// someone who is not (yet) the tenant's: the platform's own title, who sent it
/// and on whose behalf, the tenant's title and text set apart as theirs, then
/// the platform's link and what to do with an unexpected message. So a tenant's
/// template can say what it likes, but cannot pass for the platform or drop the
/// link (an invitation sent to an arbitrary address is otherwise a way to mail
/// anyone anything from the platform's sender).
fn framed(topic: Topic, language: &str, tenant: &Rendered, variables: &Value) -> Result<Rendered> {
    let title = render_pair(builtin(topic, language), variables)?.title;
    let frame = match language {
        "es" => {
            "{{ inviterName }} te invita a unirte a {{ businessName }}. Su mensaje:\n\n────────\n{{ message }}\n────────\n\nAcepta antes del {{ expiresAt }}:\n{{ link }}\n\nEnviado en nombre de {{ businessName }}; el texto entre las líneas es suyo. Si no esperabas esta invitación, ignórala: no pasa nada si no la aceptas."
        }
        _ => {
            "{{ inviterName }} invited you to join {{ businessName }}. Their message:\n\n────────\n{{ message }}\n────────\n\nAccept before {{ expiresAt }}:\n{{ link }}\n\nSent on behalf of {{ businessName }}; the words between the lines are theirs. If you did not expect this invitation, ignore it: nothing happens unless you accept."
        }
    };
    let mut values = variables.clone();
    values["message"] = Value::String(format!("{}\n\n{}", tenant.title, tenant.text));
    render_pair(TemplatePair { title: &title, text: frame }, &values)
}

/// Checks a tenant's template for `topic`: its size, its syntax, and that it
/// renders with every variable of the topic (and no other).
pub(crate) fn check(topic: Topic, title: &str, body: &str) -> Result<Rendered> {
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(DomainError::invalid("title", format!("must be 1 to {MAX_TITLE_CHARS} characters")));
    }
    if body.trim().is_empty() || body.chars().count() > MAX_BODY_CHARS {
        return Err(DomainError::invalid("body", format!("must be 1 to {MAX_BODY_CHARS} characters")));
    }
    let sample = topic.sample_variables();
    let env = environment();
    let one = |field: &str, source: &str, cap: usize| {
        if let Some(why) = template_shape::refusal(source) {
            return Err(DomainError::invalid(field, why));
        }
        match render_source(&env, source, &sample, cap) {
            Ok(Capped::Whole(text)) => Ok(text),
            Ok(Capped::Cut(_)) => Err(DomainError::invalid(
                field,
                format!("renders longer than {cap} bytes with sample values; messages are limited to that"),
            )),
            Err(e) => {
                let why = e.detail().map_or_else(|| e.to_string(), str::to_owned);
                Err(DomainError::invalid(
                    field,
                    format!("does not render with the variables {}: {why}", topic.variables().join(", ")),
                ))
            }
        }
    };
    Ok(Rendered {
        title: one("title", title, MAX_RENDERED_TITLE_BYTES)?,
        text: one("body", body, MAX_RENDERED_TEXT_BYTES)?,
    })
}

/// A sandbox for one rendering: missing values are errors when printed, and a
/// fuel limit stops runaway loops.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(FUEL));
    env
}

/// A rendering, whole or cut at its limit.
enum Capped {
    Whole(String),
    Cut(String),
}

fn render_source(
    env: &Environment<'_>,
    source: &str,
    variables: &Value,
    cap: usize,
) -> std::result::Result<Capped, minijinja::Error> {
    let template = env.template_from_str(source)?;
    let mut out = CappedWriter::new(cap);
    let rendered = template.render_captured_to(minijinja::Value::from(minijinja::value::Serde(variables)), &mut out);
    let text = String::from_utf8_lossy(out.bytes());
    match rendered {
        _ if out.overflowed() => Ok(Capped::Cut(cut_at(&text, cap))),
        Ok(_) => Ok(Capped::Whole(text.trim().to_owned())),
        Err(err) => Err(err),
    }
}

/// `text` in at most `cap` bytes: whole, or cut at a character boundary and
/// ended with `…`.
pub(crate) fn truncate_to(text: &str, cap: usize) -> String {
    if text.len() <= cap { text.trim().to_owned() } else { cut_at(text, cap) }
}

/// `text` cut to fit `cap` bytes with a closing `…`, at a character boundary.
fn cut_at(text: &str, cap: usize) -> String {
    const ELLIPSIS: char = '…';
    let mut end = cap.saturating_sub(ELLIPSIS.len_utf8()).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", text[..end].trim_end())
}

/// Renders a title and a text for a message; a text longer than its limit is
/// cut there (a message always goes, and never larger than its limit).
pub(crate) fn render_pair(pair: TemplatePair<'_>, variables: &Value) -> Result<Rendered> {
    let env = environment();
    let one = |source: &str, cap: usize| match render_source(&env, source, variables, cap) {
        Ok(Capped::Whole(text)) => Ok(text),
        Ok(Capped::Cut(text)) => {
            warn!(limit = cap, "a rendered message was longer than its limit and was cut");
            Ok(text)
        }
        Err(e) => Err(DomainError::Internal(format!("a message template failed: {e}"))),
    };
    Ok(Rendered { title: one(pair.title, MAX_RENDERED_TITLE_BYTES)?, text: one(pair.text, MAX_RENDERED_TEXT_BYTES)? })
}

/// The HTML body of an email: the text, escaped, in paragraphs, and the open
/// tracking pixel when there is one.
pub(crate) fn email_html(rendered: &Rendered, pixel_url: Option<&str>) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
    };
    let paragraphs: String = rendered
        .text
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect::<Vec<_>>()
        .join("\n");
    let pixel = pixel_url
        .map(|url| format!("\n<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\">", escape(url)))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{paragraphs}{pixel}\n</body></html>\n",
        escape(&rendered.title)
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn booking() -> Value {
        json!({"businessName": "Bella", "customerName": "Ana", "serviceName": "Cut", "providerName": "Marco",
               "startsAt": "2026-03-04 10:00", "timezone": "Europe/Madrid"})
    }

    #[test]
    fn every_topic_renders_in_english_and_spanish_with_its_variables() {
        for topic in Topic::ALL {
            for locale in ["en", "es-ES", "fr"] {
                let rendered = render(topic, locale, &topic.sample_variables()).unwrap();
                assert!(!rendered.title.is_empty() && !rendered.text.is_empty(), "{topic:?} {locale}");
                assert!(!rendered.text.contains("{{"), "{topic:?} {locale}: {}", rendered.text);
            }
        }
        assert!(render(Topic::BookingConfirmed, "es-ES", &booking()).unwrap().title.starts_with("Tu cita"));
        assert!(render(Topic::BookingConfirmed, "fr-FR", &booking()).unwrap().title.starts_with("Your booking"));
    }

    #[test]
    fn optional_parts_show_only_when_given_and_missing_variables_fail() {
        let mut variables = booking();
        let plain = render(Topic::BookingCancelled, "en", &variables).unwrap();
        assert!(!plain.text.contains("Reason"));
        variables["reason"] = json!("Ill");
        assert!(render(Topic::BookingCancelled, "en", &variables).unwrap().text.contains("Reason: Ill."));
        assert!(render(Topic::BookingCancelled, "en", &json!({})).is_err(), "a missing value is an error, not a blank");
    }

    #[test]
    fn a_rendering_stops_at_its_limit_and_is_cut_at_a_character() {
        let mut variables = booking();
        variables["customerName"] = json!("ñ".repeat(200_000));
        let rendered = render(Topic::BookingConfirmed, "en", &variables).unwrap();
        assert!(rendered.title.len() <= MAX_RENDERED_TITLE_BYTES, "{}", rendered.title.len());
        assert!(rendered.text.len() <= MAX_RENDERED_TEXT_BYTES && rendered.text.ends_with('…'));
        assert_eq!(truncate_to("añb", 3), "…", "never half a character");
        assert_eq!(truncate_to("short", 1024), "short");
    }

    #[test]
    fn html_escapes_every_value() {
        let mut variables = booking();
        variables["customerName"] = json!("<script>alert(1)</script>");
        let rendered = render(Topic::BookingConfirmed, "en", &variables).unwrap();
        let html = email_html(&rendered, Some("https://x.test/n/open/abc"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<img src=\"https://x.test/n/open/abc\""));
    }
}
