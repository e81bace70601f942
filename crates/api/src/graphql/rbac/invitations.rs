//! GraphQL for invitations: inviting an address with roles, the tenant's list,
//! cancelling and resending; and, for whoever holds the link, seeing the offer
//! and accepting it as an existing user or by signing up.
//!
//! Inviting, accepting and signing up with an invitation span two domains
//! (`identity` knows the accounts, `rbac` the invitations): the resolvers call
//! `crate::flows::invitations`.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tessera_api_macros::operations;
use tessera_identity::Email;
use tessera_kernel::Permission;
use tessera_rbac::{Invitation, InvitationPreview, InvitationStatus};

use super::objects::RoleObject;
use crate::error::ApiResult;
use crate::flows;
use crate::flows::invitations::NewAccount;
use crate::graphql::connection::{connection, page_cost, page_request};
use crate::graphql::identity::objects::{AuthPayloadObject, UserObject, user_by_id};
use crate::graphql::{Requires, SignedIn, loaders, parse_id, request, services};

/// Where an invitation stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "InvitationStatus", remote = "tessera_rbac::InvitationStatus")]
pub(crate) enum InvitationStatusEnum {
    /// Sent; the link works.
    Pending,
    /// Accepted: the person is a member.
    Accepted,
    /// Cancelled.
    Cancelled,
    /// Not accepted in time; resending makes it pending again.
    Expired,
}

/// An email address asked to join the tenant.
#[derive(Clone)]
pub(crate) struct InvitationObject(pub(crate) Invitation);

#[Object(name = "Invitation")]
impl InvitationObject {
    /// Id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The invited address.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The roles offered (those since deleted are left out).
    async fn roles(&self, ctx: &Context<'_>) -> ApiResult<Vec<RoleObject>> {
        let found = loaders(ctx)?.roles().load_many(self.0.role_ids.iter().copied()).await?;
        Ok(self.0.role_ids.iter().filter_map(|id| found.get(id).cloned().map(RoleObject)).collect())
    }
    /// Where it stands.
    async fn status(&self) -> InvitationStatusEnum {
        self.0.status.into()
    }
    /// Who invited.
    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.invited_by).await
    }
    /// When it was first sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was last sent.
    async fn last_sent_at(&self) -> DateTime<Utc> {
        self.0.last_sent_at
    }
    /// When the current link stops working.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// When it was accepted.
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }
    /// Who accepted it.
    async fn accepted_by(&self, ctx: &Context<'_>) -> ApiResult<Option<UserObject>> {
        user_by_id(ctx, self.0.accepted_by).await
    }
    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
}

/// What an invitation link offers, for the page that opens it.
#[derive(SimpleObject)]
#[graphql(name = "InvitationOffer")]
pub(crate) struct InvitationOfferObject {
    /// The business's name.
    business_name: String,
    /// Its slug: the `X-Tenant` to send once joined.
    tenant_slug: String,
    /// The invited address: accept signed in with it, or sign up with it.
    email: String,
    /// The roles offered.
    role_names: Vec<String>,
    /// When the link stops working.
    expires_at: DateTime<Utc>,
    /// `PENDING`, or `EXPIRED` (ask for it to be sent again).
    status: InvitationStatusEnum,
}

impl From<InvitationPreview> for InvitationOfferObject {
    fn from(p: InvitationPreview) -> Self {
        Self {
            business_name: p.tenant_name,
            tenant_slug: p.tenant_slug,
            email: p.email,
            role_names: p.role_names,
            expires_at: p.expires_at,
            status: p.status.into(),
        }
    }
}

/// Someone to invite.
#[derive(InputObject)]
pub(crate) struct InviteMemberInput {
    /// Their email address.
    email: String,
    /// Roles to offer; the tenant's default role when empty. You may offer only
    /// permissions you hold.
    #[graphql(default)]
    role_ids: Vec<ID>,
}

