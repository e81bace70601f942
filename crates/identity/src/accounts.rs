//! Accounts: creating one (as sign-up's last step and for invitations), and
//! reading people: the caller, users by id, an address's account.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use tessera_kernel::db::{Access, Scope};
use tessera_kernel::{DomainError, RequestContext, Result, UserId};

use crate::entity::user;
use crate::model::{Email, IssuedSession, NewUser, Password, User, UserStatus};
use crate::password_change::remember_password;
use crate::service::{IdentityService, parse_display_name};

impl IdentityService {
    /// Creates an account for an address already proven (the person followed a
    /// link sent to it: a sign-up or an invitation link; or the operator made
    /// it) and signs it in.
    pub async fn create_account(&self, ctx: &RequestContext, input: NewUser) -> Result<(User, IssuedSession)> {
        let email = Email::parse(&input.email)?;
        let context = [email.as_str(), input.display_name.as_str()];
        let password = Password::new(&input.password, &self.password_policy, &context)?;
        let display_name = parse_display_name(&input.display_name)?;
        let password_hash = self.hasher.hash(&password).await?;
        let now = ctx.now();
        let txn = self.db.begin(Scope::Global, Access::Write).await?;
        let row = self.insert_account(&txn, email.as_str(), &display_name, password_hash, now).await?;
        let (user, issued) = self.finish_login(&txn, ctx, row, false, None, now).await?;
        txn.commit().await?;
        Ok((user, issued))
    }

    /// Inserts an active account whose address is proven, and starts its
    /// password history. `CONFLICT` when the address has an account.
    pub(crate) async fn insert_account(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        email: &str,
        display_name: &str,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<user::Model> {
        let row = user::ActiveModel {
            id: Set(UserId::generate(now)),
            email: Set(email.to_owned()),
            display_name: Set(display_name.to_owned()),
            password_hash: Set(password_hash),
            status: Set(UserStatus::Active),
            created_at: Set(now),
            updated_at: Set(now),
            last_login_at: Set(None),
            email_verified_at: Set(Some(now)),
            status_reason: Set(None),
            status_changed_at: Set(None),
            status_changed_by: Set(None),
        }
        .insert(txn)
        .await
        .map_err(|e| {
            DomainError::conflict_on_unique(e, "an account with this email already exists; sign in instead")
        })?;
        remember_password(txn, row.id, &row.password_hash, now).await?;
        Ok(row)
    }

    /// The account with `email`, if there is one. For the services that need to
    /// know (an invitation to an existing user); never answered to the public.
    pub async fn user_id_by_email(&self, email: &Email) -> Result<Option<UserId>> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let id = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .select_only()
            .column(user::Column::Id)
            .into_tuple::<UserId>()
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// The signed-in user.
    pub async fn me(&self, ctx: &RequestContext) -> Result<User> {
        let actor = ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let row = user::Entity::find_by_id(actor.user_id).one(&txn).await?;
        txn.commit().await?;
        row.map(User::from).ok_or(DomainError::NotFound { entity: "user" })
    }

    /// Users by id, for batched loading of users related to visible data.
    pub async fn users_by_ids(&self, ctx: &RequestContext, ids: &[UserId]) -> Result<Vec<User>> {
        ctx.require_actor()?;
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let users = users_in(&txn, ids).await?;
        txn.commit().await?;
        Ok(users)
    }

    /// Whether the user has a second factor set up.
    pub async fn has_second_factor(&self, user_id: UserId) -> Result<bool> {
        let txn = self.db.begin(Scope::Global, Access::Read).await?;
        let has = self.second_factors(&txn, user_id).await?.is_some();
        txn.commit().await?;
        Ok(has)
    }
}

/// Users by id, in `conn`'s transaction (another domain's change that must
/// reach people: the gateway tells a business's owners it nears a limit).
pub async fn users_in<C: ConnectionTrait>(conn: &C, ids: &[UserId]) -> Result<Vec<User>> {
    let rows = user::Entity::find().filter(user::Column::Id.is_in(ids.iter().copied())).all(conn).await?;
    Ok(rows.into_iter().map(User::from).collect())
}
