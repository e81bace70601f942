//! The built-in templates of the messages about a business's usage, for its
//! owners (the bookings' and accounts' are in `template.rs`).

use serde_json::{Value, json};

use crate::template::TemplatePair;

/// The variables of `usage.threshold_reached`.
pub(crate) const VARIABLES: [&str; 6] = ["businessName", "metric", "threshold", "used", "limit", "resetsAt"];

/// An example value of one of [`VARIABLES`] (`None` for another name).
pub(crate) fn sample(name: &str) -> Option<Value> {
    Some(match name {
        "metric" => json!("bookings"),
        "threshold" => json!("80%"),
        "used" => json!(80),
        "limit" => json!(100),
        "resetsAt" => json!("2026-04-01 00:00"),
        _ => return None,
    })
}

/// The built-in templates in `language` (`es`, else English).
pub(crate) fn builtin(language: &str) -> TemplatePair<'static> {
    if language == "es" {
        TemplatePair {
            title: "{{ businessName }}: {{ used }} de {{ limit if limit else '∞' }} {{ metric }}",
            text: "{{ businessName }} ha llegado a {{ used }} {{ metric }}{% if limit %} de los {{ limit }} de su plan{% endif %} (aviso del {{ threshold }}).{% if resetsAt %} El contador vuelve a cero el {{ resetsAt }}.{% endif %}{% if limit and used >= limit %} Lo que pase del límite se rechaza o se cuenta como exceso, según el plan: cambie de plan para seguir sin cortes.{% endif %}",
        }
    } else {
        TemplatePair {
            title: "{{ businessName }}: {{ used }} of {{ limit if limit else '∞' }} {{ metric }}",
            text: "{{ businessName }} has reached {{ used }} {{ metric }}{% if limit %} of the {{ limit }} its tier includes{% endif %} (the {{ threshold }} alert).{% if resetsAt %} The count starts again on {{ resetsAt }}.{% endif %}{% if limit and used >= limit %} Use beyond the limit is refused or counted as overage, as the tier says: move to a larger tier to carry on uninterrupted.{% endif %}",
        }
    }
}
