//! Identity domain types, by area: accounts (`account`), sessions and sign-in
//! attempts (`session`), second factors and passkeys (`second_factor`).

mod account;
mod second_factor;
mod session;

pub use account::*;
pub use second_factor::*;
pub use session::*;
