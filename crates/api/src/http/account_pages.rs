//! Plain pages for the links in account emails (`/complete-sign-up`,
//! `/verify-email`, `/reset-password`, `/accept-invitation`), served when no app of the deployment's own handles them
//! (`TESSERA_APP_URL` unset): a link in an email always leads somewhere that
//! works. The pages call the public GraphQL mutations from the same origin; the
//! token stays in the URL fragment, never sent to a server or in `Referer`.
//!
//! `/passkeys` is the same kind of page for passkeys, which GraphiQL cannot
//! make (they need the browser's WebAuthn API): sign in, see your passkeys, add
//! one, sign in with one.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

const SCRIPT: &str = include_str!("../../assets/account/account.js");
const PASSKEY_SCRIPT: &str = include_str!("../../assets/account/passkeys.js");

const PASSKEY_PAGE: &str = r#"<form id="signin">
  <label>Email <input name="email" type="email" autocomplete="username webauthn" required></label>
  <label>Password <span class="hint">(not needed to sign in with a passkey)</span> <input name="password" type="password" autocomplete="current-password" maxlength="256"></label>
  <label id="code-label" hidden>Code from your authenticator app, or a backup code <input name="code" autocomplete="one-time-code" maxlength="20"></label>
  <button type="submit">Sign in</button>
  <button type="button" id="with-passkey">Sign in with a passkey</button>
</form>
<section id="account" hidden>
  <p id="who"></p>
  <h2>Your passkeys</h2>
  <ul id="list"></ul>
  <form id="add">
    <label>Name for the new passkey <input name="name" maxlength="100" required value="This device"></label>
    <label>Your password, again <input name="password" type="password" autocomplete="current-password" maxlength="256" required></label>
    <button type="submit">Add a passkey</button>
  </form>
  <pre id="codes" hidden></pre>
</section>"#;

/// What a page is for.
#[derive(Clone, Copy)]
enum Action {
    CompleteSignUp,
    VerifyEmail,
    ResetPassword,
    AcceptInvitation,
}

impl Action {
    fn key(self) -> &'static str {
        match self {
            Self::CompleteSignUp => "complete-sign-up",
            Self::VerifyEmail => "verify-email",
            Self::ResetPassword => "reset-password",
            Self::AcceptInvitation => "accept-invitation",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::CompleteSignUp => "Finish signing up",
            Self::VerifyEmail => "Verify your email address",
            Self::ResetPassword => "Choose a new password",
            Self::AcceptInvitation => "Join a business",
        }
    }
}

fn page(action: Action) -> Response {
    let form = match action {
        Action::CompleteSignUp | Action::VerifyEmail => "",
        Action::ResetPassword => {
            r#"<form id="form" hidden>
  <label>New password <input name="password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required></label>
  <label>Repeat it <input name="repeat" type="password" autocomplete="new-password" required></label>
  <p class="hint">At least 12 characters; a few unrelated words make a good one.</p>
  <button type="submit">Set password</button>
</form>"#
        }
        Action::AcceptInvitation => {
            r#"<p id="offer"></p>
<form id="form" hidden>
  <label>Email <input name="email" type="email" readonly></label>
  <label>Your name <span class="hint">(only if you are new here)</span> <input name="name" autocomplete="name" maxlength="200"></label>
  <label>Password <span class="hint">(new here: choose one of 12+ characters)</span> <input name="password" type="password" autocomplete="current-password" maxlength="256" required></label>
  <label hidden>Code <input name="code" autocomplete="one-time-code" maxlength="20"></label>
  <button type="submit">Join</button>
</form>"#
        }
    };
    let waiting = match action {
        Action::CompleteSignUp => "Creating your account…",
        Action::VerifyEmail => "Verifying…",
        Action::ResetPassword | Action::AcceptInvitation => "",
    };
    shell(action.title(), action.key(), waiting, form, "/assets/account.js")
}

/// A page around `body`, loading `script` (same origin only).
fn shell(title: &str, key: &str, waiting: &str, body: &str, script: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tessera</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; color: #222; }}
label {{ display: block; margin: 1rem 0; }} input {{ display: block; width: 100%; padding: .5rem; font: inherit; }}
button {{ padding: .5rem 1rem; font: inherit; }} .hint {{ color: #666; font-size: .9rem; }}
.ok {{ color: #0a6b2d; }} .error {{ color: #b00020; }}
</style>
</head>
<body data-action="{key}">
<h1>{title}</h1>
<p id="status" role="status">{waiting}</p>
{body}
<script src="{script}"></script>
</body>
</html>"#,
    );
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
                     form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ),
        ],
        html,
    )
        .into_response()
}

/// `GET /complete-sign-up`.
pub(crate) async fn complete_sign_up() -> Response {
    page(Action::CompleteSignUp)
}

/// `GET /verify-email`.
pub(crate) async fn verify_email() -> Response {
    page(Action::VerifyEmail)
}

/// `GET /reset-password`.
pub(crate) async fn reset_password() -> Response {
    page(Action::ResetPassword)
}

/// `GET /accept-invitation`.
pub(crate) async fn accept_invitation() -> Response {
    page(Action::AcceptInvitation)
}

/// `GET /passkeys`.
pub(crate) async fn passkeys() -> Response {
    shell("Passkeys", "passkeys", "", PASSKEY_PAGE, "/assets/passkeys.js")
}

fn javascript(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        source,
    )
        .into_response()
}

/// `GET /assets/account.js`.
pub(crate) async fn script() -> Response {
    javascript(SCRIPT)
}

/// `GET /assets/passkeys.js`.
pub(crate) async fn passkey_script() -> Response {
    javascript(PASSKEY_SCRIPT)
}
