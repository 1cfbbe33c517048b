//! The command line: subcommands and what each runs.

use crate::config::{Config, Settings};
use crate::db::Db;
use crate::startup::Application;
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
    Seed(crate::seed::SeedOptions),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_settings(&cli.settings);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => {
            let db = Db::connect(&config.database, 1)?;
            db.migrate()?;
            println!("database {:?} is up to date", config.database);
            Ok(())
        }
        Command::Seed(options) => {
            let db = Db::connect(&config.database, 1)?;
            db.migrate()?;
            let summary = crate::seed::seed(&db, &options)
                .map_err(|e| anyhow::anyhow!("seed: {}", e.public_message()))?;
            println!("{summary}");
            Ok(())
        }
        Command::Demo => {
            let db = Db::connect(&config.database, 1)?;
            db.migrate()?;
            match crate::demo::load(&db) {
                Ok(summary) => {
                    println!(
                        "{summary}; run `releaseboard serve` and open http://{}",
                        config.bind
                    );
                    Ok(())
                }
                Err(e) => anyhow::bail!("demo: {}", e.public_message()),
            }
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let database = format!("{:?}", config.database);
        let app = Application::build(config)?;
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
