//! Gateway configuration: typed, validated, documented in `tessera --help`.
//!
//! Each setting comes from, in order of precedence: a command-line flag, an
//! environment variable, the TOML file named by `--config` / `TESSERA_CONFIG`, and
//! finally a default that suits a laptop (embedded SQLite, loopback address,
//! in-process event bus). Every setting is declared once, in `settings.rs`; the
//! flag, the variable, the file key, the default, the check, the help line and
//! README's row all come from that declaration. Secrets (database and Redis
//! passwords, the metrics token) are redacted wherever the configuration is
//! printed or logged.

#[macro_use]
mod declare;
mod settings;
#[cfg(test)]
mod tests;
mod values;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tessera_identity::RelyingParty;
use tessera_kernel::db::DbOptions;

use settings::FileSettings;
pub use settings::{Config, ConfigArgs};
use values::one_line;
pub use values::{
    DatabaseTls, DocumentPolicy, Environment, IntrospectionPolicy, LogFormat, MetricsAccess, Networks, QueryLimits,
    redact_url,
};

/// The embedded default database: a SQLite file created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/tessera.db?mode=rwc";

/// One setting as documented: its file key, its environment variable, its
/// default in words, and its meaning (the lines of its doc comment).
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The key in the TOML file (the flag is the same with dashes).
    pub key: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The default, as README states it.
    pub default: &'static str,
    /// What it does, as README states it.
    pub meaning: &'static [&'static str],
}

/// A configuration error, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("config file {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("setting {setting} is invalid: {message}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// Why.
        message: String,
    },
}

fn invalid(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { setting, message: message.into() }
}

impl Config {
    /// Merges flags/environment, the optional file and the defaults, and validates.
    pub fn load(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        Self::resolve(args, file)
    }

    /// The GraphQL limits.
    pub fn limits(&self) -> QueryLimits {
        QueryLimits {
            max_body_bytes: self.max_body_bytes,
            max_query_chars: self.max_query_chars,
            max_fields: self.max_fields,
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_aliases: self.max_aliases,
            max_directives: self.max_directives,
            max_subscriptions_per_socket: self.max_subscriptions_per_socket,
            max_subscriptions_per_user: self.max_subscriptions_per_user,
        }
    }

    /// How long an unused session stays valid.
    pub fn session_idle(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.session_idle_minutes)
    }

    /// How long a session lasts at most.
    pub fn session_max(&self) -> chrono::Duration {
        chrono::Duration::days(self.session_max_days)
    }

    /// Time given to in-flight requests at shutdown.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// How long login history and account security events are kept.
    pub fn account_activity_retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.account_activity_retention_days))
    }

    /// What `/metrics` asks of a scraper.
    pub fn metrics_access(&self) -> MetricsAccess<'_> {
        match (&self.metrics_token, self.environment) {
            (Some(token), _) => MetricsAccess::Token(token),
            (None, Environment::Development) => MetricsAccess::Open,
            (None, Environment::Production) => MetricsAccess::Closed,
        }
    }

    /// Who passkeys are made for.
    pub fn passkeys(&self) -> RelyingParty {
        RelyingParty { id: self.passkey_rp_id.clone(), name: "Tessera".into(), origins: self.passkey_origins.clone() }
    }

    /// How to open the configured database.
    pub fn db_options(&self) -> DbOptions {
        DbOptions {
            max_connections: self.database_max_connections,
            tls_mode: self.database_tls.map(Into::into),
            ca_file: self.database_ca_file.as_ref().map(PathBuf::from),
            ..DbOptions::new(self.database_url.clone())
        }
    }

    /// Whether the database is the embedded SQLite file.
    pub fn is_embedded_database(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// README's configuration table, one row per setting.
    pub fn markdown_table() -> String {
        let mut table = String::from("| variable | default | meaning |\n|---|---|---|\n");
        for setting in Self::SETTINGS {
            table.push_str(&format!("| `{}` | {} | {} |\n", setting.env, setting.default, one_line(setting.meaning)));
        }
        table
    }
}

impl Default for QueryLimits {
    /// The declared defaults.
    fn default() -> Self {
        match Config::resolve(&ConfigArgs::default(), FileSettings::default()) {
            Ok(config) => config.limits(),
            // The defaults are valid (`tests::the_defaults_suit_a_laptop`).
            Err(error) => unreachable!("the default configuration is invalid: {error}"),
        }
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })
}
