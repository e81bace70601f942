//! The built-in templates of the waitlist's offer to a customer (the other
//! booking messages are in `template.rs`).

use serde_json::{Value, json};

use crate::template::TemplatePair;

/// The variables of `waitlist.offered` besides the booking's.
pub(crate) const OFFER: [&str; 1] = ["offerExpiresAt"];

/// An example value of one of [`OFFER`] (`None` for another name).
pub(crate) fn sample(name: &str) -> Option<Value> {
    (name == "offerExpiresAt").then(|| json!("2026-03-03 18:00"))
}

/// The built-in templates in `language` (`es`, else English).
pub(crate) fn builtin(language: &str) -> TemplatePair<'static> {
    if language == "es" {
        TemplatePair {
            title: "Se ha liberado una cita en {{ businessName }}: {{ startsAt }}",
            text: "Hola {{ customerName }}:\n\nestabas en la lista de espera de {{ serviceName }} y se ha liberado una cita con {{ providerName }} el {{ startsAt }} ({{ timezone }}). Te la guardamos hasta el {{ offerExpiresAt }}: acéptala antes para quedártela; después pasa a la siguiente persona de la lista.\n\n{{ businessName }}",
        }
    } else {
        TemplatePair {
            title: "A time freed up at {{ businessName }}: {{ startsAt }}",
            text: "Hello {{ customerName }},\n\nyou were on the waitlist for {{ serviceName }}, and a time with {{ providerName }} on {{ startsAt }} ({{ timezone }}) is now free. It is held for you until {{ offerExpiresAt }}: accept it by then to keep it; after that it goes to the next person waiting.\n\n{{ businessName }}",
        }
    }
}
