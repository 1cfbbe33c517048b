//! The command line: subcommands and what each runs. Like the HTTP faces, it only parses its
//! input and prints what the use cases (`service`) answer.

use crate::app::Application;
use crate::config::{Config, Settings};
use crate::domain::access;
use crate::domain::Error;
use crate::service::seed::SeedOptions;
use crate::service::{accounts, demo, seed, Context};
use chrono::NaiveDateTime;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "releaseboard",
    version,
    about = "Self-hosted release tracking dashboard"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the API (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Load the demo releases and deployments into an empty database.
    Demo,
    /// Generate a large dataset into an empty database, for benchmarks.
    Seed(SeedArgs),
    /// API keys for pipelines and scripts.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Users of the dashboard.
    #[command(subcommand)]
    User(UserCommand),
}

/// What `seed` generates.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// Number of products.
    #[arg(long, default_value_t = 50)]
    pub products: usize,
    /// Number of environments (spread over dev, test, staging, production).
    #[arg(long, default_value_t = 10)]
    pub environments: usize,
    /// Number of releases (each with up to 50 products).
    #[arg(long, default_value_t = 1000)]
    pub releases: usize,
    /// Number of deployments.
    #[arg(long, default_value_t = 100_000)]
    pub deployments: usize,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (once: only its hash is stored).
    Create {
        name: String,
        /// `ingest` may only post events (for CD pipelines); `write` may use the whole API.
        #[arg(long, value_parser = ["ingest", "write"])]
        scope: String,
    },
    /// List keys with their scope, creation and last use (never the keys themselves).
    List,
    /// Revoke a key: it stops working at once.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print a generated password.
    Create {
        name: String,
        /// Viewers read; editors manage releases; admins also manage environments, products,
        /// users and keys.
        #[arg(long, value_parser = ["admin", "editor", "viewer"])]
        role: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (generated and printed, or read from standard input) and end the
    /// user's sessions.
    SetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Stop a user from signing in and end their sessions.
    Disable { name: String },
    /// Let a disabled user sign in again.
    Enable { name: String },
    /// List users with their role.
    List,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_settings(&cli.settings);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => {
            Context::open(&config.database, 1)?;
            println!("database {:?} is up to date", config.database);
            Ok(())
        }
        Command::Seed(a) => {
            let ctx = Context::open(&config.database, 1)?;
            let options = SeedOptions {
                products: a.products,
                environments: a.environments,
                releases: a.releases,
                deployments: a.deployments,
            };
            let summary = seed::seed(&ctx, &options).map_err(|e| anyhow::anyhow!("seed: {e}"))?;
            println!("{summary}");
            Ok(())
        }
        Command::ApiKey(cmd) => with_database(&config, |db| api_key(db, cmd)),
        Command::User(cmd) => with_database(&config, |db| user(db, cmd)),
        Command::Demo => {
            let ctx = Context::open(&config.database, 1)?;
            match demo::load(&ctx) {
                Ok(summary) => {
                    println!(
                        "{summary}; run `releaseboard serve` and open http://{}",
                        config.bind
                    );
                    Ok(())
                }
                Err(e) => anyhow::bail!("demo: {e}"),
            }
        }
    }
}

/// Opens and migrates the database, then runs an account command on it.
fn with_database<F, Fut>(config: &Config, f: F) -> anyhow::Result<()>
where
    F: FnOnce(Context) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let ctx = Context::open(&config.database, 2)?;
    actix_web::rt::System::new()
        .block_on(f(ctx))
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A stored time as the command line prints it.
fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

async fn api_key(ctx: Context, cmd: ApiKeyCommand) -> Result<(), Error> {
    match cmd {
        ApiKeyCommand::Create { name, scope } => {
            let scope = access::scope(&scope)?;
            let issued = accounts::create_api_key(&ctx, &name, scope, "cli").await?;
            eprintln!(
                "Created {} key {:?}. Store it now (e.g. as a CI secret): it is not shown again.",
                scope.as_str(),
                issued.key.name
            );
            println!("{}", issued.secret);
        }
        ApiKeyCommand::List => {
            let keys = accounts::list_api_keys(&ctx).await?;
            if keys.is_empty() {
                println!("no API keys; create one with `releaseboard api-key create NAME --scope ingest`");
            }
            for k in keys {
                let used = k
                    .last_used_at
                    .map_or("never used".into(), |t| format!("last used {}", rfc3339(t)));
                let state = k
                    .revoked_at
                    .map_or(String::new(), |t| format!(", REVOKED {}", rfc3339(t)));
                println!(
                    "{}\t{}\tcreated {} by {}, {used}{state}",
                    k.name,
                    k.scope,
                    rfc3339(k.created_at),
                    k.created_by
                );
            }
        }
        ApiKeyCommand::Revoke { name } => {
            accounts::revoke_api_key(&ctx, &name).await?;
            println!("revoked key {name:?}");
        }
    }
    Ok(())
}

async fn user(ctx: Context, cmd: UserCommand) -> Result<(), Error> {
    match cmd {
        UserCommand::Create {
            name,
            role,
            password_stdin,
        } => {
            let role = access::role(&role)?;
            let chosen = password_stdin.then(read_password).transpose()?;
            let generated = chosen.is_none();
            let (user, password) = accounts::create_user(&ctx, &name, role, chosen).await?;
            eprintln!(
                "Created {} {:?}; sign in at /login.",
                role.as_str(),
                user.name
            );
            if generated {
                println!("{password}");
            }
        }
        UserCommand::SetPassword {
            name,
            password_stdin,
        } => {
            let chosen = password_stdin.then(read_password).transpose()?;
            let generated = chosen.is_none();
            let password = accounts::set_password(&ctx, &name, chosen).await?;
            eprintln!("Password of {name:?} changed; their sessions are ended.");
            if generated {
                println!("{password}");
            }
        }
        UserCommand::Disable { name } => {
            accounts::set_disabled(&ctx, &name, true, None).await?;
            println!("disabled {name:?}; their sessions are ended");
        }
        UserCommand::Enable { name } => {
            accounts::set_disabled(&ctx, &name, false, None).await?;
            println!("enabled {name:?}");
        }
        UserCommand::List => {
            let users = accounts::list_users(&ctx).await?;
            if users.is_empty() {
                println!("no users; create the first admin with `releaseboard user create NAME --role admin`");
            }
            for u in users {
                println!(
                    "{}\t{}{}",
                    u.name,
                    u.role,
                    if u.disabled { "\tdisabled" } else { "" }
                );
            }
        }
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_password() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading the password")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn serve(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let database = format!("{:?}", config.database);
        let app = Application::build(config)?;
        if !accounts::has_admin(app.context()).await.unwrap_or(true) {
            println!(
                "No admin yet: create one with `releaseboard user create NAME --role admin` \
                 (it prints the password), then sign in at /login. Pipelines need a key: \
                 `releaseboard api-key create NAME --scope ingest`."
            );
        }
        // Scripts (and the durability test) read the actual port from this line.
        println!(
            "releaseboard listening on http://127.0.0.1:{} (database {database})",
            app.port()
        );
        tracing::info!(port = app.port(), "serving");
        app.run_until_stopped().await?;
        Ok(())
    })
}
