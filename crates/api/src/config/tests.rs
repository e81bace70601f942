//! The configuration's merging, defaults, checks and README table.

use super::*;

#[test]
fn production_seeds_no_demo_and_closes_metrics_unless_asked() {
    let production = |adjust: fn(&mut ConfigArgs)| {
        let mut args = ConfigArgs { environment: Some(Environment::Production), ..ConfigArgs::default() };
        adjust(&mut args);
        Config::load(&args).expect("valid")
    };
    let plain = production(|_| {});
    assert!(!plain.seed_demo, "the demo's passwords are published");
    assert!(!plain.metrics_access().allows(None) && !plain.metrics_access().allows(Some("Bearer anything")));
    assert!(production(|a| a.seed_demo = Some(true)).seed_demo, "asked for by name");
    let scraped = production(|a| a.metrics_token = Some("a-long-scraper-secret".into()));
    assert!(scraped.metrics_access().allows(Some("Bearer a-long-scraper-secret")));
    assert!(!scraped.metrics_access().allows(Some("Bearer a-long-scraper-secreT")));
    assert!(!scraped.metrics_access().allows(None));
    let mut short = ConfigArgs { metrics_token: Some("short".into()), ..ConfigArgs::default() };
    short.environment = Some(Environment::Production);
    assert!(Config::load(&short).is_err());
    assert!(Config::load(&ConfigArgs::default()).expect("valid").metrics_access().allows(None), "open on a laptop");
}

#[test]
fn the_defaults_suit_a_laptop() {
    let config = Config::load(&ConfigArgs::default()).expect("defaults are valid");
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
    assert!(config.seed_demo && config.redis_url.is_none());
    assert_eq!(config.introspection, IntrospectionPolicy::Everyone);
    assert_eq!(config.passkeys().id, "localhost", "browsers keep passkeys for domains, not 127.0.0.1");
    assert_eq!(config.passkeys().origins, ["http://localhost:8080"]);
}

#[test]
fn passkeys_belong_to_the_app_and_the_gateway() {
    let args = ConfigArgs {
        public_url: Some("https://api.example.com/".into()),
        app_url: Some("https://app.example.com/tessera".into()),
        passkey_rp_id: Some("Example.com".into()),
        ..ConfigArgs::default()
    };
    let config = Config::load(&args).expect("valid");
    assert_eq!(config.passkeys().id, "example.com");
    assert_eq!(config.passkeys().origins, ["https://app.example.com", "https://api.example.com"]);
}

#[test]
fn passwords_never_appear_in_debug_output() {
    let args = ConfigArgs {
        database_url: Some("postgres://tessera:hunter2@db/tessera".into()),
        redis_url: Some("redis://:s3cret@cache:6379".into()),
        ..ConfigArgs::default()
    };
    let printed = format!("{:?}", Config::load(&args).expect("valid"));
    assert!(!printed.contains("hunter2") && !printed.contains("s3cret"), "{printed}");
    assert!(printed.contains("postgres://tessera:***@db/tessera"));
    let args = ConfigArgs { metrics_token: Some("a-long-scraper-secret".into()), ..ConfigArgs::default() };
    let printed = format!("{:?}", Config::load(&args).expect("valid"));
    assert!(!printed.contains("a-long-scraper-secret") && printed.contains("metrics_token: \"***\""), "{printed}");
}

#[test]
fn the_file_fills_what_flags_and_environment_leave_open() {
    let path =
        toml_file("fills", "listen = \"0.0.0.0:9000\"\nmax_aliases = 5\ntrusted_proxies = \"10.0.0.0/8, ::1\"\n");
    let args = ConfigArgs { config: Some(path), max_aliases: Some(7), ..ConfigArgs::default() };
    let config = Config::load(&args).expect("valid");
    assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(config.limits().max_aliases, 7, "the flag wins over the file");
    assert_eq!(config.trusted_proxies.0.len(), 2, "{:?}", config.trusted_proxies);
}

#[test]
fn unknown_file_keys_and_bad_values_are_named() {
    let path = toml_file("unknown", "lisen = \"0.0.0.0:9000\"\n");
    let err = Config::load(&ConfigArgs { config: Some(path), ..ConfigArgs::default() }).expect_err("refused");
    assert!(err.to_string().contains("lisen"), "{err}");
    let err = Config::load(&ConfigArgs { max_depth: Some(3), ..ConfigArgs::default() }).expect_err("refused");
    assert!(err.to_string().contains("max_depth"), "{err}");
    let path = toml_file("bad-network", "trusted_proxies = \"10.0.0.0/8, nope\"\n");
    let err = Config::load(&ConfigArgs { config: Some(path), ..ConfigArgs::default() }).expect_err("refused");
    assert!(err.to_string().contains("trusted_proxies") && err.to_string().contains("nope"), "{err}");
}

#[test]
fn readme_documents_every_setting_as_declared() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
    let start = readme.find("| variable | default | meaning |").expect("README has the configuration table");
    let end = readme[start..].find("\n\n").map_or(readme.len(), |end| start + end + 1);
    let expected = Config::markdown_table();
    assert!(
        readme[start..end] == expected,
        "README's configuration table differs from the settings declared in crates/api/src/config/settings.rs; \
         replace it with:\n\n{expected}"
    );
}

#[test]
fn help_names_each_settings_variable_and_default() {
    use clap::CommandFactory;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        config: ConfigArgs,
    }
    let help = Cli::command().render_help().to_string();
    for setting in Config::SETTINGS {
        assert!(help.contains(&format!("--{}", setting.key.replace('_', "-"))), "{} has no flag", setting.key);
        assert!(help.contains(&format!("[env: {}", setting.env)), "{} has no variable", setting.key);
        assert!(help.contains(&format!("[default: {}]", setting.default.replace('`', ""))), "{}", setting.key);
    }
}

/// A TOML file in a directory of this test process's own.
fn toml_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn database_encryption_is_chosen_for_postgresql_only() {
    let postgres = "postgres://tessera@db/tessera".to_owned();
    let ca = toml_file("ca", "a PEM file stands here");
    let args = ConfigArgs {
        database_url: Some(postgres.clone()),
        database_tls: Some(DatabaseTls::VerifyFull),
        database_ca_file: Some(ca.display().to_string()),
        ..ConfigArgs::default()
    };
    let config = Config::load(&args).expect("valid");
    let options = config.db_options();
    assert_eq!(options.tls_mode, Some(tessera_kernel::db::TlsMode::VerifyFull));
    assert_eq!(options.ca_file.as_deref(), Some(ca.as_path()));
    let unset =
        Config::load(&ConfigArgs { database_url: Some(postgres.clone()), ..ConfigArgs::default() }).expect("valid");
    assert_eq!(unset.db_options().tls_mode, None, "the URL's sslmode, else prefer");

    let missing = ConfigArgs {
        database_url: Some(postgres),
        database_ca_file: Some("/nonexistent/ca.pem".into()),
        ..ConfigArgs::default()
    };
    let err = Config::load(&missing).expect_err("refused");
    assert!(err.to_string().contains("database_ca_file") && err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    let sqlite = ConfigArgs { database_tls: Some(DatabaseTls::Require), ..ConfigArgs::default() };
    let err = Config::load(&sqlite).expect_err("refused");
    assert!(err.to_string().contains("database_tls") && err.to_string().contains("PostgreSQL"), "{err}");
}
