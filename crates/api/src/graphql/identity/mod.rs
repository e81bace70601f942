//! GraphQL for identity, one file per area: users (`users`), sessions and login
//! history (`sessions`), signing in (`sign_in`), signing up and managing one's
//! account (`accounts`), second factors (`mfa`), passkeys (`passkeys`), personal
//! API keys (`api_keys`) and partner clients (`partner_clients`). The types other
//! domains show (users, new sessions' tokens, partner clients) are in `objects`.
//! This module merges the areas' roots.

mod accounts;
mod api_keys;
mod mfa;
pub(crate) mod objects;
mod partner_clients;
mod passkeys;
mod sessions;
mod sign_in;
mod users;

use async_graphql::MergedObject;

pub(crate) use api_keys::ApiKeyObject;
pub(crate) use objects::{OAuthClientObject, UserObject};
pub(crate) use passkeys::PasskeyObject;
pub(crate) use sessions::SessionObject;

/// Identity's queries, one part per area.
#[derive(MergedObject, Default)]
pub(crate) struct IdentityQuery(
    users::UserQueries,
    sessions::SessionQueries,
    mfa::MfaQueries,
    passkeys::PasskeyQueries,
    api_keys::ApiKeyQueries,
    partner_clients::PartnerClientQueries,
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
    partner_clients::PartnerClientMutations,
);
