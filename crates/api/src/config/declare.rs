//! The macro that turns the one table of settings in `settings.rs` into
//! everything a setting needs: its flag and environment variable (`ConfigArgs`,
//! read by clap), its key in the TOML file, its resolved field on [`Config`]
//! with its default and validation, its line in `tessera --help` and in
//! README's table, and how `Debug` shows it.
//!
//! Each setting is written as
//!
//! ```text
//! /// Meaning (the help text and README's third column).
//! name: Type, env "VARIABLE", default("README's default") = expression
//!     [, tidy |given: Option<Type>| …]   // normalise what was given
//!     [, check |value: &Type| …]          // Err(reason) refuses it
//!     [, shown_as |value: &Type| …]       // what Debug prints (secrets)
//!     [, clap(extra clap arguments)];
//! ```
//!
//! or with `optional("…")` instead of `default(…) = …` for a setting that may
//! stay unset (its field is then an `Option`). Settings resolve in the order
//! written, so a default may use any setting above it by name.
//!
//! [`Config`]: super::Config

/// The resolved type of a setting: `Type`, or `Option<Type>` when optional.
macro_rules! setting_type {
    (default $ty:ty) => { $ty };
    (optional $ty:ty) => { Option<$ty> };
}

/// The resolved value of a setting from what was given (`Option<Type>`).
macro_rules! setting_value {
    (default $given:ident, $default:expr) => {
        match $given {
            Some(value) => value,
            None => $default,
        }
    };
    (optional $given:ident) => {
        $given
    };
}

/// How `Debug` shows a setting: as is, or through its `shown_as`.
macro_rules! setting_shown {
    ($value:expr) => {
        $value
    };
    ($value:expr, $shown_as:expr) => {
        &($shown_as)($value)
    };
}

macro_rules! declare_settings {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty, env $env:literal, $kind:ident($shown:literal) $(= $default:expr)?
            $(, tidy $tidy:expr)?
            $(, check $check:expr)?
            $(, shown_as $shown_as:expr)?
            $(, clap($($clap:tt)*))?
        ;
    )+) => {
        /// Settings as given on the command line or in the environment (each
        /// optional, so the file and the defaults can fill the gaps).
        #[derive(Debug, Clone, Default, clap::Args)]
        pub struct ConfigArgs {
            /// TOML file with any of the settings below (keys in snake_case).
            #[arg(long, env = "TESSERA_CONFIG", global = true)]
            pub config: Option<std::path::PathBuf>,
            $(
                $(#[doc = $doc])+
                #[arg(long, env = $env, global = true, help = help_line(&[$($doc),+], $shown) $(, $($clap)*)?)]
                pub $name: Option<$ty>,
            )+
        }

        /// The same settings as read from a TOML file.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct FileSettings {
            $($name: Option<$ty>,)+
        }

        /// The validated configuration of a gateway.
        #[derive(Clone)]
        pub struct Config {
            $(
                $(#[doc = $doc])+
                pub $name: setting_type!($kind $ty),
            )+
        }

        impl Config {
            /// Every setting, in the order declared (README's table, `--help`).
            pub const SETTINGS: &[Setting] = &[$(
                Setting { key: stringify!($name), env: $env, default: $shown, meaning: &[$($doc),+] },
            )+];

            /// Flags and environment first, then the file, then the defaults;
            /// each value normalised and checked.
            pub(super) fn resolve(args: &ConfigArgs, file: FileSettings) -> Result<Self, ConfigError> {
                $(
                    let given: Option<$ty> = args.$name.clone().or(file.$name);
                    $(let given = ($tidy)(given);)?
                    let $name: setting_type!($kind $ty) = setting_value!($kind given $(, $default)?);
                    $(($check)(&$name).map_err(|why: String| invalid(stringify!($name), why))?;)?
                )+
                Ok(Self { $($name),+ })
            }
        }

        impl std::fmt::Debug for Config {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Config")
                    $(.field(stringify!($name), setting_shown!(&self.$name $(, $shown_as)?)))+
                    .finish()
            }
        }
    };
}
