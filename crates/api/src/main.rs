//! `tessera`: the gateway binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::future::Future;
use std::pin::Pin;
use tessera_api::config::{Config, ConfigArgs, LogFormat, redact_url};
use tessera_api::demo::{self, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, DEMO_SLUG, Seeded};

use tessera_api::catalogue::{self, PlanAction};
use tessera_api::coupons::{self, CouponAction};
use tessera_api::payment_events::{self, PaymentsAction};
use tessera_api::plans::{self, LimitsAction};
use tessera_api::services::Services;
use tessera_api::{App, AppOptions, accounts, server};
use tessera_identity::UserStatus;
use tessera_migrations::{Migrator, MigratorTrait};
use tracing_subscriber::EnvFilter;

/// Tessera: the GraphQL backend for multi-tenant booking businesses.
///
/// Every setting can be given as a flag, as the environment variable shown, or in a
/// TOML file (--config); flags win over the environment, which wins over the file.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the gateway (the default).
    Serve,
    /// Apply, roll back or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the federation SDL of the GraphQL schema (or write it to --out).
    ExportSchema {
        /// File to write instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create the demo tenant and its owner, if absent.
    SeedDemo,
    /// Suspend, deactivate, delete or reactivate an account (the platform operator's).
    Account {
        /// What to do.
        #[arg(value_enum)]
        action: AccountAction,
        /// The account's email address.
        email: String,
        /// Why (kept with the account and in its security events).
        #[arg(long)]
        reason: String,
    },
    /// Move a business to another tier (the platform operator's); its limits change with it.
    Tier {
        /// The business's slug.
        slug: String,
        /// free, basic, premium or enterprise.
        tier: String,
    },
    /// Show and set what each tier may use (the platform operator's).
    Limits {
        #[command(subcommand)]
        action: LimitsAction,
    },
    /// List the plan catalogue and add plan versions, with overage prices (the platform operator's).
    Plan {
        #[command(subcommand)]
        action: PlanAction,
    },
    /// Offer coupons and list them (the platform operator's).
    Coupon {
        #[command(subcommand)]
        action: CouponAction,
    },
    /// See the events payment providers sent, and apply one again (the platform operator's).
    Payments {
        #[command(subcommand)]
        action: PaymentsAction,
    },
    /// Check the usage counters.
    Usage {
        #[command(subcommand)]
        action: UsageAction,
    },
}

