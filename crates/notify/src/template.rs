//! Message templates: a title and a text per topic and language, rendered with
//! MiniJinja.
//!
//! Templates are sandboxed (no file or network access, a fuel limit against
//! runaway loops); values are inserted as text, and the HTML of an email is built
//! from the rendered text with every value escaped, so a customer named
//! `<script>` stays text. Every topic has a built-in English and Spanish version;
//! other languages fall back to English.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;
use tessera_kernel::{DomainError, Result};

use crate::model::Topic;

/// The most template instructions one rendering may run.
const FUEL: u64 = 50_000;

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
pub(crate) struct TemplatePair {
    pub(crate) title: &'static str,
    pub(crate) text: &'static str,
}

/// The built-in templates of `topic` in `language` (`en`, `es`), English for
/// any other.
pub(crate) fn builtin(topic: Topic, language: &str) -> TemplatePair {
    let pair = |title, text| TemplatePair { title, text };
    match (topic, language) {
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
        (Topic::PasswordReset, "es") => pair(
            "Restablece tu contraseña",
            "Usa este enlace en los próximos {{ validMinutes }} minutos:\n{{ link }}\n\nSi no lo has pedido tú, ignora este mensaje.",
        ),
        (Topic::PasswordReset, _) => pair(
            "Reset your password",
            "Use this link within {{ validMinutes }} minutes:\n{{ link }}\n\nIf you did not ask for it, ignore this message.",
        ),
    }
}

/// The language part of a BCP 47 locale (`es-ES` → `es`).
pub(crate) fn language(locale: &str) -> String {
    locale.split(['-', '_']).next().unwrap_or("en").to_ascii_lowercase()
}

/// Renders `topic`'s templates for `locale` with `variables` (an object).
pub fn render(topic: Topic, locale: &str, variables: &Value) -> Result<Rendered> {
    render_pair(builtin(topic, &language(locale)), variables)
}

pub(crate) fn render_pair(pair: TemplatePair, variables: &Value) -> Result<Rendered> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(FUEL));
    let one = |source: &str| {
        env.render_str(source, minijinja::Value::from(minijinja::value::Serde(variables)))
            .map(|text| text.trim().to_owned())
            .map_err(|e| DomainError::Internal(format!("a message template failed: {e}")))
    };
    Ok(Rendered { title: one(pair.title)?, text: one(pair.text)? })
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
        let variables = json!({"businessName": "Bella", "customerName": "Ana", "serviceName": "Cut",
            "providerName": "Marco", "startsAt": "2026-03-04 10:00", "timezone": "Europe/Madrid",
            "inviterName": "Lucia", "expiresAt": "2026-03-10", "link": "https://x.test/a", "validMinutes": 30});
        for topic in Topic::ALL {
            for locale in ["en", "es-ES", "fr"] {
                let rendered = render(topic, locale, &variables).unwrap();
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
