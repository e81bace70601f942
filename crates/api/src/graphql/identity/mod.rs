//! GraphQL for identity, one file per area: users (`users`), sessions and login
//! history (`sessions`), signing in (`sign_in`), signing up and managing one's
//! account (`accounts`), second factors (`mfa`), passkeys (`passkeys`) and
//! personal API keys (`api_keys`). This module merges their roots.

mod accounts;
mod api_keys;
mod mfa;
mod passkeys;
mod sessions;
mod sign_in;
mod users;

use async_graphql::MergedObject;

pub(crate) use api_keys::ApiKeyObject;
pub(crate) use passkeys::PasskeyObject;
pub(crate) use sessions::{LoginAttemptObject, SessionObject};
pub(crate) use sign_in::AuthPayload;
pub(crate) use users::{UserObject, user_by_id};

/// Identity's queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct IdentityQuery(
    users::UserQueries,
    sessions::SessionQueries,
    mfa::MfaQueries,
    passkeys::PasskeyQueries,
    api_keys::ApiKeyQueries,
);

/// Identity's mutations, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct IdentityMutation(
    sessions::SessionMutations,
    sign_in::SignInMutations,
    accounts::AccountMutations,
    mfa::MfaMutations,
    passkeys::PasskeyMutations,
    api_keys::ApiKeyMutations,
);