/// A new account joining through an invitation.
#[derive(InputObject)]
pub(crate) struct SignUpWithInvitationInput {
    /// The token of the invitation link (after `#token=`).
    #[graphql(secret)]
    token: String,
    /// Name shown to others.
    display_name: String,
    /// Password (the policy of `signUp` applies).
    #[graphql(secret)]
    password: String,
    /// Language of account emails (BCP 47).
    locale: Option<String>,
}

/// Queries about invitations.
#[derive(Default)]
pub(super) struct InvitationQueries;

#[operations]
#[Object]
impl InvitationQueries {
    /// The tenant's invitations, oldest first; `status` narrows them.
    #[access(Requires(Permission::RoleAssign))]
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        status: Option<InvitationStatusEnum>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Connection<String, InvitationObject>> {
        let page = page_request(first, after, last, before);
        let status = status.map(InvitationStatus::from);
        let page = services(ctx)?.rbac.invitations(request(ctx)?, status, &page).await?;
        Ok(connection(page, |i| i.id.as_uuid(), InvitationObject))
    }

    /// What an invitation link offers. No session needed: the link is the proof.
    #[access(Public)]
    async fn invitation_offer(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
    ) -> ApiResult<InvitationOfferObject> {
        Ok(services(ctx)?.rbac.invitation_by_token(request(ctx)?, &token).await?.into())
    }
}

/// Mutations about invitations.
#[derive(Default)]
pub(super) struct InvitationMutations;

#[operations]
#[Object]
impl InvitationMutations {
    /// Invites an address to the tenant with roles and emails it a link valid for
    /// seven days. `CONFLICT` when it belongs to a member or has a pending
    /// invitation.
    #[access(Requires(Permission::RoleAssign))]
    async fn invite_member(&self, ctx: &Context<'_>, input: InviteMemberInput) -> ApiResult<InvitationObject> {
        let email = Email::parse(&input.email)?;
        let roles = input.role_ids.iter().map(|id| parse_id("roleIds", id)).collect::<ApiResult<Vec<_>>>()?;
        Ok(InvitationObject(flows::invitations::invite(services(ctx)?, request(ctx)?, &email, roles).await?))
    }

    /// Cancels an invitation: its link stops working.
    #[access(Requires(Permission::RoleAssign))]
    async fn cancel_invitation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<InvitationObject> {
        let id = parse_id("id", &id)?;
        Ok(InvitationObject(services(ctx)?.rbac.cancel_invitation(request(ctx)?, id).await?))
    }

    /// Sends an invitation again with a new link (the old one stops working),
    /// valid for another seven days. At most once a minute.
    #[access(Requires(Permission::RoleAssign))]
    async fn resend_invitation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<InvitationObject> {
        let id = parse_id("id", &id)?;
        Ok(InvitationObject(flows::invitations::resend(services(ctx)?, request(ctx)?, id).await?))
    }

    /// Accepts an invitation as the signed-in user, whose address must be the
    /// invited one. Returns the invitation's offer (`tenantSlug` is the
    /// `X-Tenant` to use from now on).
    #[access(SignedIn)]
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: String,
    ) -> ApiResult<InvitationOfferObject> {
        Ok(flows::invitations::accept(services(ctx)?, request(ctx)?, &token).await?.into())
    }

    /// Creates an account with the invited address and accepts the invitation,
    /// signed in. The address counts as verified: the link proved it.
    #[access(Public)]
    async fn sign_up_with_invitation(
        &self,
        ctx: &Context<'_>,
        input: SignUpWithInvitationInput,
    ) -> ApiResult<AuthPayloadObject> {
        let account = NewAccount { password: input.password, display_name: input.display_name, locale: input.locale };
        let (user, issued) =
            flows::invitations::sign_up_with(services(ctx)?, request(ctx)?, &input.token, account).await?;
        Ok(AuthPayloadObject::new(user, issued))
    }
}
