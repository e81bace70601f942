//! Notification templates: the words of each topic, a business's own versions, and
//! previews.

use async_graphql::{Context, Enum, Object, SimpleObject};
use tessera_api_macros::operations;
use tessera_kernel::Permission;
use tessera_notify::TemplateView;

use crate::error::ApiResult;
use crate::graphql::{Requires, request, services};

/// What a message to a person is about: picks its template, channels and priority.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "NotificationTopic", remote = "tessera_notify::Topic")]
pub(crate) enum NotificationTopicEnum {
    /// A booking was made and waits for the business to confirm it (email,
    /// in-app).
    BookingReceived,
    /// A booking was confirmed: made confirmed, or confirmed later (email,
    /// in-app).
    BookingConfirmed,
    /// A booking moved (email, SMS, in-app).
    BookingChanged,
    /// A booking was cancelled (email, SMS, in-app).
    BookingCancelled,
    /// A booking starts soon (email, SMS, push, in-app).
    BookingReminder,
    /// A no-show or late-cancellation fee was charged to the customer's kept
    /// card (email, in-app).
    BookingFeeCharged,
    /// A time freed and is offered to the customer from the waitlist, held
    /// until the offer runs out (email, SMS, push, in-app).
    WaitlistOffered,
    /// Someone was invited to the business (email).
    Invitation,
    /// A password reset was asked for (email, urgent). An account message: the
    /// platform's wording, not the business's.
    PasswordReset,
    /// An email address needs confirming (email, urgent). An account message.
    EmailVerification,
    /// A way to sign in or an API key was added to the account (email, urgent).
    /// An account message.
    SignInMethodAdded,
    /// The link that finishes a sign-up (email, urgent). An account message.
    SignUpConfirmation,
    /// Someone tried to sign up with an address that has an account; its owner
    /// is told (email, urgent). An account message.
    SignUpAttempted,
    /// The business reached a usage alert's threshold; its owners are told
    /// (email, in-app; urgent once the limit itself is reached).
    UsageThresholdReached,
    /// The business's free trial ends in three days; its owners are told
    /// (email, in-app).
    BillingTrialEnding,
    /// The business's subscription started, will end, carries on or ended; its
    /// owners are told (email, in-app).
    BillingSubscriptionChanged,
    /// A payment for the subscription was declined; its owners are told of
    /// the first failure, and urgently before the last try (email, in-app).
    BillingPaymentFailed,
    /// An invoice of the subscription was paid (email, in-app).
    BillingPaymentSucceeded,
}

/// A topic's template in one language, as it applies to the tenant.
pub(crate) struct NotificationTemplateObject(TemplateView);

#[Object(name = "NotificationTemplate")]
impl NotificationTemplateObject {
    /// The topic.
    async fn topic(&self) -> NotificationTopicEnum {
        self.0.topic.into()
    }
    /// The language (`en`, `es`, …).
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// The title (email subject, push and in-app title, SMS text), in Jinja syntax.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The text (email and in-app body, push text), in Jinja syntax.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Whether it is the tenant's own; false for the built-in one.
    async fn custom(&self) -> bool {
        self.0.custom
    }
    /// The variables it may use, as `{{ name }}`.
    async fn variables(&self) -> Vec<&'static str> {
        self.0.topic.variables()
    }
}

/// A template rendered with example values.
#[derive(SimpleObject)]
#[graphql(name = "NotificationTemplatePreview")]
pub(crate) struct NotificationTemplatePreviewObject {
    /// The rendered title.
    title: String,
    /// The rendered text.
    text: String,
    /// The email's HTML, values escaped.
    html: String,
}

/// Queries about notification templates.
#[derive(Default)]
pub(super) struct TemplateQueries;

#[operations]
#[Object]
impl TemplateQueries {
    /// Every topic's template in the built-in languages and the tenant's own ones.
    #[access(Requires(Permission::NotificationRead))]
    async fn notification_templates(&self, ctx: &Context<'_>) -> ApiResult<Vec<NotificationTemplateObject>> {
        let templates = services(ctx)?.notify.templates(request(ctx)?).await?;
        Ok(templates.into_iter().map(NotificationTemplateObject).collect())
    }

    /// Renders a template with example values, without saving it.
    #[access(Requires(Permission::NotificationRead))]
    async fn preview_notification_template(
        &self,
        ctx: &Context<'_>,
        topic: NotificationTopicEnum,
        title: String,
        body: String,
    ) -> ApiResult<NotificationTemplatePreviewObject> {
        let preview = services(ctx)?.notify.preview_template(request(ctx)?, topic.into(), &title, &body)?;
        Ok(NotificationTemplatePreviewObject {
            title: preview.rendered.title,
            text: preview.rendered.text,
            html: preview.html,
        })
    }
}

/// Mutations about notification templates.
#[derive(Default)]
pub(super) struct TemplateMutations;

#[operations]
#[Object]
impl TemplateMutations {
    /// Replaces a topic's template in a language for the tenant. It must render
    /// with the topic's variables (see `notificationTemplates`); messages queued
    /// from now on use it.
    #[access(Requires(Permission::NotificationManage))]
    async fn set_notification_template(
        &self,
        ctx: &Context<'_>,
        topic: NotificationTopicEnum,
        language: String,
        title: String,
        body: String,
    ) -> ApiResult<NotificationTemplateObject> {
        let view = services(ctx)?.notify.set_template(request(ctx)?, topic.into(), &language, &title, &body).await?;
        Ok(NotificationTemplateObject(view))
    }

    /// Goes back to the built-in template of a topic in a language.
    #[access(Requires(Permission::NotificationManage))]
    async fn reset_notification_template(
        &self,
        ctx: &Context<'_>,
        topic: NotificationTopicEnum,
        language: String,
    ) -> ApiResult<NotificationTemplateObject> {
        Ok(NotificationTemplateObject(
            services(ctx)?.notify.reset_template(request(ctx)?, topic.into(), &language).await?,
        ))
    }
}
