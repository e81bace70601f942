use sea_orm::entity::prelude::*;
use tessera_kernel::{PasskeyId, UserId};

/// A user's passkey: a WebAuthn credential as webauthn-rs serialises it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: PasskeyId,
    pub(crate) user_id: UserId,
    pub(crate) name: String,
    /// The credential id, base64url: what an authenticator answers with.
    pub(crate) credential_id: String,
    /// `webauthn_rs::prelude::Passkey` as JSON (public key, counter, flags).
    pub(crate) credential: String,
    /// The highest signature counter seen (0: the authenticator keeps none).
    pub(crate) sign_count: i64,
    pub(crate) created_at: DateTimeUtc,
    pub(crate) last_used_at: Option<DateTimeUtc>,
    /// When its signature counter went backwards: a copy may exist.
    pub(crate) possibly_cloned_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