#[derive(Debug, Subcommand)]
enum UsageAction {
    /// Compare every usage counter with the sum of its records; fails when any differs.
    Recompute,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AccountAction {
    /// Refuse sign-in until reactivated (abuse, a dispute).
    Suspend,
    /// Turn the account off (it asked to be, or is unused).
    Deactivate,
    /// Delete the account, softly and for good.
    Delete,
    /// Let a suspended or deactivated account sign in again.
    Reactivate,
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back the last applied migration (or --steps of them).
    Down {
        /// How many to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List applied and pending migrations.
    Status,
    /// On a Citus coordinator, after `up`: distribute the tenant tables by
    /// tenant (again after later migrations). Restart the gateways after.
    Distribute,
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

/// The stack of each runtime worker: a debug build's deepest request (a
/// booking that frees a lapsed hold on its way) needs more than the 2 MiB
/// a thread gets by default.
const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> ExitCode {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(WORKER_STACK_BYTES).build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::ExportSchema { out }) = &cli.command {
        let sdl = tessera_api::graphql::export_sdl();
        return match out {
            Some(path) => match std::fs::write(path, sdl) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("cannot write {}: {err}", path.display());
                    ExitCode::FAILURE
                }
            },
            None => {
                print!("{sdl}");
                ExitCode::SUCCESS
            }
        };
    }
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate { action } => migrate(&config, action).await,
        Command::SeedDemo => seed_demo(config).await,
        Command::Account { action, email, reason } => account(config, action, &email, &reason).await,
        Command::Tier { slug, tier } => {
            operate(config, |s| Box::pin(async move { plans::set_tier(s, &slug, &tier).await })).await
        }
        Command::Limits { action } => operate(config, |s| Box::pin(plans::limits(s, action))).await,
        Command::Plan { action } => operate(config, |s| Box::pin(catalogue::plan(s, action))).await,
        Command::Coupon { action } => operate(config, |s| Box::pin(coupons::coupon(s, action))).await,
        Command::Payments { action } => operate(config, |s| Box::pin(payment_events::payments(s, action))).await,
        Command::Usage { action: UsageAction::Recompute } => operate(config, |s| Box::pin(plans::recompute(s))).await,
        Command::ExportSchema { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    tracing::info!(config = ?config, "starting");
    let listen = config.listen;
    let database = redact_url(&config.database_url);
    let app = App::build(config, AppOptions::default()).await.map_err(|e| e.to_string())?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!();
    println!("  Tessera is running on {database}");
    println!("  GraphiQL:  http://{address}/");
    println!("  GraphQL:   http://{address}/graphql  (WebSocket on the same path)");
    println!("  Demo login: {DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD}, then send the header X-Tenant: {DEMO_SLUG}");
    println!();
    server::serve(app, listener, server::shutdown_signal()).await.map_err(|e| e.to_string())
}

async fn migrate(config: &Config, action: MigrateAction) -> Result<(), String> {
    let db = tessera_api::app::connect(config).await.map_err(|e| e.to_string())?;
    let conn = db.connection();
    match action {
        MigrateAction::Up => Migrator::up(conn, None).await.map_err(|e| e.to_string())?,
        MigrateAction::Down { steps } => Migrator::down(conn, Some(steps)).await.map_err(|e| e.to_string())?,
        MigrateAction::Distribute => {
            let report = tessera_migrations::citus::distribute(conn).await.map_err(|e| e.to_string())?;
            println!("reference tables:   {}", report.reference.join(", "));
            println!("distributed tables: {}", report.distributed.join(", "));
            if !report.left_local.is_empty() {
                println!("left on the coordinator (tenant_id still nullable): {}", report.left_local.join(", "));
            }
        }
        MigrateAction::Status => {
            for migration in Migrator::get_applied_migrations(conn).await.map_err(|e| e.to_string())? {
                println!("applied  {}", migration.name());
            }
            for migration in Migrator::get_pending_migrations(conn).await.map_err(|e| e.to_string())? {
                println!("pending  {}", migration.name());
            }
        }
    }
    Ok(())
}

async fn seed_demo(config: Config) -> Result<(), String> {
    let config = Config { seed_demo: false, ..config };
    let app = App::build(config, AppOptions::default()).await.map_err(|e| e.to_string())?;
    let outcome = demo::seed(&app.state.services).await.map_err(|e| e.domain().public_message());
    app.stop().await;
    match outcome? {
        Seeded::Created => println!("Demo created: {DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD}, X-Tenant: {DEMO_SLUG}"),
        Seeded::AlreadyPresent => println!("The demo is already there."),
    }
    Ok(())
}

async fn account(config: Config, action: AccountAction, email: &str, reason: &str) -> Result<(), String> {
    let status = match action {
        AccountAction::Suspend => UserStatus::Suspended,
        AccountAction::Deactivate => UserStatus::Inactive,
        AccountAction::Delete => UserStatus::Deleted,
        AccountAction::Reactivate => UserStatus::Active,
    };
    let config = Config { seed_demo: false, ..config };
    let app = App::build(config, AppOptions::default()).await.map_err(|e| e.to_string())?;
    let outcome = accounts::set_status(&app.state.services, email, status, reason).await;
    app.stop().await;
    let user = outcome.map_err(|e| e.domain().public_message())?;
    println!("{} is now {:?}", user.email, user.status);
    Ok(())
}

/// Runs one of the platform operator's commands on the services, without
/// seeding the demo.
async fn operate<F>(config: Config, command: F) -> Result<(), String>
where
    F: for<'a> FnOnce(&'a Services) -> Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>,
{
    let config = Config { seed_demo: false, ..config };
    let app = App::build(config, AppOptions::default()).await.map_err(|e| e.to_string())?;
    let outcome = command(&app.state.services).await;
    app.stop().await;
    outcome
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn help_documents_every_setting_with_its_environment_variable() {
        let help = Cli::command().render_long_help().to_string();
        let command = Cli::command();
        let settings: Vec<_> = command.get_arguments().filter(|a| a.get_env().is_some()).collect();
        assert!(settings.len() >= 20, "every setting is an argument with an environment variable");
        for setting in settings {
            let env = setting.get_env().and_then(|e| e.to_str()).unwrap_or_default();
            assert!(help.contains(env), "--help must mention {env}");
            assert!(setting.get_long_help().or(setting.get_help()).is_some(), "{env} needs a description");
        }
    }
}
