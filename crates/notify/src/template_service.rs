//! A tenant's own message templates: listing what applies, replacing a topic's
//! template in a language, going back to the built-in one, and previewing.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use tessera_audit::AuditEntry;
use tessera_kernel::context::Authorized;
use tessera_kernel::db::Access;
use tessera_kernel::id::uuid_v7_at;
use tessera_kernel::{DomainError, Permission, RequestContext, Result};

use crate::entity::template;
use crate::model::Topic;
use crate::service::NotifyService;
use crate::template::{BUILTIN_LANGUAGES, Rendered, builtin, check, email_html};

/// One topic's template in one language, as it applies to the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateView {
    /// The topic.
    pub topic: Topic,
    /// The language (`en`).
    pub language: String,
    /// The title template.
    pub title: String,
    /// The text template.
    pub body: String,
    /// Whether it is the tenant's own (else the built-in one).
    pub custom: bool,
}

/// A template rendered with example values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The rendered title and text.
    pub rendered: Rendered,
    /// The email's HTML.
    pub html: String,
}

impl NotifyService {
    /// Every topic's template in the built-in languages and in any other the
    /// tenant wrote one for (`notification:read`).
    pub async fn templates(&self, ctx: &RequestContext) -> Result<Vec<TemplateView>> {
        let (auth, txn) = self.db().begin_authorized(ctx, Permission::NotificationRead, Access::Read).await?;
        let custom = template::Entity::find().filter(template::Column::TenantId.eq(auth.tenant_id)).all(&txn).await?;
        txn.commit().await?;
        let mut languages: Vec<String> = BUILTIN_LANGUAGES.iter().map(|l| (*l).to_owned()).collect();
        languages.extend(custom.iter().map(|t| t.language.clone()));
        languages.sort();
        languages.dedup();
        let mut views = Vec::new();
        for topic in Topic::ALL.into_iter().filter(|t| !t.is_account_message()) {
            for language in &languages {
                let own = custom.iter().find(|t| t.topic == topic.as_str() && &t.language == language);
                views.push(match own {
                    Some(own) => TemplateView {
                        topic,
                        language: language.clone(),
                        title: own.title.clone(),
                        body: own.body.clone(),
                        custom: true,
                    },
                    None => builtin_view(topic, language),
                });
            }
        }
        Ok(views)
    }

    /// Replaces `topic`'s template in `language` for the tenant
    /// (`notification:manage`). It must render with the topic's variables; messages
    /// queued from now on use it.
    pub async fn set_template(
        &self,
        ctx: &RequestContext,
        topic: Topic,
        language: &str,
        title: &str,
        body: &str,
    ) -> Result<TemplateView> {
        let language = parse_language(language)?;
        refuse_account_message(topic)?;
        check(topic, title, body)?;
        let (auth, txn) = self.db().begin_authorized(ctx, Permission::NotificationManage, Access::Write).await?;
        let before = find(&txn, &auth, topic, &language).await?;
        let now = ctx.now();
        template::Entity::insert(template::ActiveModel {
            id: Set(uuid_v7_at(now)),
            tenant_id: Set(auth.tenant_id),
            topic: Set(topic.as_str().to_owned()),
            language: Set(language.clone()),
            title: Set(title.to_owned()),
            body: Set(body.to_owned()),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([template::Column::TenantId, template::Column::Topic, template::Column::Language])
                .update_columns([template::Column::Title, template::Column::Body, template::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let view = TemplateView { topic, language, title: title.to_owned(), body: body.to_owned(), custom: true };
        audit(&txn, ctx, &auth, "notification_template.set", before.as_ref(), Some(&view)).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Goes back to the built-in template of `topic` in `language`
    /// (`notification:manage`). `NOT_FOUND` when the tenant has none of its own.
    pub async fn reset_template(&self, ctx: &RequestContext, topic: Topic, language: &str) -> Result<TemplateView> {
        let language = parse_language(language)?;
        let (auth, txn) = self.db().begin_authorized(ctx, Permission::NotificationManage, Access::Write).await?;
        let before = find(&txn, &auth, topic, &language).await?.ok_or(DomainError::NotFound { entity: "template" })?;
        template::Entity::delete_many()
            .filter(template::Column::TenantId.eq(auth.tenant_id))
            .filter(template::Column::Topic.eq(topic.as_str()))
            .filter(template::Column::Language.eq(language.as_str()))
            .exec(&txn)
            .await?;
        let view = builtin_view(topic, &language);
        audit(&txn, ctx, &auth, "notification_template.reset", Some(&before), Some(&view)).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Renders a template for `topic` with example values, without saving it
    /// (`notification:read`): what a customer would get.
    pub fn preview_template(&self, ctx: &RequestContext, topic: Topic, title: &str, body: &str) -> Result<Preview> {
        ctx.authorize(Permission::NotificationRead)?;
        let rendered = check(topic, title, body)?;
        let html = email_html(&rendered, None);
        Ok(Preview { rendered, html })
    }
}

fn builtin_view(topic: Topic, language: &str) -> TemplateView {
    let pair = builtin(topic, language);
    TemplateView {
        topic,
        language: language.to_owned(),
        title: pair.title.to_owned(),
        body: pair.text.to_owned(),
        custom: false,
    }
}

/// A language code: 2 to 8 lowercase letters (`en`, `pt`, `gsw`).
fn parse_language(language: &str) -> Result<String> {
    let language = language.trim().to_ascii_lowercase();
    if (2..=8).contains(&language.len()) && language.chars().all(|c| c.is_ascii_lowercase()) {
        Ok(language)
    } else {
        Err(DomainError::invalid("language", "must be a language code such as en or es"))
    }
}

async fn find(
    txn: &DatabaseTransaction,
    auth: &Authorized,
    topic: Topic,
    language: &str,
) -> Result<Option<TemplateView>> {
    let row = template::Entity::find()
        .filter(template::Column::TenantId.eq(auth.tenant_id))
        .filter(template::Column::Topic.eq(topic.as_str()))
        .filter(template::Column::Language.eq(language))
        .one(txn)
        .await?;
    Ok(row.map(|r| TemplateView { topic, language: r.language, title: r.title, body: r.body, custom: true }))
}

async fn audit(
    txn: &DatabaseTransaction,
    ctx: &RequestContext,
    auth: &Authorized,
    action: &'static str,
    before: Option<&TemplateView>,
    after: Option<&TemplateView>,
) -> Result<()> {
    let snapshot = |v: &TemplateView| json!({ "title": v.title, "body": v.body, "custom": v.custom });
    let key = before.or(after).map(|v| format!("{}:{}", v.topic.as_str(), v.language)).unwrap_or_default();
    let entry = AuditEntry::change(
        action,
        "notification_template",
        key,
        before.map(snapshot).as_ref(),
        after.map(snapshot).as_ref(),
    )?;
    tessera_audit::append(txn, ctx, auth, entry).await
}

/// Account messages (password reset, email verification) are the platform's:
/// a tenant may not word them, since the account is not only its own.
fn refuse_account_message(topic: Topic) -> Result<()> {
    if topic.is_account_message() {
        return Err(DomainError::invalid(
            "topic",
            format!("{} is an account message; its wording is the platform's, not the business's", topic.as_str()),
        ));
    }
    Ok(())
}
