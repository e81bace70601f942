//! The providers messages leave through: email over SMTP (lettre), and SMS and
//! push behind traits, each with a recording implementation for tests.
//!
//! A provider answers with a receipt or a [`SendError`] that says whether trying
//! again could help. Every message carries its notification's id (the email's
//! `Message-ID`, the SMS and push idempotency key), so a retry after a crash is
//! recognisable as the same message by whoever receives it.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// What a provider said when it accepted a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// The provider's id for the message.
    pub provider_message_id: Option<String>,
    /// Its answer, for the delivery log.
    pub response: Option<String>,
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// `true` when retrying cannot help (an address refused for good).
    pub permanent: bool,
    /// What went wrong, for the delivery log.
    pub message: String,
    /// The provider's answer, if it gave one.
    pub response: Option<String>,
}

impl SendError {
    /// A failure worth retrying.
    pub fn transient(message: impl Into<String>) -> Self {
        Self { permanent: false, message: message.into(), response: None }
    }

    /// A failure retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { permanent: true, message: message.into(), response: None }
    }
}

/// An email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    /// The `Message-ID` (`<notification-id@domain>`), the same on every attempt.
    pub message_id: String,
    /// The recipient's address.
    pub to: String,
    /// The recipient's name, if known.
    pub to_name: Option<String>,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
    /// An iCalendar file attached as `booking.ics` (a booking's event).
    pub calendar: Option<String>,
}

/// A text or push message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortMessage {
    /// The notification's id, the same on every attempt: the provider's
    /// idempotency key.
    pub idempotency_key: String,
    /// A phone number (SMS) or a user id (push).
    pub to: String,
    /// The title (push) or the whole text (SMS).
    pub title: String,
    /// The body (push).
    pub body: String,
}

/// Sends email.
pub trait EmailSender: Send + Sync {
    /// Hands `message` to the mail system.
    fn send<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<Receipt, SendError>>;
}

/// Sends text messages.
pub trait SmsSender: Send + Sync {
    /// Hands `message` to the SMS provider.
    fn send<'a>(&'a self, message: &'a ShortMessage) -> BoxFuture<'a, Result<Receipt, SendError>>;
}

/// Sends push notifications to a user's devices.
pub trait PushSender: Send + Sync {
    /// Hands `message` to the push provider.
    fn send<'a>(&'a self, message: &'a ShortMessage) -> BoxFuture<'a, Result<Receipt, SendError>>;
}

/// Email over SMTP.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// A sender through the server at `url` (`smtp://user:pass@host:587?tls=required`,
    /// `smtps://…`, or `smtp://host:1025` without TLS for a local sink), from `from`
    /// (`Name <address>`).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP URL is not valid: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let from = from.parse().map_err(|e| format!("the sender address {from:?} is not valid: {e}"))?;
        Ok(Self { transport, from })
    }
}

impl EmailSender for SmtpSender {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            let to: Mailbox = match &message.to_name {
                Some(name) => format!("{name} <{}>", message.to).parse(),
                None => message.to.parse(),
            }
            .or_else(|_| message.to.parse())
            .map_err(|e| SendError::permanent(format!("the address is not valid: {e}")))?;
            let email = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(message.subject.clone())
                .message_id(Some(message.message_id.clone()))
                .multipart(body_of(message))
                .map_err(|e| SendError::permanent(format!("the message could not be built: {e}")))?;
            match self.transport.send(email).await {
                Ok(response) => Ok(Receipt {
                    provider_message_id: Some(message.message_id.clone()),
                    response: Some(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" "))),
                }),
                Err(e) => Err(SendError {
                    permanent: e.is_permanent(),
                    message: format!("the mail server refused or could not be reached: {e}"),
                    response: None,
                }),
            }
        })
    }
}

/// The text and HTML bodies, and the calendar file after them when there is
/// one (`multipart/mixed`, as mail clients expect an attachment).
fn body_of(message: &EmailMessage) -> MultiPart {
    let bodies = MultiPart::alternative_plain_html(message.text.clone(), message.html.clone());
    let Some(calendar) = &message.calendar else { return bodies };
    let kind = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH").unwrap_or(ContentType::TEXT_PLAIN);
    MultiPart::mixed().multipart(bodies).singlepart(Attachment::new("booking.ics".into()).body(calendar.clone(), kind))
}

/// Keeps what it is asked to send, for tests; optionally fails first.
#[derive(Debug, Clone, Default)]
pub struct Recorder<M> {
    sent: Arc<Mutex<Vec<M>>>,
    failures_left: Arc<Mutex<u32>>,
}

impl<M: Clone> Recorder<M> {
    /// A recorder that accepts everything.
    pub fn new() -> Self {
        Self { sent: Arc::new(Mutex::new(Vec::new())), failures_left: Arc::new(Mutex::new(0)) }
    }

    /// Refuses the next `count` messages (as an unreachable provider would).
    pub fn fail_next(&self, count: u32) {
        if let Ok(mut left) = self.failures_left.lock() {
            *left = count;
        }
    }

    /// What was accepted so far.
    pub fn sent(&self) -> Vec<M> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Forgets what was accepted so far.
    pub fn clear(&self) {
        if let Ok(mut sent) = self.sent.lock() {
            sent.clear();
        }
    }

    fn accept(&self, message: &M) -> Result<Receipt, SendError> {
        if let Ok(mut left) = self.failures_left.lock()
            && *left > 0
        {
            *left -= 1;
            return Err(SendError::transient("the provider is unavailable (recorded failure)"));
        }
        let mut sent = self.sent.lock().map_err(|_| SendError::transient("recorder poisoned"))?;
        sent.push(message.clone());
        Ok(Receipt { provider_message_id: Some(format!("recorded-{}", sent.len())), response: Some("accepted".into()) })
    }
}

impl EmailSender for Recorder<EmailMessage> {
    fn send<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move { self.accept(message) })
    }
}

impl SmsSender for Recorder<ShortMessage> {
    fn send<'a>(&'a self, message: &'a ShortMessage) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move { self.accept(message) })
    }
}

impl PushSender for Recorder<ShortMessage> {
    fn send<'a>(&'a self, message: &'a ShortMessage) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move { self.accept(message) })
    }
}

/// The `Message-ID` of a notification's email.
pub(crate) fn message_id(notification_id: &str, from: &str) -> String {
    let domain =
        from.rsplit('@').next().map(|d| d.trim_end_matches('>')).filter(|d| !d.is_empty()).unwrap_or("tessera");
    format!("<{notification_id}@{domain}>")
}
