//! Sending one delivery on its channel: rendering the message, then email,
//! SMS or push, or a signed webhook, each turned into an outcome the worker
//! records.

use chrono::{DateTime, Utc};
use serde_json::json;
use tessera_kernel::Result;
use tessera_kernel::token::new_token;

use crate::channel::{EmailMessage, Receipt, SendError, ShortMessage, message_id};
use crate::entity::{delivery, notification, webhook_endpoint};
use crate::model::{Channel, Topic};
use crate::template::{self, Rendered};
use crate::worker::{DeliveryWorker, Tried};

pub(crate) fn outcome(sent: std::result::Result<Receipt, SendError>) -> Tried {
    match sent {
        Ok(receipt) => Tried::Sent(receipt),
        Err(err) => Tried::Refused(err),
    }
}

/// The `link` variable of a message's stored variables, if it has one.
pub(crate) fn link_of(variables: &str) -> Option<String> {
    let values: serde_json::Value = serde_json::from_str(variables).ok()?;
    values.get("link")?.as_str().filter(|link| !link.is_empty()).map(str::to_owned)
}

/// A person notification's message: as rendered when queued, or (for a row
/// queued before messages were stored) with the built-in template.
pub(crate) fn render(notification: &notification::Model) -> Result<Rendered> {
    let stored = (notification.title.as_deref(), notification.body.as_deref());
    render_stored(stored, &notification.topic, &notification.locale, &notification.variables)
}

/// A message's `(title, body)` as stored when queued, or, when they are not,
/// `topic`'s built-in template rendered with the stored `variables`.
pub(crate) fn render_stored(
    (title, body): (Option<&str>, Option<&str>),
    topic: &str,
    locale: &str,
    variables: &str,
) -> Result<Rendered> {
    if let (Some(title), Some(text)) = (title, body) {
        return Ok(Rendered { title: title.to_owned(), text: text.to_owned() });
    }
    let known = Topic::ALL
        .into_iter()
        .find(|t| t.as_str() == topic)
        .ok_or_else(|| tessera_kernel::DomainError::Internal(format!("unknown topic {topic}")))?;
    let variables: serde_json::Value = serde_json::from_str(variables).unwrap_or_default();
    template::render(known, locale, &variables)
}

impl DeliveryWorker {
    /// A fresh open-tracking token and the pixel URL that carries it, when the
    /// gateway's public URL is known.
    pub(crate) fn open_pixel(&self) -> Option<(String, String)> {
        let base = self.config.public_url.as_ref()?;
        let token = new_token("");
        let url = format!("{}/n/open/{token}", base.trim_end_matches('/'));
        Some((token, url))
    }

    /// The email of message `id` to `(address, name)`, with `pixel` (an
    /// open-tracking URL) if any. The id makes the `Message-ID`, the same on
    /// every try.
    pub(crate) fn email_of(
        &self,
        id: &str,
        (to, to_name): (&str, Option<&str>),
        rendered: &Rendered,
        pixel: Option<&str>,
    ) -> EmailMessage {
        EmailMessage {
            message_id: message_id(id, &self.config.mail_from),
            to: to.to_owned(),
            to_name: to_name.map(str::to_owned),
            subject: rendered.title.clone(),
            html: template::email_html(rendered, pixel),
            text: rendered.text.clone(),
            calendar: None,
        }
    }

    pub(crate) async fn send_email(
        &self,
        delivery: &delivery::Model,
        notification: &notification::Model,
        open_token: &mut Option<String>,
    ) -> Result<Tried> {
        let Some(sender) = &self.providers.email else { return Ok(Tried::Skipped("no email transport is configured")) };
        let rendered = match render(notification) {
            Ok(rendered) => rendered,
            Err(err) => return Ok(Tried::Refused(SendError::permanent(err.to_string()))),
        };
        let pixel = self.open_pixel();
        let to = (delivery.destination.as_str(), notification.recipient_name.as_deref());
        let url = pixel.as_ref().map(|(_, url)| url.as_str());
        let mut message = self.email_of(&notification.id.to_string(), to, &rendered, url);
        message.calendar = notification.calendar.clone();
        *open_token = pixel.map(|(token, _)| token);
        Ok(outcome(sender.send(&message).await))
    }

    pub(crate) async fn send_short(
        &self,
        delivery: &delivery::Model,
        notification: &notification::Model,
    ) -> Result<Tried> {
        let rendered = match render(notification) {
            Ok(rendered) => rendered,
            Err(err) => return Ok(Tried::Refused(SendError::permanent(err.to_string()))),
        };
        // A text message carries at most a few segments; push keeps the whole text.
        let body = match delivery.channel {
            Channel::Sms => template::truncate_to(&rendered.text, template::MAX_SMS_BYTES),
            _ => rendered.text,
        };
        let message = ShortMessage {
            idempotency_key: notification.id.to_string(),
            to: delivery.destination.clone(),
            title: rendered.title,
            body,
        };
        Ok(match (delivery.channel, &self.providers.sms, &self.providers.push) {
            (Channel::Sms, Some(sms), _) => outcome(sms.send(&message).await),
            (Channel::Push, _, Some(push)) => outcome(push.send(&message).await),
            (Channel::Sms, None, _) => Tried::Skipped("no SMS provider is configured"),
            _ => Tried::Skipped("no push provider is configured"),
        })
    }

    pub(crate) async fn send_webhook(
        &self,
        notification: &notification::Model,
        endpoint: Option<&webhook_endpoint::Model>,
        now: DateTime<Utc>,
    ) -> Tried {
        let Some(endpoint) = endpoint.filter(|e| e.active) else {
            return Tried::Skipped("the endpoint was removed or disabled");
        };
        let data: serde_json::Value = serde_json::from_str(&notification.variables).unwrap_or_default();
        let body = json!({
            "id": notification.id,
            "type": notification.topic,
            "tenantId": notification.tenant_id,
            "timestamp": notification.created_at,
            "data": data,
        })
        .to_string();
        let mut secrets = vec![endpoint.secret.as_str()];
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_expires_at)
            && until > now
        {
            secrets.push(previous.as_str());
        }
        let id = notification.id.to_string();
        outcome(self.providers.webhooks.post(&endpoint.url, &secrets, &id, now.timestamp(), body).await)
    }
}
