//! The built-in templates of the messages about what a business pays the
//! platform, for its owners: the trial ending, the subscription changing, and
//! a payment declined or made.

use serde_json::{Value, json};

use crate::model::Topic;
use crate::template::TemplatePair;

/// The variables of `billing.trial_ending`.
pub(crate) const TRIAL_ENDING: [&str; 5] = ["businessName", "planName", "trialEndsAt", "price", "afterTrial"];

/// The variables of `billing.subscription_changed`.
pub(crate) const SUBSCRIPTION_CHANGED: [&str; 5] = ["businessName", "planName", "status", "change", "effectiveAt"];

/// The variables of `billing.payment_failed` and `billing.payment_succeeded`.
pub(crate) const PAYMENT: [&str; 7] =
    ["businessName", "planName", "invoiceNumber", "amount", "declineCode", "nextAttemptAt", "lastTry"];

/// An example value of one of the variables above (`None` for another name).
pub(crate) fn sample(name: &str) -> Option<Value> {
    Some(match name {
        "planName" => json!("Premium, monthly"),
        "trialEndsAt" => json!("2026-03-18 10:00"),
        "price" => json!("295.00 USD a month"),
        "afterTrial" => json!("inactive"),
        "status" => json!("TRIALING"),
        "change" => json!("started"),
        "effectiveAt" => json!("2026-03-04 10:00"),
        "invoiceNumber" => json!("INV-000042"),
        "amount" => json!("295.00 USD"),
        "declineCode" => json!("card_declined"),
        "nextAttemptAt" => json!("2026-03-07 10:00"),
        "lastTry" => json!(false),
        _ => return None,
    })
}

/// The built-in templates of a billing `topic` in `language` (`es`, else English).
pub(crate) fn builtin(topic: Topic, language: &str) -> TemplatePair<'static> {
    let pair = |title, text| TemplatePair { title, text };
    match (topic, language == "es") {
        (Topic::BillingTrialEnding, true) => pair(
            "{{ businessName }}: la prueba de {{ planName }} termina el {{ trialEndsAt }}",
            "La prueba gratuita de {{ planName }} de {{ businessName }} termina el {{ trialEndsAt }}.{% if afterTrial == 'canceled' %} La suscripción está cancelada y terminará entonces.{% else %} Para seguir con el plan ({{ price }}), añada un método de pago antes; si no, la cuenta vuelve al plan gratuito y a sus límites.{% endif %}",
        ),
        (Topic::BillingTrialEnding, false) => pair(
            "{{ businessName }}: the {{ planName }} trial ends on {{ trialEndsAt }}",
            "The free trial of {{ planName }} for {{ businessName }} ends on {{ trialEndsAt }}.{% if afterTrial == 'canceled' %} The subscription is cancelled and ends then.{% else %} To keep the plan ({{ price }}), add a payment method before then; otherwise the business returns to the free tier and its limits.{% endif %}",
        ),
        (Topic::BillingPaymentFailed, true) => pair(
            "{{ businessName }}: el pago de {{ amount }} ha sido rechazado",
            "El cobro de la factura {{ invoiceNumber }} ({{ planName }}, {{ amount }}) de {{ businessName }} ha sido rechazado ({{ declineCode }}).{% if nextAttemptAt %} {% if lastTry %}El último intento{% else %}El próximo intento{% endif %} será el {{ nextAttemptAt }}.{% endif %} Actualice el método de pago para no perder el plan; el acceso sigue mientras tanto.",
        ),
        (Topic::BillingPaymentFailed, false) => pair(
            "{{ businessName }}: the payment of {{ amount }} was declined",
            "The charge for invoice {{ invoiceNumber }} ({{ planName }}, {{ amount }}) of {{ businessName }} was declined ({{ declineCode }}).{% if nextAttemptAt %} {% if lastTry %}The last try{% else %}The next try{% endif %} is on {{ nextAttemptAt }}.{% endif %} Update the payment method to keep the plan; access carries on meanwhile.",
        ),
        (Topic::BillingPaymentSucceeded, true) => pair(
            "{{ businessName }}: factura {{ invoiceNumber }} pagada",
            "Hemos cobrado {{ amount }} por {{ planName }} (factura {{ invoiceNumber }}). Gracias.",
        ),
        (Topic::BillingPaymentSucceeded, false) => pair(
            "{{ businessName }}: invoice {{ invoiceNumber }} paid",
            "We charged {{ amount }} for {{ planName }} (invoice {{ invoiceNumber }}). Thank you.",
        ),
        (_, true) => pair(
            "{{ businessName }}: {% if change == 'started' %}ha empezado{% elif change == 'cancel_scheduled' %}terminará{% elif change == 'resumed' %}sigue{% elif change == 'changed' %}cambia a{% elif change == 'change_scheduled' %}cambiará a{% else %}ha terminado{% endif %} {{ planName }}",
            "{% if change == 'started' %}{{ businessName }} ha empezado {{ planName }}.{% elif change == 'cancel_scheduled' %}{{ planName }} de {{ businessName }} terminará el {{ effectiveAt }}; puede reanudarlo hasta entonces.{% elif change == 'resumed' %}{{ planName }} de {{ businessName }} ya no terminará: sigue renovándose.{% elif change == 'changed' %}{{ businessName }} tiene ahora {{ planName }}.{% elif change == 'change_scheduled' %}{{ businessName }} pasará a {{ planName }} el {{ effectiveAt }}, al terminar el periodo actual.{% elif change == 'inactive' %}La prueba de {{ planName }} de {{ businessName }} terminó sin un método de pago: la cuenta vuelve al plan gratuito.{% elif change == 'unpaid' %}Los cobros de {{ planName }} de {{ businessName }} no se han podido hacer: la cuenta vuelve al plan gratuito hasta que se pague la factura pendiente.{% else %}{{ planName }} de {{ businessName }} terminó el {{ effectiveAt }}: la cuenta vuelve al plan gratuito.{% endif %} (Estado: {{ status }}.)",
        ),
        (_, false) => pair(
            "{{ businessName }}: {{ planName }} {% if change == 'started' %}has started{% elif change == 'cancel_scheduled' %}will end{% elif change == 'resumed' %}carries on{% elif change == 'changed' %}is now the plan{% elif change == 'change_scheduled' %}from {{ effectiveAt }}{% else %}has ended{% endif %}",
            "{% if change == 'started' %}{{ businessName }} has started {{ planName }}.{% elif change == 'cancel_scheduled' %}{{ planName }} for {{ businessName }} will end on {{ effectiveAt }}; you can resume it until then.{% elif change == 'resumed' %}{{ planName }} for {{ businessName }} will no longer end: it renews as before.{% elif change == 'changed' %}{{ businessName }} is now on {{ planName }}.{% elif change == 'change_scheduled' %}{{ businessName }} moves to {{ planName }} on {{ effectiveAt }}, when the current period ends.{% elif change == 'inactive' %}The {{ planName }} trial for {{ businessName }} ended without a payment method: the business is back on the free tier.{% elif change == 'unpaid' %}The charges for {{ planName }} of {{ businessName }} could not be made: the business is on the free tier until the open invoice is paid.{% else %}{{ planName }} for {{ businessName }} ended on {{ effectiveAt }}: the business is back on the free tier.{% endif %} (Status: {{ status }}.)",
        ),
    }
}
